// ImsTokenSource: one token call however many callers, refresh before expiry, after a 401, and typed IMS failures.
import t from 'tap'
import { Writable } from 'node:stream'
import { MockAgent } from 'undici'
import { pino } from 'pino'
import { ImsTokenSource, type ImsTokenSourceOptions } from '../../src/flow-service/ims-token-source.js'
import { FlowServiceError } from '../../src/flow-service/flow-service-error.js'

const IMS = 'https://ims.test'
const SECRET = 'p8e-SUPER-SECRET-client-secret'
const HOUR = 3600_000

interface Ims {
  agent: MockAgent
  calls: () => number
  bodies: string[]
  /** Queue one answer; token requests beyond the queue fail the test through MockAgent. */
  answer: (status: number, body: object, delayMs?: number) => void
}

function mockIms(t: { teardown: (fn: () => Promise<void>) => void }): Ims {
  const agent = new MockAgent()
  agent.disableNetConnect()
  t.teardown(async () => {
    await agent.close()
  })
  const bodies: string[] = []
  return {
    agent,
    bodies,
    calls: () => bodies.length,
    answer: (status, body, delayMs = 0) => {
      const scope = agent
        .get(IMS)
        .intercept({ path: '/ims/token/v3', method: 'POST' })
        .reply((opts) => {
          bodies.push(typeof opts.body === 'string' ? opts.body : '')
          return {
            statusCode: status,
            data: JSON.stringify(body),
            responseOptions: { headers: { 'content-type': 'application/json' } }
          }
        })
      if (delayMs > 0) scope.delay(delayMs)
    }
  }
}

function source(ims: Ims, overrides: Partial<ImsTokenSourceOptions> = {}): ImsTokenSource {
  return new ImsTokenSource({
    imsUrl: IMS,
    clientId: 'broker-client',
    clientSecret: SECRET,
    scopes: 'openid,AdobeID,read_organizations',
    timeoutMs: 2000,
    dispatcher: ims.agent,
    ...overrides
  })
}

void t.test('asks IMS with a form-encoded client_credentials grant', async (t) => {
  const ims = mockIms(t)
  ims.answer(200, { access_token: 'tok-1', token_type: 'bearer', expires_in: 86399 })
  t.equal(await source(ims).getToken(), 'tok-1')
  const form = new URLSearchParams(ims.bodies[0])
  t.same(Object.fromEntries(form), {
    grant_type: 'client_credentials',
    client_id: 'broker-client',
    client_secret: SECRET,
    scope: 'openid,AdobeID,read_organizations'
  })
})

void t.test('many concurrent callers share one token call, later callers get the cached token', async (t) => {
  const ims = mockIms(t)
  ims.answer(200, { access_token: 'tok-1', expires_in: 86399 }, 30)
  const tokens = source(ims)
  const all = await Promise.all(Array.from({ length: 25 }, async () => await tokens.getToken()))
  t.ok(all.every((token) => token === 'tok-1'))
  t.equal(await tokens.getToken(), 'tok-1')
  t.equal(ims.calls(), 1)
})

void t.test('refreshes at 90% of a day-long lifetime, not before', async (t) => {
  const ims = mockIms(t)
  let clock = 1_000_000
  ims.answer(200, { access_token: 'tok-1', expires_in: 86400 })
  ims.answer(200, { access_token: 'tok-2', expires_in: 86400 })
  const tokens = source(ims, { now: () => clock })
  t.equal(await tokens.getToken(), 'tok-1')
  clock += 0.89 * 24 * HOUR
  t.equal(await tokens.getToken(), 'tok-1', 'still cached at 89%')
  t.equal(ims.calls(), 1)
  clock += 0.02 * 24 * HOUR
  t.equal(await tokens.getToken(), 'tok-2', 'refreshed at 91%, well before expiry')
  t.equal(ims.calls(), 2)
})

void t.test('refreshes 5 minutes before expiry when that comes before 90%', async (t) => {
  const ims = mockIms(t)
  let clock = 0
  ims.answer(200, { access_token: 'tok-1', expires_in: 1200 })
  ims.answer(200, { access_token: 'tok-2', expires_in: 1200 })
  const tokens = source(ims, { now: () => clock })
  await tokens.getToken()
  clock = 899_000
  t.equal(await tokens.getToken(), 'tok-1')
  clock = 900_000
  t.equal(await tokens.getToken(), 'tok-2', '20 min token refreshed at 15 min')
})

void t.test('concurrent callers at refresh time also share one call', async (t) => {
  const ims = mockIms(t)
  let clock = 0
  ims.answer(200, { access_token: 'tok-1', expires_in: 86400 })
  ims.answer(200, { access_token: 'tok-2', expires_in: 86400 }, 20)
  const tokens = source(ims, { now: () => clock })
  await tokens.getToken()
  clock = 23 * HOUR
  const all = await Promise.all(Array.from({ length: 10 }, async () => await tokens.getToken()))
  t.same(new Set(all), new Set(['tok-2']))
  t.equal(ims.calls(), 2)
})

