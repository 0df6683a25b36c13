// Specification of validateCredentials: what each source accepts, how a request's spec, version and auth spec resolve.
import t from 'tap'
import type { AcceptedCredentials, CredentialsCheck, RejectedCredentials } from '../../src/catalog/credentials-check.js'
import { catalog } from '../../src/catalog/catalog.js'
import { validateCredentials } from '../../src/catalog/validate-credentials.js'

const SALESFORCE = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'
const SERVICE_CLOUD = 'cb66ab34-8619-49cb-96d1-39b37ede86ea'
const MARKETING_CLOUD = 'ea1c2a08-b722-11eb-8529-0242ac130003'
const ORACLE = 'ba5126ec-c9ac-11eb-b8bc-0242ac130003'

function check(id: string, specName: string, params: Record<string, unknown>, version = '1.0'): CredentialsCheck {
  return validateCredentials({ connectionSpec: { id, version }, auth: { specName, params } })
}
function accepted(c: CredentialsCheck): AcceptedCredentials {
  if (!c.ok) throw new Error(`expected acceptance, got ${JSON.stringify(c)}`)
  return c
}
function rejected(c: CredentialsCheck): RejectedCredentials {
  if (c.ok) throw new Error(`expected rejection, got ${JSON.stringify(c)}`)
  return c
}

/** A realistic body for every auth spec of every source, as a team would send it. */
const realistic: Array<{ id: string; specName: string; params: Record<string, string | boolean> }> = [
  {
    id: SALESFORCE,
    specName: 'Basic Authentication',
    params: {
      environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
      username: 'integration@acme.com',
      password: 'Tr0ub4dor&3',
      securityToken: 'aBcD3fGh1jKlMn0pQrStUvWx',
      apiVersion: '60.0'
    }
  },
  {
    id: SALESFORCE,
    specName: 'OAuth2 Client Credential',
    params: {
      environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
      clientId: '3MVG9GCMQoQ6rpzS9G2wBKFe5sc',
      clientSecret: 'F00DBABE1234567890ABCDEF',
      apiVersion: '60.0',
      includeDeletedObjects: true
    }
  },
  {
    id: SALESFORCE,
    specName: 'OAuth2 JWT Token Credential',
    params: {
      jwtToken: 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIzTVZHOSJ9.c2lnbmF0dXJl',
      clientId: '3MVG9GCMQoQ6rpzS9G2wBKFe5sc',
      clientSecret: 'F00DBABE1234567890ABCDEF',
      instanceUrl: 'https://adb8-dev-ed.develop.my.salesforce.com'
    }
  },
  {
    id: SERVICE_CLOUD,
    specName: 'Basic Authentication',
    params: {
      environmentUrl: 'https://acme--uat.sandbox.my.salesforce.com',
      username: 'support@acme.com.uat',
      password: 'c0rrect-h0rse',
      securityToken: 'Zz9Yy8Xx7Ww6Vv5Uu4Tt3'
    }
  },
  {
    id: SERVICE_CLOUD,
    specName: 'OAuth2 Client Credential',
    params: {
      environmentUrl: 'https://acme.my.salesforce.com',
      clientId: '3MVG9serviceCloudApp',
      clientSecret: 'C0FFEE0987654321',
      apiVersion: '59.0'
    }
  },
  {
    id: MARKETING_CLOUD,
    specName: 'Client-Id-Secret Based Authentication',
    params: {
      host: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com',
      clientId: 'k3x9q2w8e7r6t5y4u3i2o1p0',
      clientSecret: 'mcS3cretV4lue'
    }
  },
  {
    id: MARKETING_CLOUD,
    specName: 'OAuth2 Client Credential',
    params: {
      subdomain: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst',
      clientId: 'k3x9q2w8e7r6t5y4u3i2o1p0',
      clientSecret: 'mcS3cretV4lue'
    }
  },
  {
    id: ORACLE,
    specName: 'Basic Authentication',
    params: { host: 'acme.custhelp.com', username: 'api.user', password: 'oracle-Pa55' }
  }
]

void t.test('every auth spec of every source has a realistic body in this specification', async (t) => {
  for (const spec of catalog) {
    for (const auth of spec.authSpecs) {
      t.ok(
        realistic.some((r) => r.id === spec.id && r.specName === auth.name),
        `${spec.name} / ${auth.name}`
      )
    }
  }
})

