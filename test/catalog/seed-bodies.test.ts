// The request bodies of Adobe's five tutorials (shared/seeds), once their JSON is repaired, must be accepted.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { fromRoot } from '../support/project-root.js'
import { validateCredentials, type CredentialsInput } from '../../src/catalog/validate-credentials.js'

/**
 * The bodies as the seeds print them, with only their JSON repaired (see `repair`). Kept here so the
 * suite stands alone; the first test checks them against the seed files when those are beside the repo.
 */
const seedBodies: Record<string, CredentialsInput> = {
  'Marketing Cloud (000): host is the bare subdomain': {
    auth: {
      specName: 'Client-Id-Secret Based Authentication',
      params: {
        host: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst',
        clientId: 'acme-salesforce-marketing-cloud',
        clientSecret: 'xxxx'
      }
    },
    connectionSpec: { id: 'ea1c2a08-b722-11eb-8529-0242ac130003', version: '1.0' }
  },
  'Service Cloud (001): mistyped connection spec id': {
    auth: {
      specName: 'Basic Authentication',
      params: { username: '{USERNAME}', password: '{PASSWORD}', securityToken: '{SECURITY_TOKEN}' }
    },
    connectionSpec: { id: 'b66ab34-8619-49cb-96d1-39b37ede86ea', version: '1.0' }
  },
  'Salesforce (002): Basic Authentication': {
    auth: {
      specName: 'Basic Authentication',
      params: {
        environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
        username: 'acme-salesforce',
        password: 'xxxx',
        securityToken: 'xxxx'
      }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  },
  'Salesforce (002): OAuth2 Client Credential': {
    auth: {
      specName: 'OAuth2 Client Credential',
      params: {
        environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
        clientId: 'xxxx',
        clientSecret: 'xxxx',
        apiVersion: '60.0'
      }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  },
  'Salesforce (002): OAuth2 JWT Token Credential': {
    auth: {
      specName: 'OAuth2 JWT Token Credential',
      params: {
        jwtToken: '{JWT_TOKEN}',
        clientId: 'xxxx',
        clientSecret: 'xxxx',
        instanceUrl: 'https://acme-enterprise-3126.my.salesforce.com'
      }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  },
  'Salesforce (003): Basic Authentication without environmentUrl': {
    auth: {
      specName: 'Basic Authentication',
      params: { username: '{USERNAME}', password: '{PASSWORD}', securityToken: '{SECURITY_TOKEN}' }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  },
  'Oracle Service Cloud (004): host is a placeholder': {
    auth: {
      specName: 'Basic Authentication',
      params: { host: '{HOST}', username: '{USERNAME}', password: '{PASSWORD}' }
    },
    connectionSpec: { id: 'ba5126ec-c9ac-11eb-b8bc-0242ac130003', version: '1.0' }
  }
}

/** The three JSON faults of the seeds: `"params":` without `{`, a missing comma after `host`, an unterminated `"{JWT_TOKEN}`. */
function repair(body: string): string {
  return body
    .replace(/"params":(\s*\n\s*)"/g, '"params": {$1"')
    .replace(/"(\s*\n\s*)"/g, '",$1"')
    .replace(/"(\{[A-Z_]+\}),/g, '"$1",')
}

const seedsDir = fromRoot('../shared/seeds')

void t.test(
  'the bodies above are exactly the seeds’ request bodies, repaired',
  { skip: existsSync(seedsDir) ? false : 'shared/seeds is not beside the repo' },
  async (t) => {
    const fromSeeds: unknown[] = []
    for (const file of readdirSync(seedsDir).sort()) {
      const text = readFileSync(path.join(seedsDir, file), 'utf8')
      for (const m of text.matchAll(/-d '(\{[\s\S]*?\})'/g)) {
        const parsed = JSON.parse(repair(m[1] ?? '')) as Record<string, unknown>
        fromSeeds.push({ auth: parsed.auth, connectionSpec: parsed.connectionSpec })
      }
    }
    t.same(fromSeeds, Object.values(seedBodies))
  }
)

void t.test('every seed body is accepted', async (t) => {
  for (const [label, body] of Object.entries(seedBodies)) {
    const c = validateCredentials(body)
    t.ok(c.ok, label, c.ok ? {} : { errors: c.errors })
  }
})

void t.test('the seeds’ known faults are met with a notice, and nothing else is changed', async (t) => {
  const notices = Object.fromEntries(
    Object.entries(seedBodies).map(([label, body]) => {
      const c = validateCredentials(body)
      return [label, c.ok ? c.notices.map((n) => n.path) : ['rejected']]
    })
  )
  t.same(notices, {
    'Marketing Cloud (000): host is the bare subdomain': ['/auth/params/host'],
    'Service Cloud (001): mistyped connection spec id': ['/connectionSpec/id'],
    'Salesforce (002): Basic Authentication': [],
    'Salesforce (002): OAuth2 Client Credential': [],
    'Salesforce (002): OAuth2 JWT Token Credential': [],
    'Salesforce (003): Basic Authentication without environmentUrl': [],
    'Oracle Service Cloud (004): host is a placeholder': []
  })
  const mc = validateCredentials(seedBodies['Marketing Cloud (000): host is the bare subdomain'] as CredentialsInput)
  t.equal(mc.ok && mc.params.host, 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com')
  const sc = validateCredentials(seedBodies['Service Cloud (001): mistyped connection spec id'] as CredentialsInput)
  t.equal(sc.ok && sc.spec.id, 'cb66ab34-8619-49cb-96d1-39b37ede86ea')
})
