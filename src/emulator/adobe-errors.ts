// The error bodies Adobe sends, in their three shapes: Flow Service (catalogue codes), the API gateway, and IMS.
import type { Reply } from './http-io.js'

/**
 * Titles of the Flow Service catalogue codes the emulator uses (Adobe's "Flow Service error messages" page).
 * 1100-422 is the emulator's choice for a missing connectionSpec.version: Adobe answers 422 but documents no code.
 */
const TITLES: Record<string, string> = {
  '1100-400': 'Invalid request',
  '1100-422': 'Unprocessable entity',
  '1102-500': 'Internal Error',
  '1103-503': 'Service Unavailable',
  '1104-504': 'Gateway Timeout',
  '1401-400': 'Invalid request',
  '1403-400': 'Header is missing',
  '1404-412': 'Version not matching',
  '1405-400': 'Invalid request',
  '1413-400': 'Invalid request',
  '1415-400': 'Invalid request',
  '1416-400': 'Invalid request',
  '1417-400': 'Invalid request',
  '1418-400': 'Invalid request',
  '1439-404': 'Not Found',
  '2105-400': 'Invalid request'
}

/** The status a catalogue code carries in its suffix (`NNNN-SSS`). */
export function statusOfCode(code: string): number {
  const status = Number(code.slice(code.lastIndexOf('-') + 1))
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 400
}

/** Flow Service's long error form; `errorMessage`/`errorDetails` repeat the message as Adobe's examples do. */
export function flowError(code: string, message: string, requestId: string, headers?: Record<string, string>): Reply {
  const status = statusOfCode(code)
  return {
    status,
    ...(headers === undefined ? {} : { headers }),
    body: {
      type: `https://ns.adobe.com/aep/errors/FLOW-${code}`,
      title: TITLES[code] ?? 'Invalid request',
      status,
      report: { 'detailed-message': message, 'request-id': requestId },
      errorMessage: message,
      errorDetails: message
    }
  }
}

export function notFound(id: string, requestId: string): Reply {
  return flowError('1439-404', `connections not found with id = [${id}]`, requestId)
}

export function invalidRequest(message: string, requestId: string): Reply {
  return flowError('1100-400', message, requestId)
}

/** The API gateway's shape, used before the request reaches Flow Service (headers, token, throttling). */
export function gatewayError(
  status: number,
  errorCode: string,
  message: string,
  headers?: Record<string, string>
): Reply {
  return { status, ...(headers === undefined ? {} : { headers }), body: { error_code: errorCode, message } }
}

export const gateway = {
  tokenMissing: (): Reply => gatewayError(403, '403010', 'Oauth token is missing.'),
  tokenInvalid: (): Reply => gatewayError(401, '401013', 'Oauth token is not valid'),
  apiKeyMissing: (): Reply => gatewayError(403, '403000', 'Api Key is required'),
  apiKeyInvalid: (): Reply => gatewayError(403, '403003', 'Api Key is invalid'),
  orgMissing: (): Reply => gatewayError(400, '400003', 'Missing header x-gw-ims-org-id'),
  notEntitled: (): Reply => gatewayError(403, '403025', 'Profile is not valid'),
  badGateway: (): Reply => gatewayError(502, '502000', 'Bad Gateway'),
  tooManyRequests: (headers?: Record<string, string>): Reply =>
    gatewayError(429, '429050', 'Too many requests', headers)
}

/** What the gateway answers when a body comes without `Content-Type: application/json`. */
export function contentTypeError(): Reply {
  return {
    status: 400,
    body: {
      type: '/placeholder/type/uri',
      status: 400,
      title: 'BadRequestError',
      detail: 'A valid content-type must be specified'
    }
  }
}

/** IMS's OAuth error shape. */
export function imsError(status: number, error: string, description: string, headers?: Record<string, string>): Reply {
  return { status, ...(headers === undefined ? {} : { headers }), body: { error, error_description: description } }
}

/** The body Adobe answers for a 5xx, for an injected `status` fault. */
export function serverError(status: number, requestId: string, headers?: Record<string, string>): Reply {
  switch (status) {
    case 500:
      return flowError(
        '1102-500',
        'An internal error has occurred. Please try again. If the problem persists, please contact customer support.',
        requestId,
        headers
      )
    case 502:
      return gatewayError(502, '502000', 'Bad Gateway', headers)
    case 503:
      return flowError(
        '1103-503',
        'The service is temporarily unavailable. Please try again. If the problem persists, please contact customer support.',
        requestId,
        headers
      )
    case 504:
      return flowError(
        '1104-504',
        'A gateway timeout has occurred. Please try again. If the problem persists, please contact customer support.',
        requestId,
        headers
      )
    case 401:
      return gatewayError(401, '401013', 'Oauth token is not valid', headers)
    case 404:
      return flowError('1439-404', 'connections not found', requestId, headers)
    default:
      return flowError(`1100-${status}`, `Injected failure with status ${status}.`, requestId, headers)
  }
}

export function imsServerError(status: number, headers?: Record<string, string>): Reply {
  const error = status === 503 ? 'temporarily_unavailable' : status === 500 ? 'internal_error' : 'server_error'
  return imsError(status, error, `IMS answered ${status}`, headers)
}
