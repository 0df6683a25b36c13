// Pins the emulator's KV v2 to reference/vault.md. Runs against a real Vault too when VAULT_ADDR and VAULT_TOKEN are set.
import t from 'tap'
import {
  enableKvV2,
  startVaultTarget,
  uniqueName,
  vaultApi,
  vaultApiOk,
  type VaultAnswer
} from '../support/vault-setup.js'

const target = await startVaultTarget()
t.teardown(async () => {
  await target.close()
})

/** A fresh folder under secret/ for each test. */
function folder(): string {
  return uniqueName('kvtest')
}

interface Envelope {
  [field: string]: unknown
  data: { data?: unknown; metadata?: Record<string, unknown>; keys?: string[]; [field: string]: unknown }
}

function body(answer: VaultAnswer): Envelope {
  return answer.body as Envelope
}

const ENVELOPE_KEYS = [
  'auth',
  'data',
  'lease_duration',
  'lease_id',
  'mount_type',
  'renewable',
  'request_id',
  'warnings',
  'wrap_info'
]

void t.test("a write answers 200 with the envelope and the new version's metadata, uncacheable", async (t) => {
  const answer = await vaultApi(target, 'POST', `secret/data/${folder()}/a`, { data: { password: 'p1' } })
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('cache-control'), 'no-store')
  t.match(answer.headers.get('content-type'), /application\/json/)
  t.same(Object.keys(body(answer)).sort(), ENVELOPE_KEYS)
  t.match(body(answer), {
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    wrap_info: null,
    auth: null,
    mount_type: 'kv'
  })
  t.type(body(answer).request_id, 'string')
  const data = body(answer).data
  t.same(Object.keys(data).sort(), ['created_time', 'custom_metadata', 'deletion_time', 'destroyed', 'version'])
  t.match(data, { deletion_time: '', destroyed: false, version: 1 })
  t.ok(!Number.isNaN(Date.parse(String(data.created_time))))
})

void t.test('a read answers the data and the version metadata', async (t) => {
  const path = `secret/data/${folder()}/a`
  await vaultApiOk(target, 'PUT', path, { data: { user: 'u', password: 'p1' } })
  const answer = await vaultApi(target, 'GET', path)
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('cache-control'), 'no-store')
  t.same(body(answer).data.data, { user: 'u', password: 'p1' })
  t.match(body(answer).data.metadata, { version: 1, deletion_time: '', destroyed: false })
  t.same(Object.keys(body(answer).data.metadata ?? {}).sort(), [
    'created_time',
    'custom_metadata',
    'deletion_time',
    'destroyed',
    'version'
  ])
})

void t.test('not found is 404 with an empty errors list', async (t) => {
  const answer = await vaultApi(target, 'GET', `secret/data/${folder()}/missing`)
  t.equal(answer.status, 404)
  t.same(answer.body, { errors: [] })
  t.equal(answer.headers.get('cache-control'), 'no-store')
})

void t.test(
  'versions start at 1 and each write adds one; ?version=N reads that one; a missing version is 404',
  async (t) => {
    const path = `secret/data/${folder()}/a`
    for (let i = 1; i <= 3; i++)
      t.equal((await vaultApiOk(target, 'POST', path, { data: { n: String(i) } })).version, i)
    t.same(body(await vaultApi(target, 'GET', path)).data.data, { n: '3' })
    t.same(body(await vaultApi(target, 'GET', `${path}?version=2`)).data.data, { n: '2' })
    t.same(body(await vaultApi(target, 'GET', `${path}?version=0`)).data.data, { n: '3' }, 'version 0 means the latest')
    const missing = await vaultApi(target, 'GET', `${path}?version=4`)
    t.equal(missing.status, 404)
    t.same(missing.body, { errors: [] })
  }
)