void t.test('a realistic body is accepted as is, with its params split by the catalogue secret flag', async (t) => {
  for (const body of realistic) {
    const c = accepted(check(body.id, body.specName, body.params))
    const label = `${c.spec.name} / ${c.authSpec.name}`
    t.equal(c.spec.id, body.id, `${label}: spec`)
    t.equal(c.authSpec.name, body.specName, `${label}: auth spec`)
    t.equal(c.version, '1.0', `${label}: version`)
    t.same(c.notices, [], `${label}: nothing normalised`)
    t.same(c.params, body.params, `${label}: params unchanged`)
    const secretNames = c.authSpec.params
      .filter((p) => p.secret)
      .map((p) => p.name)
      .sort()
    t.same(Object.keys(c.secretParams).sort(), secretNames, `${label}: secretParams holds exactly the secret params`)
    t.same({ ...c.publicParams, ...c.secretParams }, c.params, `${label}: public + secret = all params`)
    for (const name of Object.keys(c.publicParams)) t.notOk(secretNames.includes(name), `${label}: ${name} is public`)
  }
})

void t.test('secret params are kept verbatim, as strings', async (t) => {
  const c = accepted(
    check(SALESFORCE, 'Basic Authentication', { username: 'u', password: ' pass with spaces\t', securityToken: 'tok' })
  )
  t.equal(c.secretParams.password, ' pass with spaces\t')
  t.equal(c.params.password, ' pass with spaces\t')
})

void t.test('optional params may be left out', async (t) => {
  const c = accepted(check(SALESFORCE, 'Basic Authentication', { username: 'u', password: 'p', securityToken: 's' }))
  t.same(Object.keys(c.params).sort(), ['password', 'securityToken', 'username'])
  t.same(c.notices, [])
})

void t.test('connectionSpec.id', async (t) => {
  await t.test('an unknown id is rejected with every accepted id and its source name', async (t) => {
    const c = rejected(check('00000000-0000-0000-0000-000000000000', 'Basic Authentication', {}))
    t.equal(c.reason, 'unknown_connection_spec')
    t.equal(c.errors.length, 1)
    t.equal(c.errors[0]?.path, '/connectionSpec/id')
    t.match(c.errors[0]?.message, /Unknown connection spec id "00000000-0000-0000-0000-000000000000"/)
    for (const spec of catalog) t.match(c.errors[0]?.message, `${spec.id} (${spec.name}`)
    t.match(c.errors[0]?.message, 'Oracle Service Cloud, beta')
  })
  await t.test('a non-string id is rejected the same way', async (t) => {
    const c = rejected(
      validateCredentials({ connectionSpec: { id: 42, version: '1.0' }, auth: { specName: 'x', params: {} } } as never)
    )
    t.equal(c.reason, 'unknown_connection_spec')
    t.match(c.errors[0]?.message, /must be a string/)
  })
  await t.test("the Service Cloud tutorial's typo resolves to the real id, with a notice saying why", async (t) => {
    const c = accepted(
      check('b66ab34-8619-49cb-96d1-39b37ede86ea', 'Basic Authentication', {
        username: 'u',
        password: 'p',
        securityToken: 's'
      })
    )
    t.equal(c.spec.id, SERVICE_CLOUD)
    t.same(
      c.notices.map((n) => n.path),
      ['/connectionSpec/id']
    )
    t.match(
      c.notices[0]?.message,
      /b66ab34-8619-49cb-96d1-39b37ede86ea was replaced by cb66ab34-8619-49cb-96d1-39b37ede86ea \(Salesforce Service Cloud\)/
    )
    t.match(c.notices[0]?.message, /without its leading 'c'/)
  })
  await t.test('the alias is matched without case or surrounding whitespace too', async (t) => {
    const c = accepted(
      check(' B66AB34-8619-49CB-96D1-39B37EDE86EA ', 'Basic Authentication', {
        username: 'u',
        password: 'p',
        securityToken: 's'
      })
    )
    t.equal(c.spec.id, SERVICE_CLOUD)
  })
  await t.test('ids compare case-insensitively and trimmed; the canonical id is reported', async (t) => {
    const c = accepted(
      check(`  ${SALESFORCE.toUpperCase()}\n`, 'Basic Authentication', {
        username: 'u',
        password: 'p',
        securityToken: 's'
      })
    )
    t.equal(c.spec.id, SALESFORCE)
    t.equal(c.notices.length, 1)
    t.equal(c.notices[0]?.path, '/connectionSpec/id')
    t.match(c.notices[0]?.message, `canonical form ${SALESFORCE} (Salesforce)`)
  })
  await t.test('an unknown id that is long is described, not echoed', async (t) => {
    const c = rejected(check('z'.repeat(500), 'Basic Authentication', {}))
    t.notMatch(c.errors[0]?.message, 'z'.repeat(65))
    t.match(c.errors[0]?.message, /500-character value, not shown/)
  })
})

