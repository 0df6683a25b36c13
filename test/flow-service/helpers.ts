// Shared by the Flow Service client tests: a mocked Flow Service and IMS (undici MockAgent) and a client wired to it.
import { MockAgent } from 'undici'
import { pino, type Logger } from 'pino'
import {
  createFlowServiceClient,
  type FlowServiceClient,
  type FlowServiceClientOptions
} from '../../src/flow-service/flow-service-client.js'
import { FlowServiceError } from '../../src/flow-service/flow-service-error.js'
import type { CreateConnectionBody, FlowConnection } from '../../src/flow-service/types.js'

export const FS = 'https://platform.test'
export const BASE = '/data/foundation/flowservice'
export const IMS = 'https://ims.test'
export const ETAG = '"1400dd53-0000-0200-0000-5f3f23450000"'

export interface Seen {
  method: string
  path: string
  headers: Record<string, string>
  body: string | undefined
}
export interface Reply {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export interface Upstreams {
  agent: MockAgent
  /** Every Flow Service request, in order. */
  seen: Seen[]
  /** Tokens IMS has handed out, in order. */
  minted: string[]
  /** Queues one Flow Service answer for `method` on any path under the base. */
  reply: (method: string, reply: Reply) => void
  replyWithError: (method: string, error: Error) => void
}

export function mockUpstreams(t: { teardown: (fn: () => Promise<void>) => void }): Upstreams {
  const agent = new MockAgent()
  agent.disableNetConnect()
  t.teardown(async () => {
    await agent.close()
  })
  const minted: string[] = []
  agent
    .get(IMS)
    .intercept({ path: '/ims/token/v3', method: 'POST' })
    .reply(() => {
      minted.push(`token-${minted.length + 1}`)
      return {
        statusCode: 200,
        data: JSON.stringify({ access_token: minted.at(-1), token_type: 'bearer', expires_in: 86399 })
      }
    })
    .persist()
  const seen: Seen[] = []
  const underBase = (path: string): boolean => path.startsWith(`${BASE}/`)
  return {
    agent,
    seen,
    minted,
    reply: (method, reply) => {
      agent
        .get(FS)
        .intercept({ path: underBase, method })
        .reply((opts) => {
          seen.push({
            method: opts.method,
            path: opts.path,
            headers: { ...(opts.headers as Record<string, string>) },
            body: typeof opts.body === 'string' ? opts.body : undefined
          })
          const data =
            reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
          return {
            statusCode: reply.status,
            data,
            responseOptions: { headers: { 'content-type': 'application/json', ...reply.headers } }
          }
        })
    },
    replyWithError: (method, error) => {
      agent.get(FS).intercept({ path: underBase, method }).replyWithError(error)
    }
  }
}

export function client(upstreams: Upstreams, overrides: Partial<FlowServiceClientOptions> = {}): FlowServiceClient {
  return createFlowServiceClient({
    url: `${FS}${BASE}`,
    imsUrl: IMS,
    clientId: 'broker-client-id',
    clientSecret: 'broker-client-secret',
    scopes: 'openid,AdobeID',
    orgId: 'ABC123@AdobeOrg',
    timeoutMs: 2000,
    dispatcher: upstreams.agent,
    ...overrides
  })
}

export async function failure(promise: Promise<unknown>): Promise<FlowServiceError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof FlowServiceError) return err
    throw err
  }
  throw new Error('expected a FlowServiceError')
}

export const createBody: CreateConnectionBody = {
  name: 'Salesforce prod',
  description: 'CRM',
  auth: {
    specName: 'Basic Authentication',
    params: { environmentUrl: 'https://acme.my.salesforce.com', username: 'u', password: 'p', securityToken: 's' }
  },
  connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
}

export function connection(id: string, extra: Partial<FlowConnection> = {}): FlowConnection {
  return {
    id,
    createdAt: 1,
    updatedAt: 2,
    name: `conn ${id}`,
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' },
    state: 'enabled',
    auth: {
      specName: 'Basic Authentication',
      params: { username: 'u', password: 'arn:aws:secretsmanager:us-east-1:1:secret:acp_security/x' }
    },
    etag: ETAG,
    version: ETAG,
    ...extra
  }
}

/** A real pino logger whose JSON lines are kept, so tests can search what would have been written. */
export function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        lines.push(line)
      }
    }
  )
  return { logger, lines }
}

export const json = (s: string): string => JSON.stringify(s).slice(1, -1)
const asciiJson = (s: string, upper = false): string =>
  json(s).replace(/[\u0080-\uffff]/g, (c) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0')
    return `\\u${upper ? hex.toUpperCase() : hex}`
  })
const lowerHex = (s: string): string => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())
const formEncoded = (s: string): string => new URLSearchParams([['v', s]]).toString().slice(2)

/** Every whole encoding of `secret` a server might echo, by name. */
export function encodings(secret: string): Record<string, string> {
  const bytes = Buffer.from(secret, 'utf8')
  const b64 = bytes.toString('base64')
  return {
    raw: secret,
    json: json(secret),
    'json twice': json(json(secret)),
    'ascii json': asciiJson(secret),
    'ascii json, upper-case hex': asciiJson(secret, true),
    'ascii json twice': asciiJson(asciiJson(secret)),
    'json of ascii json': json(asciiJson(secret)),
    'json with \\/': json(secret).replaceAll('/', '\\/'),
    encodeURIComponent: encodeURIComponent(secret),
    'encodeURIComponent, lower-case hex': lowerHex(encodeURIComponent(secret)),
    'form encoding': formEncoded(secret),
    'form encoding, lower-case hex': lowerHex(formEncoded(secret)),
    'encodeURIComponent with +': encodeURIComponent(secret).replaceAll('%20', '+'),
    base64: b64,
    'base64 unpadded': b64.replace(/=+$/, ''),
    base64url: bytes.toString('base64url'),
    'base64url padded': bytes.toString('base64url').padEnd(b64.length, '=')
  }
}
