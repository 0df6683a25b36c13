// POST /ims/token/v3: the client-credentials grant of Adobe IMS, with its OAuth error answers.
import { timingSafeEqual } from 'node:crypto'
import { imsError } from './adobe-errors.js'
import type { Reply } from './http-io.js'
import { mediaType } from './http-io.js'
import type { TokenIssuer } from './token-issuer.js'
import type { EmulatorCredentials } from './types.js'

export function handleTokenRequest(
  body: Buffer,
  contentType: string | undefined,
  credentials: EmulatorCredentials,
  tokens: TokenIssuer
): Reply {
  if (mediaType(contentType) !== 'application/x-www-form-urlencoded') {
    return imsError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded')
  }
  const form = new URLSearchParams(body.toString('utf8'))
  const grantType = form.get('grant_type')
  if (grantType === null || grantType === '') return imsError(400, 'invalid_request', 'missing grant_type parameter')
  if (grantType !== 'client_credentials')
    return imsError(400, 'unsupported_grant_type', `unsupported grant_type ${grantType}`)

  const clientId = form.get('client_id')
  if (clientId === null || clientId === '') return imsError(400, 'invalid_request', 'missing client_id parameter')
  if (clientId !== credentials.clientId) return imsError(400, 'invalid_client', 'invalid client_id parameter')

  const clientSecret = form.get('client_secret')
  if (clientSecret === null || !sameSecret(clientSecret, credentials.clientSecret)) {
    return imsError(400, 'invalid_client', 'invalid client_secret parameter')
  }

  const scope = form.get('scope')
  if (scope === null || scope.trim() === '') return imsError(400, 'invalid_scope', 'invalid scope parameter')

  const { token, expiresIn } = tokens.issue(clientId, scope)
  return {
    status: 200,
    headers: { 'cache-control': 'no-store' },
    body: { access_token: token, token_type: 'bearer', expires_in: expiresIn }
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
