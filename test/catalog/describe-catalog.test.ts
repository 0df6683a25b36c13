// Specification of GET /v1/connection-specs' view of the catalogue.
import t from 'tap'
import { Value } from 'typebox/value'
import { catalog } from '../../src/catalog/catalog.js'
import { ConnectionSpecList, describeCatalog } from '../../src/catalog/describe-catalog.js'
import type { ConnectionSpec } from '../../src/catalog/types.js'

void t.test('the view matches its own schema', async (t) => {
  const view = describeCatalog()
  t.ok(Value.Check(ConnectionSpecList, view), JSON.stringify([...Value.Errors(ConnectionSpecList, view)].slice(0, 3)))
})

void t.test('every source, auth spec and param of the catalogue is listed, in catalogue order', async (t) => {
  const view = describeCatalog()
  t.same(
    view.items.map((i) => i.id),
    catalog.map((s) => s.id)
  )
  for (const [i, spec] of catalog.entries()) {
    const item = view.items[i]
    t.same(
      item?.authSpecs.map((a) => a.name),
      spec.authSpecs.map((a) => a.name),
      spec.name
    )
    for (const [j, auth] of spec.authSpecs.entries()) {
      t.same(
        item?.authSpecs[j]?.params.map((p) => [p.name, p.required, p.secret, p.format]),
        auth.params.map((p) => [p.name, p.required, p.secret, p.format]),
        `${spec.name} / ${auth.name}`
      )
    }
  }
})

void t.test('Salesforce Basic Authentication shows which params are secret and required', async (t) => {
  const basic = describeCatalog()
    .items.find((i) => i.name === 'Salesforce')
    ?.authSpecs.find((a) => a.name === 'Basic Authentication')
  t.match(basic?.deprecated, /deprecation of basic authentication/)
  t.same(
    basic?.params.map((p) => `${p.name}${p.required ? '' : '?'}${p.secret ? ' (secret)' : ''}`),
    ['environmentUrl?', 'username', 'password (secret)', 'securityToken (secret)', 'apiVersion?']
  )
})

void t.test('aliases, beta and deprecation are shown; availability only where it applies', async (t) => {
  const view = describeCatalog()
  const byName = new Map(view.items.map((i) => [i.name, i]))
  t.same(
    byName.get('Salesforce Service Cloud')?.aliases.map((a) => a.id),
    ['b66ab34-8619-49cb-96d1-39b37ede86ea']
  )
  t.equal(byName.get('Oracle Service Cloud')?.beta, true)
  t.notOk('beta' in (byName.get('Salesforce') ?? {}))
  t.match(byName.get('Salesforce Marketing Cloud')?.deprecated, /deprecation/)
  const jwt = byName.get('Salesforce')?.authSpecs.find((a) => a.name === 'OAuth2 JWT Token Credential')
  t.equal(jwt?.availability, 'Experience Platform on Amazon Web Services only.')
  t.notOk('availability' in (byName.get('Salesforce')?.authSpecs[0] ?? {}))
})

void t.test('fields the view does not declare are not served, even if the data grows them', async (t) => {
  const grown = [
    {
      ...catalog[0],
      internalNote: 'x',
      authSpecs: catalog[0]?.authSpecs.map((a) => ({ ...a, vaultField: 'y' }))
    } as unknown as ConnectionSpec
  ]
  const view = describeCatalog(grown)
  t.notMatch(JSON.stringify(view), /internalNote|vaultField/)
  t.ok(Value.Check(ConnectionSpecList, view))
})
