// A whole broker against a Flow Service peer we did not write: Stoplight Prism serving Adobe's published
// flow-service.yaml as is (what it answers is recorded in test/flow-service/adobe-spec-peer.test.ts: one static
// example id for every create and every read, 405 on the documented PATCH/DELETE paths, never a 404). IMS is the
// project's emulator, for the token only. Asserted here: the promises that must hold whatever the peer answers.
//
// DEPENDS ON flow-client and the create use case's clash handling: subtests marked [flow-client + use case] fail
// on a branch without them (today the second create, given an id another connection already holds, hits the unique
// index on flow_connection_id and answers 500 without naming its connection); the others pass today.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { insertApiKey } from '../../src/auth/api-key-repository.js'
import { createBroker, type Broker } from '../../src/broker.js'
import { loadConfig } from '../../src/config.js'
import { startEmulator } from '../../src/emulator/emulator.js'
import { createLogger } from '../../src/logging/logger.js'
import { startAdobeSpecPeer, type AdobeSpecPeer } from '../support/adobe-spec-peer.js'
import { dumpTables } from '../support/test-broker.js'
import { createTestDatabase } from '../support/test-database.js'

const EXAMPLE_ID = '69f188b6-af07-4587-8061-e94d34637b41'
const IMS = {
  clientId: 'spec-peer-client',
  clientSecret: 'ims-secret-SPECPEER-5c1e9a07',
  orgId: 'SPECPEER00000000000000000@AdobeOrg'
}
/** Distinctive values, so that finding one anywhere can only mean it leaked. */
const SECRETS = ['pw-SPECPEER-a41f73d2', 'st-SPECPEER-9be06c58', 'pw-SPECPEER-0d2c8e11', 'st-SPECPEER-7f5a3b94']
const ROTATED = ['pw-SPECPEER-rot-3e8d1c0a', 'st-SPECPEER-rot-6a92f4b7']

function salesforceBody(name: string, password: string, securityToken: string): unknown {
  return {
    name,
    auth: {
      specName: 'Basic Authentication',
      params: {
        environmentUrl: 'https://acme.my.salesforce.com',
        username: 'integration@acme.com',
        password,
        securityToken
      }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  }
}

interface PeerBroker {
  broker: Broker
  peer: AdobeSpecPeer
  key: string
  logs: () => string
  post: (body: unknown) => Promise<LightMyRequestResponse>
  get: (url: string) => Promise<LightMyRequestResponse>
}

async function startPeerBroker(t: { teardown: (fn: () => Promise<void>) => void }): Promise<PeerBroker> {
  const ims = await startEmulator({ readyDelayMs: 0, ...IMS })
  t.teardown(ims.close)
  const peer = await startAdobeSpecPeer()
  t.teardown(peer.close)
  const lines: string[] = []
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'))
        done()
      }
    })
  )
  const database = await createTestDatabase()
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'broker-spec-peer-'))
  const config = loadConfig({
    BROKER_MODE: 'production',
    // Production requires it; the test's own database (maybe PGlite) is what createBroker gets below.
    DATABASE_URL: database.url ?? 'postgres://broker@127.0.0.1:1/unused',
    FLOW_SERVICE_URL: peer.url,
    IMS_URL: ims.imsUrl,
    IMS_CLIENT_ID: IMS.clientId,
    IMS_CLIENT_SECRET: IMS.clientSecret,
    IMS_ORG_ID: IMS.orgId,
    BROKER_ADMIN_KEY: randomBytes(24).toString('hex'),
    BROKER_SECRET_KEY: randomBytes(32).toString('base64'),
    BROKER_DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    // Small bounds so that every outcome, failures included, arrives within a test's time.
    FLOW_SERVICE_TIMEOUT_MS: '2000',
    CREATE_DEADLINE_MS: '2000',
    CHANGE_DEADLINE_MS: '2000',
    PENDING_GRACE_MS: '6000',
    POLL_FAST_INTERVAL_MS: '100',
    POLL_STEADY_INTERVAL_MS: '200',
    // Settling leftovers is not under test; its loop would only add calls to the peer.
    RECONCILER_ENABLED: 'false'
  })
  const broker = await createBroker(config, logger, { database: database.config })
  t.teardown(async () => {
    await broker.app.close()
    await database.drop()
    await rm(dataDir, { recursive: true, force: true })
  })
  const key = (
    await insertApiKey(broker.database.db, {
      team: 'spec-peer',
      name: 'spec peer test key',
      scopes: ['connections:read', 'connections:write']
    })
  ).key
  const headers = { authorization: `Bearer ${key}` }
  return {
    broker,
    peer,
    key,
    logs: () => lines.join(''),
    post: async (body) =>
      await broker.app.inject({
        method: 'POST',
        url: '/v1/connections',
        headers: { ...headers, 'content-type': 'application/json' },
        payload: JSON.stringify(body)
      }),
    get: async (url) => await broker.app.inject({ method: 'GET', url, headers })
  }
}

