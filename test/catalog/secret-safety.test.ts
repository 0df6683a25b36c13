// No error, notice or detail ever carries a secret value, whatever is wrong with the request; validation never throws.
import fc from 'fast-check'
import t from 'tap'
import type { CredentialsCheck } from '../../src/catalog/credentials-check.js'
import { catalog, secretParamNames } from '../../src/catalog/catalog.js'
import { validateCredentials } from '../../src/catalog/validate-credentials.js'
import type { AuthSpec, ConnectionSpec } from '../../src/catalog/types.js'

/** The text a caller or a log could see besides the params themselves. */
function visibleText(c: CredentialsCheck): string {
  return c.ok ? JSON.stringify(c.notices) : JSON.stringify({ detail: c.detail, errors: c.errors })
}

/** Finds the value, its JSON-escaped form, or a 12-character prefix of either (a truncated echo is a leak too). */
function leaks(text: string, secret: string): boolean {
  const escaped = JSON.stringify(secret).slice(1, -1)
  return [secret, escaped, secret.slice(0, 12), escaped.slice(0, 12)].some((s) => s.length >= 8 && text.includes(s))
}

function distinctive(spec: ConnectionSpec, auth: AuthSpec, name: string): string {
  return `S3CRET-${spec.name.replace(/\W/g, '')}-${auth.name.replace(/\W/g, '')}-${name}-q7Zk`
}

/** A valid value for each non-secret param (realistic), a distinctive one for each secret param. */
function validParams(spec: ConnectionSpec, auth: AuthSpec): Record<string, unknown> {
  const good: Record<string, string | boolean> = {
    environmentUrl: 'https://acme.my.salesforce.com',
    instanceUrl: 'https://acme.my.salesforce.com',
    apiVersion: '60.0',
    includeDeletedObjects: true,
    host: spec.name === 'Salesforce Marketing Cloud' ? 'acme.rest.marketingcloudapis.com' : 'acme.custhelp.com',
    subdomain: 'acme',
    username: 'api.user',
    clientId: 'client-id'
  }
  return Object.fromEntries(auth.params.map((p) => [p.name, p.secret ? distinctive(spec, auth, p.name) : good[p.name]]))
}

void t.test('the leak detector finds a value, its JSON-escaped form and a truncated echo', async (t) => {
  t.ok(leaks('got "S3CRET-pass-q7Zk"', 'S3CRET-pass-q7Zk'))
  t.ok(leaks('got "S3CRET-\\"quoted"', 'S3CRET-"quoted'))
  t.ok(leaks('got "S3CRET-pass-q7…"', 'S3CRET-pass-q7Zk-and-much-more'))
  t.notOk(leaks('nothing here', 'S3CRET-pass-q7Zk'))
})

const variants = catalog.flatMap((spec) => spec.authSpecs.map((auth) => ({ spec, auth })))

void t.test('the distinctive-secret bodies are valid to start with', async (t) => {
  for (const { spec, auth } of variants) {
    const c = validateCredentials({
      connectionSpec: { id: spec.id, version: '1.0' },
      auth: { specName: auth.name, params: validParams(spec, auth) }
    })
    t.ok(c.ok, `${spec.name} / ${auth.name}`)
  }
})

