// FlowServiceClient against a peer we did not write: Stoplight Prism mocking Adobe's published flow-service.yaml
// (test/support/adobe-spec-peer.ts). IMS is the project's emulator, used for the token only.
//
// What this peer actually answers (Prism 5.16, static examples, observed by running it):
// - POST /connections: 201 {"id":"69f188b6-af07-4587-8061-e94d34637b41","etag":"\"6802064a-0000-0200-0000-6387c6b90000\""}
//   for every create: two creates get the same id.
// - GET /connections/{any id}: 200 {"items":[one example]} whose id is 69f188b6-…, whatever id was asked;
//   the example is a Google BigQuery connection (connectionSpec 32e8f412-cdf7-464c-9885-78184cb113fd, name
//   "Google BigQuery Base Connection", state "enabled", etag and version "\"6802064a-…\"").
// - GET /connections?property=…&limit=… and ?count=true: the same one-item list; filters and count are ignored,
//   no _links.next.
// - PATCH and DELETE /connections/{id}: 405 problem+json (NO_METHOD_MATCHED_ERROR): the spec declares them only on
//   /connections/{id}/ (trailing slash). There, DELETE answers 204; PATCH answers 422 problem+json because the spec
//   wants one PatchInstruction object with ops ADD/REPLACE/REMOVE, not the documented JSON Patch array. With both
//   flaws corrected ('documented-paths'), PATCH answers 200 {"id":"69f188b6-…","etag":"\"6802064a-…\""} whatever
//   id was patched.
// - GET /connections/{id}/test: 200 {"result":true}.
// - Never 404, 412 or 429: none is declared. A 404 can only be forced with `Prefer: code=404`, and then it is Prism's
//   own problem+json ("Requested status code 404 is not defined in the document"), not a Flow Service answer.
//
// DEPENDS ON flow-client (the client contract landing on that branch): every subtest marked [flow-client] fails on a
// branch without it; the unmarked ones pass on today's client.
import t from 'tap'
import { startEmulator } from '../../src/emulator/emulator.js'
import { createFlowServiceClient, type FlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { FlowServiceError } from '../../src/flow-service/flow-service-error.js'
import type { CreateConnectionBody } from '../../src/flow-service/types.js'
import { startAdobeSpecPeer, type AdobeSpecPeer, type AdobeSpecPeerOptions } from '../support/adobe-spec-peer.js'

/** The id, spec and name of the one connection every GET of this peer returns. */
const EXAMPLE = {
  id: '69f188b6-af07-4587-8061-e94d34637b41',
  etag: '"6802064a-0000-0200-0000-6387c6b90000"',
  connectionSpecId: '32e8f412-cdf7-464c-9885-78184cb113fd',
  name: 'Google BigQuery Base Connection'
}
const ASKED_ID = '0b9a3b8e-5d1c-4a57-9a43-3f1f0d6c2e11'
const SALESFORCE_SPEC = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'
// The code flow-client exports as UNEXPECTED_ANSWER from src/flow-service/flow-service-error.ts; spelled out here so
// this file compiles before that lands (the first subtest checks the two agree).
const UNEXPECTED_ANSWER = 'unexpected_answer'

const body: CreateConnectionBody = {
  name: 'Salesforce prod',
  auth: {
    specName: 'Basic Authentication',
    params: {
      environmentUrl: 'https://acme.my.salesforce.com',
      username: 'integration@acme.com',
      password: 'pw-spec-peer-client',
      securityToken: 'st-spec-peer-client'
    }
  },
  connectionSpec: { id: SALESFORCE_SPEC, version: '1.0' }
}

async function setUp(
  t: { teardown: (fn: () => Promise<void>) => void },
  options: AdobeSpecPeerOptions = {}
): Promise<{ peer: AdobeSpecPeer; fs: FlowServiceClient }> {
  const ims = await startEmulator({ readyDelayMs: 0 })
  t.teardown(ims.close)
  const peer = await startAdobeSpecPeer(options)
  t.teardown(peer.close)
  const fs = createFlowServiceClient({
    url: peer.url,
    imsUrl: ims.imsUrl,
    clientId: ims.credentials.clientId,
    clientSecret: ims.credentials.clientSecret,
    scopes: 'openid,AdobeID',
    orgId: ims.credentials.orgId,
    timeoutMs: 5000
  })
  t.teardown(fs.close)
  return { peer, fs }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  return undefined
}

function callsTo(peer: AdobeSpecPeer, method: string): number {
  return peer.requests().filter((r) => r.method === method).length
}

void t.test('[flow-client] UNEXPECTED_ANSWER is exported with the value these tests expect', async (t) => {
  const errors: Record<string, unknown> = await import('../../src/flow-service/flow-service-error.js')
  t.equal(errors.UNEXPECTED_ANSWER, UNEXPECTED_ANSWER)
})

void t.test('the peer is reachable through the client: ping and test answer', async (t) => {
  const { fs } = await setUp(t)
  await fs.ping()
  t.equal(await fs.testConnection('prod', ASKED_ID), true)
})

void t.test('createConnection reports the id the peer gives, even the same one twice', async (t) => {
  const { fs } = await setUp(t)
  const first = await fs.createConnection('prod', body)
  const second = await fs.createConnection('prod', { ...body, name: 'Salesforce staging' })
  // The client reports faithfully; telling the two creates apart is the use case's job, not the client's.
  t.same(first, { id: EXAMPLE.id, etag: EXAMPLE.etag })
  t.same(second, { id: EXAMPLE.id, etag: EXAMPLE.etag })
})

void t.test('getConnection', async (t) => {
  const { fs } = await setUp(t)

  await t.test('returns the item when the 200 holds the asked id', async (t) => {
    const got = await fs.getConnection('prod', EXAMPLE.id)
    t.equal(got?.id, EXAMPLE.id)
  })

  await t.test('[flow-client] a 200 without the asked id is an unexpected answer, retryable, never null', async (t) => {
    const err = await failure(fs.getConnection('prod', ASKED_ID))
    t.type(err, FlowServiceError)
    t.match(err, { kind: 'retryable', code: UNEXPECTED_ANSWER, operation: 'getConnection' })
  })
})

void t.test('listConnections keeps only items that match what was asked', async (t) => {
  const { fs } = await setUp(t)

  await t.test('ids: the asked id is kept', async (t) => {
    t.same(
      (await fs.listConnections('prod', { ids: [EXAMPLE.id] })).items.map((c) => c.id),
      [EXAMPLE.id]
    )
  })
  await t.test('[flow-client] ids: an item whose id was not asked is dropped', async (t) => {
    t.same((await fs.listConnections('prod', { ids: [ASKED_ID], limit: 100 })).items, [])
  })
  await t.test('connectionSpecId: an item of that spec is kept', async (t) => {
    t.same(
      (await fs.listConnections('prod', { connectionSpecId: EXAMPLE.connectionSpecId })).items.map((c) => c.id),
      [EXAMPLE.id]
    )
  })
  await t.test('[flow-client] connectionSpecId: an item of another spec is dropped', async (t) => {
    t.same((await fs.listConnections('prod', { connectionSpecId: SALESFORCE_SPEC })).items, [])
  })
  await t.test('name: an item of that name is kept', async (t) => {
    t.same(
      (await fs.listConnections('prod', { name: EXAMPLE.name })).items.map((c) => c.id),
      [EXAMPLE.id]
    )
  })
  await t.test('[flow-client] name: an item whose name differs is dropped', async (t) => {
    t.same((await fs.listConnections('prod', { name: 'Salesforce prod', limit: 100 })).items, [])
  })
})

void t.test('updateConnection', async (t) => {
  await t.test('as published, the documented PATCH path is refused (405), not taken for a success', async (t) => {
    const { fs } = await setUp(t)
    const err = await failure(
      fs.updateConnection('prod', EXAMPLE.id, EXAMPLE.etag, [{ op: 'replace', path: '/name', value: 'Renamed' }])
    )
    t.type(err, FlowServiceError)
    t.match(err, { status: 405, operation: 'updateConnection' })
  })

  await t.test('with the documented path, the answer naming the patched id is the new ref', async (t) => {
    const { fs } = await setUp(t, { paths: 'documented-paths' })
    t.same(
      await fs.updateConnection('prod', EXAMPLE.id, EXAMPLE.etag, [{ op: 'replace', path: '/name', value: 'Renamed' }]),
      { id: EXAMPLE.id, etag: EXAMPLE.etag }
    )
  })

  await t.test(
    '[flow-client] an answer naming another id is ambiguous: the patch may have landed on the asked one',
    async (t) => {
      const { fs } = await setUp(t, { paths: 'documented-paths' })
      const err = await failure(
        fs.updateConnection('prod', ASKED_ID, EXAMPLE.etag, [{ op: 'replace', path: '/name', value: 'Renamed' }])
      )
      t.type(err, FlowServiceError)
      t.match(err, { kind: 'ambiguous', code: UNEXPECTED_ANSWER, operation: 'updateConnection' })
    }
  )
})

void t.test('deleteConnection', async (t) => {
  await t.test('[flow-client] an empty etag is refused before anything is sent', async (t) => {
    const { peer, fs } = await setUp(t, { paths: 'documented-paths' })
    const err = await failure(fs.deleteConnection('prod', EXAMPLE.id, ''))
    t.ok(err instanceof Error, 'rejects')
    t.equal(callsTo(peer, 'DELETE'), 0, 'no DELETE reached the peer')
  })

  await t.test(
    'as published, the documented DELETE path is refused (405): neither deleted nor not_found',
    async (t) => {
      const { fs } = await setUp(t)
      const err = await failure(fs.deleteConnection('prod', EXAMPLE.id, EXAMPLE.etag))
      t.type(err, FlowServiceError)
      t.match(err, { status: 405, operation: 'deleteConnection' })
    }
  )

  await t.test('with the documented path, 204 is deleted and the etag went out as If-Match', async (t) => {
    const { peer, fs } = await setUp(t, { paths: 'documented-paths' })
    t.equal(await fs.deleteConnection('prod', EXAMPLE.id, EXAMPLE.etag), 'deleted')
    t.equal(peer.requests().find((r) => r.method === 'DELETE')?.headers['if-match'], EXAMPLE.etag)
  })
})
