// What Adobe's API gateway and Flow Service check on headers before any work: token, api key, org, sandbox,
// content type. Each failure answers exactly as Adobe does, so the broker's error mapping is exercised for real.
import { contentTypeError, flowError, gateway } from './adobe-errors.js'
import type { IncomingHttpHeaders } from 'node:http'
import type { Reply } from './http-io.js'
import { mediaType, singleHeader } from './http-io.js'
import type { TokenIssuer } from './token-issuer.js'
import type { EmulatorCredentials } from './types.js'

export type GatewayOutcome = { ok: true; clientId: string } | { ok: false; reply: Reply }

/** Token, then api key, then org: the gateway answers the first problem it finds. */
export function checkGateway(
  headers: IncomingHttpHeaders,
  tokens: TokenIssuer,
  credentials: EmulatorCredentials
): GatewayOutcome {
  const authorization = singleHeader(headers.authorization)
  if (authorization === undefined || authorization.trim() === '') return { ok: false, reply: gateway.tokenMissing() }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  if (m === null || tokens.check(m[1] as string) !== 'valid') return { ok: false, reply: gateway.tokenInvalid() }

  const apiKey = singleHeader(headers['x-api-key'])
  if (apiKey === undefined || apiKey === '') return { ok: false, reply: gateway.apiKeyMissing() }
  if (apiKey !== credentials.clientId) return { ok: false, reply: gateway.apiKeyInvalid() }

  const org = singleHeader(headers['x-gw-ims-org-id'])
  if (org === undefined || org === '') return { ok: false, reply: gateway.orgMissing() }
  if (org !== credentials.orgId) return { ok: false, reply: gateway.notEntitled() }

  return { ok: true, clientId: apiKey }
}

const SANDBOX_NAME = /^[a-z0-9][a-z0-9-]*$/

/**
 * Docs disagree on a missing x-sandbox-name (fall back to prod, or 2105-400); the broker always sends it, so the
 * emulator takes the strict reading and catches a client that forgets.
 */
export function checkSandbox(
  headers: IncomingHttpHeaders,
  requestId: string
): { ok: true; sandboxName: string } | { ok: false; reply: Reply } {
  const sandbox = singleHeader(headers['x-sandbox-name'])
  if (sandbox === undefined || sandbox === '') {
    return {
      ok: false,
      reply: flowError(
        '2105-400',
        'The x-sandbox-name header is missing. Provide the all-lowercase name of the sandbox and try again.',
        requestId
      )
    }
  }
  if (!SANDBOX_NAME.test(sandbox)) {
    return {
      ok: false,
      reply: flowError('2105-400', `Invalid sandbox name '${sandbox}': use the all-lowercase sandbox name.`, requestId)
    }
  }
  return { ok: true, sandboxName: sandbox }
}

/** Bodies must be declared JSON; JSON Patch's own media type is accepted on PATCH, as JSON Patch clients send it. */
export function checkContentType(headers: IncomingHttpHeaders, method: string): Reply | undefined {
  const type = mediaType(singleHeader(headers['content-type']))
  if (type === 'application/json') return undefined
  if (method === 'PATCH' && type === 'application/json-patch+json') return undefined
  return contentTypeError()
}