void t.test('no secret value appears in any error or notice, for every kind of mistake around it', async (t) => {
  for (const { spec, auth } of variants) {
    const base = validParams(spec, auth)
    const secrets = auth.params.filter((p) => p.secret).map((p) => p.name)
    const otherAuth = spec.authSpecs.find((a) => a !== auth)
    const mutations: Array<[string, CredentialsInput]> = []
    const body = (
      params: Record<string, unknown>,
      over: Partial<{ id: string; version: string; specName: string }> = {}
    ): CredentialsInput => ({
      connectionSpec: { id: over.id ?? spec.id, version: over.version ?? '1.0' },
      auth: { specName: over.specName ?? auth.name, params }
    })
    type CredentialsInput = Parameters<typeof validateCredentials>[0]

    mutations.push(['unknown spec id', body(base, { id: 'not-a-spec' })])
    mutations.push(['unknown version', body(base, { version: '9.9' })])
    mutations.push(['unknown auth spec', body(base, { specName: 'Nope' })])
    if (otherAuth !== undefined)
      mutations.push(['the other auth spec of the source', body(base, { specName: otherAuth.name })])
    for (const p of auth.params) {
      const { [p.name]: _dropped, ...without } = base
      mutations.push([`${p.name} missing`, body(without)])
      mutations.push([`${p.name} a number`, body({ ...base, [p.name]: 12345678 })])
      if (!p.secret) mutations.push([`${p.name} malformed`, body({ ...base, [p.name]: 'http://nope nope/?' })])
    }
    for (const name of secrets) {
      const secret = String(base[name])
      mutations.push([`${name} with whitespace`, body({ ...base, [name]: ` ${secret}\n` })])
      mutations.push([`${name} overlong`, body({ ...base, [name]: secret + 'x'.repeat(5000) })])
      mutations.push([`${name} in the wrong case`, body({ ...base, [name.toUpperCase()]: secret })])
      mutations.push([`${name} under an unknown name`, body({ ...base, token: secret, client_secret: secret })])
      mutations.push([`${name} wrapped in an object`, body({ ...base, [name]: { value: secret } })])
      mutations.push([`${name} in an array`, body({ ...base, [name]: [secret] })])
    }
    for (const name of secretParamNames()) {
      if (auth.params.some((p) => p.name === name)) continue
      mutations.push([
        `${name}, a secret of another auth spec, sent here`,
        body({ ...base, [name]: `S3CRET-foreign-${name}-q7Zk` })
      ])
    }
    for (const [label, input] of mutations) {
      const c = validateCredentials(input)
      const text = visibleText(c)
      const sentSecrets = Object.values(input.auth.params).flatMap(
        (v) => JSON.stringify(v).match(/S3CRET-[^"\\]*/g) ?? []
      )
      for (const s of sentSecrets) t.notOk(leaks(text, s), `${spec.name} / ${auth.name}: ${label}`, { text })
    }
  }
})

void t.test('property: arbitrary params never make validation throw, and never echo a secret', async (t) => {
  const names = [...new Set(catalog.flatMap((s) => s.authSpecs.flatMap((a) => a.params.map((p) => p.name))))]
  const secretNames = new Set(secretParamNames())
  const marker = 'Qx7-secret-'
  const secretValue = fc.string({ maxLength: 60 }).map((s) => marker + s)
  const anyValue = fc.oneof(
    fc.jsonValue(),
    fc.string({ maxLength: 5000 }),
    fc.constantFrom('', ' ', 'true', '60', 'https://acme.my.salesforce.com/')
  )
  const key = fc.oneof(
    fc.constantFrom(...names),
    fc.constantFrom(...names).map((n) => n.toUpperCase()),
    fc.string({ maxLength: 20 }),
    fc.constant('__proto__')
  )
  const entry = fc
    .tuple(key, fc.boolean(), secretValue, anyValue)
    // Secret-looking values go under secret names and unknown names; known non-secret params may legitimately be echoed.
    .map(([k, secret, sv, v]) => [k, secretNames.has(k) || (!names.includes(k) && secret) ? sv : v] as const)
  const params = fc.array(entry, { maxLength: 12 }).map((entries) => {
    const o: Record<string, unknown> = {}
    for (const [k, v] of entries)
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
    return o
  })
  const variant = fc.constantFrom(...variants)
  const specName = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('basic authentication', 'OAuth 2 Client Credential')
  )
  const id = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(' B66AB34-8619-49CB-96D1-39B37EDE86EA', 'nope'),
    fc.string()
  )

  fc.assert(
    fc.property(variant, params, specName, id, ({ spec, auth }, p, name, otherId) => {
      const c = validateCredentials({
        connectionSpec: { id: otherId ?? spec.id, version: '1.0' },
        auth: { specName: name ?? auth.name, params: p }
      })
      const text = visibleText(c)
      for (const v of Object.values(p)) {
        if (typeof v === 'string' && v.startsWith(marker) && v.length >= 16 && leaks(text, v)) return false
      }
      if (c.ok) {
        for (const [k, v] of Object.entries(c.publicParams))
          if (secretNames.has(k) || (typeof v === 'string' && v.startsWith(marker))) return false
        for (const k of Object.keys(c.secretParams)) if (c.secretParams[k] !== p[k]) return false
      }
      return true
    }),
    { numRuns: 3000 }
  )
  t.pass('3000 random requests')
})