void t.test('connectionSpec.version', async (t) => {
  await t.test('an unknown version is rejected with the accepted ones', async (t) => {
    const c = rejected(
      check(SALESFORCE, 'Basic Authentication', { username: 'u', password: 'p', securityToken: 's' }, '2.0')
    )
    t.equal(c.reason, 'unknown_version')
    t.same(c.errors, [
      { path: '/connectionSpec/version', message: 'Unknown version "2.0" for Salesforce. Accepted: "1.0".' }
    ])
    t.match(c.detail, /"1.0"/)
  })
  await t.test(
    'param errors are reported along with a wrong version, so one round trip shows everything',
    async (t) => {
      const c = rejected(check(SALESFORCE, 'Basic Authentication', { username: 'u' }, '2.0'))
      t.equal(c.reason, 'unknown_version')
      t.same(
        c.errors.map((e) => e.path),
        ['/connectionSpec/version', '/auth/params/password', '/auth/params/securityToken']
      )
    }
  )
  await t.test('a bare major version is written with its decimal, with a notice', async (t) => {
    const c = accepted(
      check(SALESFORCE, 'Basic Authentication', { username: 'u', password: 'p', securityToken: 's' }, '1')
    )
    t.equal(c.version, '1.0')
    t.same(c.notices, [{ path: '/connectionSpec/version', message: 'connectionSpec.version "1" written as "1.0".' }])
  })
})

void t.test('auth.specName', async (t) => {
  const params = { username: 'u', password: 'p', securityToken: 's' }
  await t.test('an unknown name is rejected with the names this source accepts', async (t) => {
    const c = rejected(check(SALESFORCE, 'Password Authentication', params))
    t.equal(c.reason, 'unknown_auth_spec')
    t.equal(c.errors.length, 1)
    t.equal(c.errors[0]?.path, '/auth/specName')
    t.match(
      c.errors[0]?.message,
      'Unknown auth spec "Password Authentication" for Salesforce. Accepted: "Basic Authentication", "OAuth2 Client Credential" and "OAuth2 JWT Token Credential".'
    )
  })
  await t.test('a case or spacing variant resolves to the canonical name with a notice', async (t) => {
    for (const variant of ['basic authentication', ' Basic  Authentication ', 'BASIC AUTHENTICATION']) {
      const c = accepted(check(SALESFORCE, variant, params))
      t.equal(c.authSpec.name, 'Basic Authentication', variant)
      t.same(
        c.notices.map((n) => n.path),
        ['/auth/specName'],
        variant
      )
      t.match(c.notices[0]?.message, 'resolved to "Basic Authentication"', variant)
    }
  })
  await t.test("Adobe's tab title 'OAuth 2 Client Credential' resolves too", async (t) => {
    const c = accepted(
      check(SALESFORCE, 'OAuth 2 Client Credential', {
        environmentUrl: 'https://acme.my.salesforce.com',
        clientId: 'id',
        clientSecret: 'sec',
        apiVersion: '60.0'
      })
    )
    t.equal(c.authSpec.name, 'OAuth2 Client Credential')
  })
  await t.test('an auth spec of another source says which source has it', async (t) => {
    const c = rejected(check(SERVICE_CLOUD, 'OAuth2 JWT Token Credential', {}))
    t.match(c.errors[0]?.message, 'That auth spec belongs to Salesforce: check connectionSpec.id.')
  })
  await t.test('when the params sent fit exactly one auth spec, the error says which', async (t) => {
    const c = rejected(
      check(SALESFORCE, 'OAuth', {
        jwtToken: 'j',
        clientId: 'c',
        clientSecret: 's',
        instanceUrl: 'https://acme.my.salesforce.com'
      })
    )
    t.match(c.errors[0]?.message, 'The params sent fit "OAuth2 JWT Token Credential".')
  })
  await t.test('a non-string name is rejected with the accepted names', async (t) => {
    const c = rejected(
      validateCredentials({
        connectionSpec: { id: ORACLE, version: '1.0' },
        auth: { specName: null, params: {} }
      } as never)
    )
    t.equal(c.reason, 'unknown_auth_spec')
    t.match(
      c.errors[0]?.message,
      'auth.specName must be a string. Oracle Service Cloud accepts "Basic Authentication".'
    )
  })
})