void t.test('check-and-set', async (t) => {
  void t.test('cas 0 creates only', async (t) => {
    const path = `secret/data/${folder()}/a`
    t.equal((await vaultApi(target, 'POST', path, { options: { cas: 0 }, data: { a: '1' } })).status, 200)
    const again = await vaultApi(target, 'POST', path, { options: { cas: 0 }, data: { a: '2' } })
    t.equal(again.status, 400)
    t.same(again.body, { errors: ['check-and-set parameter did not match the current version'] })
  })
  void t.test('cas N writes only over version N', async (t) => {
    const path = `secret/data/${folder()}/a`
    await vaultApiOk(target, 'POST', path, { options: { cas: 0 }, data: { a: '1' } })
    t.equal((await vaultApiOk(target, 'POST', path, { options: { cas: 1 }, data: { a: '2' } })).version, 2)
    const stale = await vaultApi(target, 'POST', path, { options: { cas: 1 }, data: { a: '3' } })
    t.equal(stale.status, 400)
    t.same(stale.body, { errors: ['check-and-set parameter did not match the current version'] })
    t.same(body(await vaultApi(target, 'GET', path)).data.data, { a: '2' }, 'the refused write left nothing')
  })
  void t.test('no data is refused', async (t) => {
    const answer = await vaultApi(target, 'POST', `secret/data/${folder()}/a`, { options: { cas: 0 } })
    t.equal(answer.status, 400)
    t.same(answer.body, { errors: ['no data provided'] })
  })
  void t.test("cas required by the key's metadata", async (t) => {
    const f = folder()
    await vaultApiOk(target, 'POST', `secret/metadata/${f}/a`, { cas_required: true })
    const without = await vaultApi(target, 'POST', `secret/data/${f}/a`, { data: { a: '1' } })
    t.equal(without.status, 400)
    t.same(without.body, { errors: ['check-and-set parameter required for this call'] })
    t.equal(
      (await vaultApi(target, 'POST', `secret/data/${f}/a`, { options: { cas: 0 }, data: { a: '1' } })).status,
      200
    )
  })
  void t.test('cas required by the mount', async (t) => {
    const mount = uniqueName('kv')
    const unmount = await enableKvV2(target, mount)
    t.teardown(unmount)
    await vaultApiOk(target, 'POST', `${mount}/config`, { cas_required: true })
    t.match(await vaultApiOk(target, 'GET', `${mount}/config`), { cas_required: true })
    const without = await vaultApi(target, 'POST', `${mount}/data/a`, { data: { a: '1' } })
    t.equal(without.status, 400)
    t.same(without.body, { errors: ['check-and-set parameter required for this call'] })
    t.equal((await vaultApi(target, 'POST', `${mount}/data/a`, { options: { cas: 0 }, data: { a: '1' } })).status, 200)
  })
})

void t.test('ten versions are kept by default; older ones are gone, and reads never fall back', async (t) => {
  const f = folder()
  const path = `secret/data/${f}/a`
  for (let i = 1; i <= 12; i++) await vaultApiOk(target, 'POST', path, { data: { n: String(i) } })
  t.equal((await vaultApi(target, 'GET', `${path}?version=2`)).status, 404)
  t.same(body(await vaultApi(target, 'GET', `${path}?version=3`)).data.data, { n: '3' })
  const meta = await vaultApiOk(target, 'GET', `secret/metadata/${f}/a`)
  t.match(meta, { current_version: 12, oldest_version: 3 })
  t.same(
    Object.keys(meta.versions as object)
      .map(Number)
      .sort((a, b) => a - b),
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
  )
})

void t.test("a key's max_versions overrides the default", async (t) => {
  const f = folder()
  await vaultApiOk(target, 'POST', `secret/metadata/${f}/a`, { max_versions: 2 })
  for (let i = 1; i <= 3; i++) await vaultApiOk(target, 'POST', `secret/data/${f}/a`, { data: { n: String(i) } })
  t.equal((await vaultApi(target, 'GET', `secret/data/${f}/a?version=1`)).status, 404)
  t.match(await vaultApiOk(target, 'GET', `secret/metadata/${f}/a`), {
    current_version: 3,
    oldest_version: 2,
    max_versions: 2
  })
})