/** Waits for a condition on what the peer received, within a bound; no fixed sleep. */
async function waitForRequests(
  peer: AdobeSpecPeer,
  predicate: (r: ReturnType<AdobeSpecPeer['requests']>[number]) => boolean,
  count: number,
  timeoutMs = 10000
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (peer.requests().filter(predicate).length < count) {
    if (Date.now() > deadline)
      throw new Error(
        `the peer received ${peer.requests().filter(predicate).length} matching requests, not ${count}, within ${timeoutMs} ms`
      )
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

void t.test("against Adobe's published spec as a peer", async (t) => {
  const scene = await startPeerBroker(t)
  const { broker, peer, post, get } = scene
  const responses: Array<{ label: string; res: LightMyRequestResponse }> = []

  const first = await post(salesforceBody('Salesforce prod', SECRETS[0] ?? '', SECRETS[1] ?? ''))
  responses.push({ label: 'first create', res: first })
  const second = await post(salesforceBody('Salesforce staging', SECRETS[2] ?? '', SECRETS[3] ?? ''))
  responses.push({ label: 'second create', res: second })

  await t.test(
    '[flow-client + use case] a create is never answered 500, and a failed one names its connection',
    async (t) => {
      for (const [i, res] of [first, second].entries()) {
        t.not(res.statusCode, 500, `create ${i + 1} is not a 500`)
        if (res.statusCode >= 400)
          t.match(res.json(), { connectionId: /^[0-9a-f-]{36}$/ }, `create ${i + 1}'s problem names its connection`)
      }
    }
  )

  await t.test('the first create is live with the id the peer gave', async (t) => {
    t.equal(first.statusCode, 201)
    t.match(first.json(), { flowConnectionId: EXAMPLE_ID })
  })

  await t.test(
    '[flow-client + use case] a second create given the same downstream id is a problem (503 or 409), not a second live connection',
    async (t) => {
      t.ok(second.statusCode === 503 || second.statusCode === 409, `answered ${second.statusCode}`)
      const listed = await get('/v1/connections?limit=100')
      responses.push({ label: 'list', res: listed })
      const live = listed
        .json<{ items: Array<{ flowConnectionId: string | null; state: string }> }>()
        .items.filter((c) => c.flowConnectionId === EXAMPLE_ID && !['failed', 'deleted'].includes(c.state))
      t.equal(live.length, 1, "one broker connection holds the peer's id")
    }
  )

  await t.test(
    'the poller never records deleted, nor destroys a secret, from a peer that never answered 404',
    async (t) => {
      const firstId = first.json<{ id: string }>().id
      // Several poll passes reach the peer (each a GET /connections listing ids), whatever they find.
      const polls = (r: ReturnType<AdobeSpecPeer['requests']>[number]): boolean =>
        r.method === 'GET' && r.path === '/connections' && 'property' in r.query
      await waitForRequests(peer, polls, 3)
      const connections = await broker.database.db.selectFrom('connections').select(['id', 'state']).execute()
      t.same(
        connections.filter((c) => c.state === 'deleted'),
        [],
        'no connection recorded deleted'
      )
      const events = await get(`/v1/connections/${firstId}/events`)
      responses.push({ label: 'events', res: events })
      t.notMatch(events.body, /"deleted"/, 'no deleted event on the live connection')
      t.ok(await broker.secrets.read(firstId), "the live connection's secret is still there")
    }
  )

  await t.test(
    'changes the peer refuses (405 on the documented paths) answer a problem, not a 500, and delete nothing',
    async (t) => {
      const firstId = first.json<{ id: string }>().id
      const change = async (
        label: string,
        method: 'PATCH' | 'PUT' | 'DELETE',
        url: string,
        body?: unknown
      ): Promise<LightMyRequestResponse> => {
        const res = await broker.app.inject({
          method,
          url,
          headers: {
            authorization: `Bearer ${scene.key}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {})
          },
          ...(body !== undefined ? { payload: JSON.stringify(body) } : {})
        })
        responses.push({ label, res })
        return res
      }
      const renamed = await change('rename', 'PATCH', `/v1/connections/${firstId}`, { name: 'Salesforce renamed' })
      t.ok(renamed.statusCode >= 400 && renamed.statusCode !== 500, `rename answered ${renamed.statusCode}`)
      const rotated = await change('rotation', 'PUT', `/v1/connections/${firstId}/credentials`, {
        params: {
          environmentUrl: 'https://acme.my.salesforce.com',
          username: 'integration@acme.com',
          password: ROTATED[0],
          securityToken: ROTATED[1]
        }
      })
      t.ok(rotated.statusCode >= 400 && rotated.statusCode !== 500, `rotation answered ${rotated.statusCode}`)
      const deleted = await change('delete', 'DELETE', `/v1/connections/${firstId}`)
      t.ok(deleted.statusCode >= 400 && deleted.statusCode !== 500, `delete answered ${deleted.statusCode}`)
      const after = await get(`/v1/connections/${firstId}`)
      responses.push({ label: 'read after the changes', res: after })
      t.match(after.json(), { name: 'Salesforce prod', flowConnectionId: EXAMPLE_ID }, 'unchanged in the broker')
      t.not(after.json<{ state: string }>().state, 'deleted')
      t.ok(await broker.secrets.read(firstId), 'its secret is still there')
    }
  )

  await t.test('no secret value in any response, log line or table', async (t) => {
    const dump = await dumpTables(broker.database.db)
    const logs = scene.logs()
    for (const secret of [...SECRETS, IMS.clientSecret]) {
      for (const { label, res } of responses)
        t.notOk(res.body.includes(secret), `${secret} not in the answer to the ${label}`)
      t.notOk(logs.includes(secret), `${secret} not in the logs`)
      t.notOk(dump.includes(secret), `${secret} not in the database`)
    }
  })
})