void t.test('invalidate(token) after a 401 makes the next call mint a new token', async (t) => {
  const ims = mockIms(t)
  ims.answer(200, { access_token: 'tok-1', expires_in: 86399 })
  ims.answer(200, { access_token: 'tok-2', expires_in: 86399 })
  const tokens = source(ims)
  const first = await tokens.getToken()
  tokens.invalidate(first)
  t.equal(await tokens.getToken(), 'tok-2')
  tokens.invalidate(first)
  t.equal(await tokens.getToken(), 'tok-2', 'a late invalidate of an older token does not throw the new one away')
  t.equal(ims.calls(), 2)
})

void t.test('invalid_client is a definitive auth error and nothing is cached', async (t) => {
  const ims = mockIms(t)
  ims.answer(400, { error: 'invalid_client', error_description: 'invalid client_secret parameter' })
  ims.answer(200, { access_token: 'tok-1', expires_in: 86399 })
  const tokens = source(ims)
  const err = await tokens.getToken().then(
    () => undefined,
    (e: unknown) => e
  )
  t.ok(err instanceof FlowServiceError)
  t.match(err, {
    kind: 'auth',
    operation: 'getToken',
    status: 400,
    code: 'invalid_client',
    downstreamMessage: 'invalid client_secret parameter'
  })
  t.notMatch(String((err as Error).message), SECRET)
  t.equal(await tokens.getToken(), 'tok-1', 'the next call tries again')
})

void t.test('invalid_scope is a definitive auth error too', async (t) => {
  const ims = mockIms(t)
  ims.answer(400, { error: 'invalid_scope', error_description: 'invalid scope' })
  await t.rejects(source(ims).getToken(), { name: 'FlowServiceError', kind: 'auth', code: 'invalid_scope' })
})

void t.test('an IMS 500 or an unreachable IMS is retryable', async (t) => {
  const ims = mockIms(t)
  ims.answer(500, { error: 'internal_error' })
  const tokens = source(ims)
  await t.rejects(tokens.getToken(), {
    name: 'FlowServiceError',
    kind: 'retryable',
    code: 'internal_error',
    status: 500
  })
  ims.agent
    .get(IMS)
    .intercept({ path: '/ims/token/v3', method: 'POST' })
    .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
  await t.rejects(tokens.getToken(), { name: 'FlowServiceError', kind: 'retryable', operation: 'getToken' })
})

void t.test('a 200 without access_token is retryable, not a token', async (t) => {
  const ims = mockIms(t)
  ims.answer(200, { token_type: 'bearer' })
  await t.rejects(source(ims).getToken(), { name: 'FlowServiceError', kind: 'retryable', operation: 'getToken' })
})

void t.test(
  'a failed early refresh keeps serving the still-valid token and leaves IMS alone for a while',
  async (t) => {
    const ims = mockIms(t)
    let clock = 0
    ims.answer(200, { access_token: 'tok-1', expires_in: 86400 })
    ims.answer(503, { error: 'temporarily_unavailable' })
    ims.answer(200, { access_token: 'tok-2', expires_in: 86400 })
    const tokens = source(ims, { now: () => clock })
    await tokens.getToken()
    clock = 22 * HOUR
    t.equal(await tokens.getToken(), 'tok-1', 'refresh failed; the old token has two hours left')
    clock += 10_000
    t.equal(await tokens.getToken(), 'tok-1', 'no new attempt within the pause')
    t.equal(ims.calls(), 2)
    clock += 30_000
    t.equal(await tokens.getToken(), 'tok-2', 'tried again after the pause')
  }
)

void t.test('an expired token is never served when the refresh fails', async (t) => {
  const ims = mockIms(t)
  let clock = 0
  ims.answer(200, { access_token: 'tok-1', expires_in: 86400 })
  ims.answer(503, {})
  const tokens = source(ims, { now: () => clock })
  await tokens.getToken()
  clock = 24 * HOUR
  await t.rejects(tokens.getToken(), { name: 'FlowServiceError', kind: 'retryable' })
})

void t.test('an expires_in in milliseconds (older IMS endpoints) is not read as 2.7 years', async (t) => {
  const ims = mockIms(t)
  let clock = 0
  ims.answer(200, { access_token: 'tok-1', expires_in: 86_399_000 })
  ims.answer(200, { access_token: 'tok-2', expires_in: 86_399_000 })
  const tokens = source(ims, { now: () => clock })
  await tokens.getToken()
  clock = 23 * HOUR
  t.equal(await tokens.getToken(), 'tok-2')
})

void t.test('neither the client secret nor the token reaches a log line', async (t) => {
  const ims = mockIms(t)
  const lines: string[] = []
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString())
        done()
      }
    })
  )
  ims.answer(200, { access_token: 'tok-VERY-PRIVATE', expires_in: 86399 })
  ims.answer(400, { error: 'invalid_client', error_description: 'invalid client_secret parameter' })
  const tokens = source(ims, { logger })
  const token = await tokens.getToken()
  tokens.invalidate(token)
  await t.rejects(tokens.getToken())
  t.ok(lines.length >= 2, 'both outcomes were logged')
  const all = lines.join('')
  t.notOk(all.includes(SECRET))
  t.notOk(all.includes('tok-VERY-PRIVATE'))
})

void t.test('close() leaves an injected dispatcher to its owner', async (t) => {
  const ims = mockIms(t)
  ims.answer(200, { access_token: 'tok-1', expires_in: 86399 })
  const tokens = source(ims)
  await tokens.close()
  const other = source(ims)
  t.equal(await other.getToken(), 'tok-1')
})
