// Identifiers shaped like Adobe's: connection ids, quoted etags, secret ARNs, sandbox ids, IMS access tokens.
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto'

export function newConnectionId(): string {
  return randomUUID()
}

/**
 * Etags look like Cosmos DB ones, `"1400dd53-0000-0200-0000-5f3f23450000"`, quotes included in the value.
 * A counter (from a random start) makes every etag of one emulator unique without a random draw per update,
 * which keeps seeding 100 000 connections cheap.
 */
export class EtagSource {
  private counter = randomInt(0, 0x7fffffff)

  next(now: number): string {
    this.counter = (this.counter + 1) >>> 0
    const head = this.counter.toString(16).padStart(8, '0')
    const seconds = Math.floor(now / 1000)
      .toString(16)
      .padStart(8, '0')
      .slice(-8)
    return `"${head}-0000-0200-0000-${seconds}0000"`
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function alnum(length: number): string {
  const bytes = randomBytes(length)
  let out = ''
  for (const b of bytes) out += ALNUM[b % ALNUM.length]
  return out
}

/** The 12-digit AWS account shown in ARNs; stable per org so answers look the same across restarts. */
export function awsAccountFor(orgId: string): string {
  const digest = createHash('sha256').update(orgId).digest()
  return (digest.readUInt32BE(0) * 1000 + (digest.readUInt16BE(4) % 1000)).toString().padStart(12, '0').slice(-12)
}

/** `arn:aws:secretsmanager:us-east-1:<acct>:secret:acp_security/<uuid>-<6 chars>`, what GET shows instead of a secret. */
export function newSecretArn(account: string): string {
  return `arn:aws:secretsmanager:us-east-1:${account}:secret:acp_security/${randomUUID()}-${alnum(6)}`
}

/** A uuid-shaped id derived from the name, so a sandbox keeps its id for the emulator's lifetime and across runs. */
export function sandboxIdFor(sandboxName: string): string {
  const h = createHash('sha1').update(`sandbox:${sandboxName}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** A JWT-shaped access token like IMS mints (unsigned: the emulator only looks it up, nobody verifies it). */
export function newAccessToken(clientId: string, scope: string, createdAt: number, ttlSeconds: number): string {
  const header = { alg: 'RS256', x5u: 'ims_na1-key-at-1.cer', kid: 'ims_na1-key-at-1', itt: 'at' }
  const payload = {
    id: `${createdAt}_${randomUUID()}_ue1`,
    type: 'access_token',
    client_id: clientId,
    user_id: `${clientId}@techacct.adobe.com`,
    as: 'ims-na1',
    ctp: 0,
    scope,
    created_at: String(createdAt),
    expires_in: String(ttlSeconds * 1000)
  }
  return `${base64url(header)}.${base64url(payload)}.${randomBytes(32).toString('base64url')}`
}

export function newRequestId(): string {
  return randomUUID()
}
