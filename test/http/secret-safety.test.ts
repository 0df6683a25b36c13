// Secrets never reach a response, a log line, an audit row or a database column — with either secret store.
// Distinctive values are sent through every auth variant, then searched for everywhere they must not be.
import t, { type Test } from 'tap'
import { catalog } from '../../src/catalog/catalog.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'
import { startVaultTarget, usingRealVault, vaultApiOk, type VaultTarget } from '../support/vault-setup.js'

const EXAMPLES: Record<string, string> = {
  environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
  instanceUrl: 'https://acme-enterprise-3126.my.salesforce.com',
  apiVersion: '60.0',
  host: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com',
  subdomain: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst',
  includeDeletedObjects: 'true'
}

interface Variant {
  label: string
  body: Record<string, unknown>
  secrets: Record<string, string>
}

/** One body per auth spec of every source, with a unique, greppable value for each secret param. */
function everyVariant(): Variant[] {
  return catalog.flatMap((spec) =>
    spec.authSpecs.map((auth) => {
      const secrets: Record<string, string> = {}
      const params: Record<string, string | boolean> = {}
      for (const p of auth.params) {
        if (p.secret) {
          secrets[p.name] =
            `S3cr3t-${p.name}-${Math.random().toString(36).slice(2, 10)}-${spec.name.replace(/\W/g, '')}`
          params[p.name] = secrets[p.name] ?? ''
        } else if (p.format === 'boolean') params[p.name] = true
        else params[p.name] = EXAMPLES[p.name] ?? `value-of-${p.name}`
      }
      return {
        label: `${spec.name} / ${auth.name}`,
        body: {
          name: `leak check ${spec.name} ${auth.name}`,
          auth: { specName: auth.name, params },
          connectionSpec: { id: spec.id, version: '1.0' }
        },
        secrets
      }
    })
  )
}

async function exercise(t: Test, b: TestBroker, variants: Variant[]): Promise<string[]> {
  const seen: string[] = []
  for (const v of variants) {
    const created = await b.request({ method: 'POST', url: '/v1/connections', body: v.body })
    t.equal(created.statusCode, 201, `${v.label}: created`)
    seen.push(created.body)
    const id = created.json<{ id: string }>().id
    await b.waitForState(id, 'enabled')
    for (const url of [`/v1/connections/${id}`, `/v1/connections/${id}/events`, '/v1/connections?limit=100']) {
      seen.push((await b.request({ method: 'GET', url })).body)
    }
    // A bad request that carries the same secrets must not echo them either.
    const bad = {
      ...v.body,
      connectionSpec: { id: 'not-a-spec', version: '1.0' },
      auth: { ...(v.body.auth as object), params: { ...(v.body.auth as { params: object }).params, bogus: 'x' } }
    }
    seen.push((await b.request({ method: 'POST', url: '/v1/connections', body: bad })).body)
  }
  return seen
}

function assertNoSecret(t: Test, variants: Variant[], where: string, text: string): void {
  const leaks = variants.flatMap((v) => Object.values(v.secrets).filter((s) => text.includes(s)))
  t.same(leaks, [], `no secret value in ${where}`)
}

void t.test('local store: no secret in responses, logs, or any database row', async (t) => {
  const b = await startTestBroker(t, { readyDelayMs: 0 })
  const variants = everyVariant()
  t.equal(variants.length, 8, 'every auth variant of every source')
  const responses = await exercise(t, b, variants)
  assertNoSecret(t, variants, 'responses', responses.join('\n'))
  assertNoSecret(t, variants, 'log output', b.logs())
  assertNoSecret(t, variants, 'the database dump (every table)', await b.dumpDatabase())
  // ...yet they were kept, and Flow Service received them.
  for (const v of variants) {
    const downstream = b.emulator.control.storedConnections().find((c) => c.name === v.body.name)
    t.same(
      Object.fromEntries(Object.keys(v.secrets).map((k) => [k, downstream?.auth.params[k]])),
      v.secrets,
      `${v.label}: Flow Service got the secrets`
    )
  }
})