void t.test('soft delete, undelete, destroy', async (t) => {
  const f = folder()
  const path = `secret/data/${f}/a`
  await vaultApiOk(target, 'POST', path, { data: { n: '1' } })
  await vaultApiOk(target, 'POST', path, { data: { n: '2' } })

  void t.test(
    'deleting the latest answers 204 and its read a 404 with the full envelope, data null, no errors',
    async (t) => {
      const del = await vaultApi(target, 'DELETE', path)
      t.equal(del.status, 204)
      t.equal(del.body, undefined)
      const read = await vaultApi(target, 'GET', path)
      t.equal(read.status, 404)
      t.same(Object.keys(body(read)).sort(), ENVELOPE_KEYS)
      t.notOk('errors' in body(read))
      t.equal(body(read).data.data, null)
      t.match(body(read).data.metadata, { version: 2, destroyed: false })
      t.not(body(read).data.metadata?.deletion_time, '')
      t.equal((await vaultApi(target, 'GET', `${path}?version=1`)).status, 200, 'older versions stay readable')
    }
  )
  void t.test('undelete brings it back', async (t) => {
    t.equal((await vaultApi(target, 'POST', `secret/undelete/${f}/a`, { versions: [2] })).status, 204)
    t.same(body(await vaultApi(target, 'GET', path)).data.data, { n: '2' })
  })
  void t.test('delete of given versions', async (t) => {
    t.equal((await vaultApi(target, 'POST', `secret/delete/${f}/a`, { versions: [1] })).status, 204)
    t.equal((await vaultApi(target, 'GET', `${path}?version=1`)).status, 404)
    t.equal((await vaultApi(target, 'GET', path)).status, 200)
  })
  void t.test('destroy is final: 404 with destroyed true, and undelete cannot bring it back', async (t) => {
    t.equal((await vaultApi(target, 'PUT', `secret/destroy/${f}/a`, { versions: [2] })).status, 204)
    const read = await vaultApi(target, 'GET', path)
    t.equal(read.status, 404)
    t.equal(body(read).data.data, null)
    t.match(body(read).data.metadata, { version: 2, destroyed: true })
    await vaultApi(target, 'POST', `secret/undelete/${f}/a`, { versions: [2] })
    t.equal((await vaultApi(target, 'GET', path)).status, 404)
  })
  void t.test('no versions given is refused', async (t) => {
    const answer = await vaultApi(target, 'POST', `secret/destroy/${f}/a`, { versions: [] })
    t.equal(answer.status, 400)
    t.same(answer.body, { errors: ['no version number provided'] })
  })
  void t.test('deleting a missing key answers 204', async (t) => {
    t.equal((await vaultApi(target, 'DELETE', `secret/data/${folder()}/missing`)).status, 204)
  })
})

void t.test('metadata: read, write, delete of the key and all its versions', async (t) => {
  const f = folder()
  await vaultApiOk(target, 'POST', `secret/data/${f}/a`, { data: { n: '1' } })
  const meta = await vaultApi(target, 'GET', `secret/metadata/${f}/a`)
  t.equal(meta.status, 200)
  t.match(body(meta).data, {
    current_version: 1,
    cas_required: false,
    max_versions: 0,
    versions: { 1: { destroyed: false, deletion_time: '' } }
  })
  t.equal(
    (await vaultApi(target, 'POST', `secret/metadata/${f}/a`, { custom_metadata: { owner: 'broker' } })).status,
    204
  )
  t.same((await vaultApiOk(target, 'GET', `secret/metadata/${f}/a`)).custom_metadata, { owner: 'broker' })
  t.equal((await vaultApi(target, 'DELETE', `secret/metadata/${f}/a`)).status, 204)
  t.same((await vaultApi(target, 'GET', `secret/metadata/${f}/a`)).body, { errors: [] })
  t.equal((await vaultApi(target, 'GET', `secret/data/${f}/a?version=1`)).status, 404)
  t.equal((await vaultApi(target, 'DELETE', `secret/metadata/${f}/a`)).status, 204, 'deleting again is fine')
  t.equal(
    (await vaultApi(target, 'POST', `secret/data/${f}/a`, { options: { cas: 0 }, data: { n: 'x' } })).status,
    200,
    'the key can be created anew'
  )
})

void t.test('list: ?list=true and ?list=1, sub-folders end with "/", empty is 404', async (t) => {
  const f = folder()
  for (const key of ['b', 'a', 'sub/c'])
    await vaultApiOk(target, 'POST', `secret/data/${f}/${key}`, { data: { x: '1' } })
  for (const flag of ['true', '1']) {
    const answer = await vaultApi(target, 'GET', `secret/metadata/${f}/?list=${flag}`)
    t.equal(answer.status, 200)
    t.same(body(answer).data.keys, ['a', 'b', 'sub/'])
  }
  t.same(
    body(await vaultApi(target, 'GET', `secret/metadata/${f}?list=true`)).data.keys,
    ['a', 'b', 'sub/'],
    'without the trailing slash too'
  )
  const empty = await vaultApi(target, 'GET', `secret/metadata/${folder()}/?list=true`)
  t.equal(empty.status, 404)
  t.same(empty.body, { errors: [] })
})

void t.test('keys with characters that need encoding are stored under their decoded name', async (t) => {
  const f = folder()
  await vaultApiOk(target, 'POST', `secret/data/${f}/${encodeURIComponent('a b#c')}`, { data: { x: '1' } })
  t.same(body(await vaultApi(target, 'GET', `secret/metadata/${f}/?list=true`)).data.keys, ['a b#c'])
})
