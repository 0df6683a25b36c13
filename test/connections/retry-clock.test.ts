// The request paths that wait on Flow Service wait on the injected clock: backoff, Retry-After and initializing
// waits move a TestClock, not real time. Each waits an hour of virtual time; a real sleep would time the test out.
import { pino } from 'pino'
import t from 'tap'
import { changeDownstream, ConnectionStillInitializing } from '../../src/connections/change/change-downstream.js'
import { createDownstream } from '../../src/connections/create/create-downstream.js'
import type { ConnectionRow } from '../../src/db/schema.js'
import type { FlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { FlowServiceError } from '../../src/flow-service/flow-service-error.js'
import type { CreateConnectionBody, FlowConnection } from '../../src/flow-service/types.js'
import { TestClock } from '../support/test-clock.js'

const HOUR = 3_600_000
const logger = pino({ level: 'silent' })
const ETAG = '"etag-1"'

/** A Flow Service with only the calls a test gives; any other call fails the test. */
function flowWith(calls: Partial<FlowServiceClient>): FlowServiceClient {
  const missing = async (): Promise<never> => {
    throw new Error('unexpected Flow Service call')
  }
  return {
    createConnection: missing,
    getConnection: missing,
    listConnections: missing,
    updateConnection: missing,
    deleteConnection: missing,
    testConnection: missing,
    ping: missing,
    close: async () => {},
    ...calls
  }
}

const row = {
  id: 'broker-1',
  flow_connection_id: 'flow-1',
  sandbox_name: 'prod',
  etag: ETAG
} as unknown as ConnectionRow
const busy = (retryAfterMs?: number): FlowServiceError =>
  new FlowServiceError({
    kind: 'retryable',
    operation: 'updateConnection',
    status: 429,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {})
  })

void t.test('a change honours an hour-long Retry-After on the clock, then succeeds', async (t) => {
  const clock = new TestClock(0)
  const sentAt: number[] = []
  const flow = flowWith({
    updateConnection: async () => {
      sentAt.push(clock.now())
      if (sentAt.length === 1) throw busy(HOUR)
      return { id: 'flow-1', etag: '"etag-2"' }
    }
  })
  const result = await changeDownstream(
    { flow, logger, clock },
    row,
    { operation: 'updateConnection', send: async (etag) => await flow.updateConnection('prod', 'flow-1', etag, []) },
    2 * HOUR
  )
  t.same(result, { id: 'flow-1', etag: '"etag-2"' })
  t.equal(sentAt.length, 2)
  t.ok(
    (sentAt[1] ?? 0) - (sentAt[0] ?? 0) >= HOUR,
    'the second attempt came at least the Retry-After later, in clock time'
  )
})

void t.test(
  'a change past its deadline on the clock gives up without sleeping the wait it could not afford',
  async (t) => {
    const clock = new TestClock(0)
    const flow = flowWith({
      updateConnection: async () => {
        throw busy(HOUR)
      }
    })
    const failed = await changeDownstream(
      { flow, logger, clock },
      row,
      { operation: 'updateConnection', send: async (etag) => await flow.updateConnection('prod', 'flow-1', etag, []) },
      HOUR - 1
    ).catch((err: unknown) => err)
    t.ok(failed instanceof FlowServiceError && failed.kind === 'retryable', 'the last error, as it was')
    t.equal(clock.now(), 0, 'no wait that would end past the deadline')
  }
)

void t.test('waiting out initializing reads the clock: 409-worthy after the budget, enabled within it', async (t) => {
  const clock = new TestClock(0)
  const readyAt = HOUR
  const connection = (): FlowConnection =>
    (clock.now() < readyAt
      ? { id: 'flow-1', state: 'initializing' }
      : { id: 'flow-1', state: 'enabled', etag: '"etag-ready"' }) as FlowConnection
  const flow = flowWith({
    getConnection: async () => connection(),
    updateConnection: async (_s, _id, etag) => ({ id: 'flow-1', etag: `${etag}+1` })
  })
  const fresh = { ...row, etag: null } as unknown as ConnectionRow
  const send = async (etag: string): Promise<{ id: string; etag: string }> =>
    await flow.updateConnection('prod', 'flow-1', etag, [])
  await t.rejects(
    changeDownstream({ flow, logger, clock }, fresh, { operation: 'updateConnection', send }, 10_000),
    ConnectionStillInitializing
  )
  t.ok(clock.now() <= 10_000, 'never waited past the budget')
  clock.advance(HOUR)
  t.same(await changeDownstream({ flow, logger, clock }, fresh, { operation: 'updateConnection', send }, 10_000), {
    id: 'flow-1',
    etag: '"etag-ready"+1'
  })
})

void t.test(
  "a create backs off on the clock through retryable failures (retryWithBackoff with the clock's sleep)",
  async (t) => {
    const clock = new TestClock(0)
    const postedAt: number[] = []
    const flow = flowWith({
      createConnection: async () => {
        postedAt.push(clock.now())
        if (postedAt.length <= 2)
          throw new FlowServiceError({
            kind: 'retryable',
            operation: 'createConnection',
            status: 503,
            retryAfterMs: HOUR
          })
        return { id: 'flow-new', etag: '"etag-new"' }
      }
    })
    const created = await createDownstream(
      { flow, logger, clock },
      {
        search: { brokerId: 'broker-1', sandbox: 'prod', connectionSpecId: 'spec', createdAt: new Date(0) },
        body: {} as CreateConnectionBody,
        deadlineMs: 3 * HOUR,
        secrets: []
      }
    )
    t.match(created, { id: 'flow-new', adopted: false })
    t.equal(postedAt.length, 3)
    t.ok(clock.now() >= 2 * HOUR, 'two Retry-After waits, in clock time')
  }
)