void t.test('seed bodies: placeholders that look like secrets are kept out of clear columns too', async (t) => {
  const b = await startTestBroker(t, { readyDelayMs: 0 })
  const res = await b.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.salesforceJwt })
  t.equal(res.statusCode, 201)
  const dump = await b.dumpDatabase()
  t.notOk(dump.includes('{JWT_TOKEN}'), 'the JWT placeholder is not in the database in clear')
})

void t.test('vault store: secrets sit in Vault under the connection key, and nowhere else', async (t) => {
  const vault: VaultTarget = await startVaultTarget()
  t.teardown(async () => {
    await vault.close()
  })
  const prefix = `cb-test-${Math.random().toString(36).slice(2, 8)}`
  const b = await startTestBroker(t, {
    readyDelayMs: 0,
    env: { SECRET_STORE: 'vault', VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, VAULT_PATH_PREFIX: prefix }
  })
  t.equal(b.broker.secrets.kind, 'vault')
  const variants = everyVariant()
  const responses = await exercise(t, b, variants)
  assertNoSecret(t, variants, 'responses', responses.join('\n'))
  assertNoSecret(t, variants, 'log output', b.logs())
  assertNoSecret(t, variants, 'the database dump (every table)', await b.dumpDatabase())
  const listed = await b.request({ method: 'GET', url: '/v1/connections?limit=100' })
  for (const item of listed.json<{
    items: Array<{ id: string; name: string; auth: { params: Record<string, string> } }>
  }>().items) {
    const v = variants.find((x) => x.body.name === item.name)
    if (v === undefined) continue
    const stored = await vaultApiOk(vault, 'GET', `secret/data/${prefix}/connections/${item.id}`)
    t.same(stored.data, v.secrets, `${v.label}: data.data holds exactly the secret params`)
    for (const name of Object.keys(v.secrets)) {
      t.equal(
        item.auth.params[name],
        `vault:secret/${prefix}/connections/${item.id}#${name}@v1`,
        `${v.label}: ${name} shown as a vault reference`
      )
    }
  }
})

void t.test(
  'vault sealed or unreachable during create: 503 with Retry-After, nothing created downstream, nothing left active',
  { skip: usingRealVault() ? 'needs the emulator switches' : false },
  async (t) => {
    const vault = await startVaultTarget()
    t.teardown(async () => {
      await vault.close()
    })
    const b = await startTestBroker(t, {
      env: { SECRET_STORE: 'vault', VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, VAULT_TIMEOUT_MS: '500' }
    })
    const control = vault.emulator?.control
    if (control === undefined) throw new Error('emulator expected')
    for (const [label, breakIt, fixIt] of [
      [
        'sealed',
        async () => {
          control.seal()
        },
        async () => {
          control.unseal()
        }
      ],
      [
        'unreachable',
        async () => {
          await control.setUnreachable('refuse')
        },
        async () => {
          await control.setUnreachable(false)
        }
      ]
    ] as const) {
      await breakIt()
      const res = await b.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.salesforceOAuth })
      t.equal(res.statusCode, 503, `${label}: 503`)
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', `${label}: problem+json`)
      t.ok(res.headers['retry-after'], `${label}: Retry-After`)
      t.equal(b.emulator.control.callCounts().create, 0, `${label}: no downstream call`)
      const id = res.json<{ connectionId?: string }>().connectionId
      const rows = await b.broker.database.db.selectFrom('connections').select(['state']).execute()
      t.ok(
        rows.every((r) => r.state === 'failed'),
        `${label}: no connection left looking active (${id ?? 'no id'})`
      )
      await fixIt()
    }
    const ok = await b.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.salesforceOAuth })
    t.equal(ok.statusCode, 201, 'works again once Vault is back')
  }
)
