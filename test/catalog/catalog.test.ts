// Invariants of the catalogue data that validation, redaction and the API rely on.
import t from 'tap'
import { Value } from 'typebox/value'
import { catalog } from '../../src/catalog/catalog.js'
import { normaliseParamValue } from '../../src/catalog/normalise-param-value.js'
import { authSpecKey } from '../../src/catalog/resolve-auth-spec.js'
import { ConnectionSpec } from '../../src/catalog/types.js'

void t.test('every connection spec matches the catalogue schema', async (t) => {
  for (const spec of catalog) t.ok(Value.Check(ConnectionSpec, spec), spec.name)
})

void t.test('ids and aliases are unique, lower-case, and no alias is a real id', async (t) => {
  const all = catalog.flatMap((s) => [s.id, ...s.aliases.map((a) => a.id)])
  t.equal(new Set(all).size, all.length)
  for (const id of all) t.equal(id, id.toLowerCase(), id)
})

void t.test('auth spec names of one source stay distinct when case, spacing and punctuation are ignored', async (t) => {
  for (const spec of catalog) {
    const keys = spec.authSpecs.map((a) => authSpecKey(a.name))
    t.equal(new Set(keys).size, keys.length, spec.name)
  }
})

void t.test('a param name is secret everywhere or nowhere (redaction works by name)', async (t) => {
  const secretness = new Map<string, Set<boolean>>()
  for (const p of catalog.flatMap((s) => s.authSpecs.flatMap((a) => a.params))) {
    secretness.set(p.name, (secretness.get(p.name) ?? new Set()).add(p.secret))
  }
  for (const [name, flags] of secretness) t.equal(flags.size, 1, name)
})

void t.test('secret params are free text: no format rewrites a secret', async (t) => {
  for (const spec of catalog) {
    for (const auth of spec.authSpecs) {
      for (const p of auth.params.filter((q) => q.secret))
        t.equal(p.format, 'text', `${spec.name} / ${auth.name} / ${p.name}`)
    }
  }
})

void t.test('every example passes its own format unchanged', async (t) => {
  for (const spec of catalog) {
    for (const auth of spec.authSpecs) {
      for (const p of auth.params.filter((q) => q.example !== undefined)) {
        t.same(
          normaliseParamValue(p, p.example),
          { ok: true, value: p.example, notes: [] },
          `${spec.name} / ${auth.name} / ${p.name}`
        )
      }
    }
  }
})
