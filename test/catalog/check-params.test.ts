// Specification of the auth.params checks: every missing, unknown, mistyped, empty or overlong param gets its own error.
import t from 'tap'
import type { AcceptedCredentials, CredentialsCheck, RejectedCredentials } from '../../src/catalog/credentials-check.js'
import { validateCredentials } from '../../src/catalog/validate-credentials.js'

const SALESFORCE = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'
const ORACLE = 'ba5126ec-c9ac-11eb-b8bc-0242ac130003'

function check(id: string, specName: string, params: unknown): CredentialsCheck {
  return validateCredentials({
    connectionSpec: { id, version: '1.0' },
    auth: { specName, params: params as Record<string, unknown> }
  })
}
function accepted(c: CredentialsCheck): AcceptedCredentials {
  if (!c.ok) throw new Error(`expected acceptance, got ${JSON.stringify(c)}`)
  return c
}
function rejected(c: CredentialsCheck): RejectedCredentials {
  if (c.ok) throw new Error(`expected rejection, got ${JSON.stringify(c)}`)
  return c
}
const basic = { username: 'api.user', password: 'pw', securityToken: 'tok' }

void t.test('each missing required param is named, with its description', async (t) => {
  const c = rejected(check(SALESFORCE, 'Basic Authentication', {}))
  t.equal(c.reason, 'invalid_params')
  t.same(c.errors, [
    {
      path: '/auth/params/username',
      message: 'Missing required param `username`: Username of the Salesforce user account.'
    },
    {
      path: '/auth/params/password',
      message: 'Missing required param `password`: Password of the Salesforce user account.'
    },
    {
      path: '/auth/params/securityToken',
      message: 'Missing required param `securityToken`: Security token of the Salesforce user account.'
    }
  ])
  t.equal(c.detail, '3 params are wrong for Salesforce "Basic Authentication"; see errors.')
})

void t.test('an unknown param is named with the accepted params of the auth spec', async (t) => {
  const c = rejected(
    check(ORACLE, 'Basic Authentication', { host: 'acme.custhelp.com', username: 'u', password: 'p', port: '443' })
  )
  t.same(c.errors, [
    {
      path: '/auth/params/port',
      message:
        'Unknown param `port` for auth spec "Basic Authentication" of Oracle Service Cloud. Accepted params: host, username and password.'
    }
  ])
  t.equal(c.detail, 'One param is wrong for Oracle Service Cloud "Basic Authentication"; see errors.')
})

void t.test('a param of another auth spec of the same source says which auth spec takes it', async (t) => {
  const c = rejected(check(SALESFORCE, 'Basic Authentication', { ...basic, clientSecret: 'sec' }))
  t.equal(c.errors.length, 1)
  t.equal(c.errors[0]?.path, '/auth/params/clientSecret')
  t.match(
    c.errors[0]?.message,
    '`clientSecret` belongs to "OAuth2 Client Credential" and "OAuth2 JWT Token Credential" of Salesforce: send it with one of those auth.specName values, or leave it out.'
  )
  t.match(
    c.errors[0]?.message,
    'Accepted params: environmentUrl (optional), username, password, securityToken and apiVersion (optional).'
  )
})

void t.test('with a single other auth spec, the hint names it', async (t) => {
  const c = rejected(
    check('ea1c2a08-b722-11eb-8529-0242ac130003', 'OAuth2 Client Credential', {
      subdomain: 'acme',
      clientId: 'c',
      clientSecret: 's',
      host: 'acme.rest.marketingcloudapis.com'
    })
  )
  t.match(
    c.errors[0]?.message,
    '`host` belongs to "Client-Id-Secret Based Authentication" of Salesforce Marketing Cloud: send it with that auth.specName, or leave it out.'
  )
})

void t.test('a param of another source says so', async (t) => {
  const c = rejected(check(SALESFORCE, 'Basic Authentication', { ...basic, host: 'acme.custhelp.com' }))
  t.match(
    c.errors[0]?.message,
    '`host` is a param of Salesforce Marketing Cloud and Oracle Service Cloud, not of Salesforce: check connectionSpec.id.'
  )
})

void t.test('a param name in the wrong case is pointed at the right one', async (t) => {
  const c = rejected(
    check(SALESFORCE, 'Basic Authentication', { ...basic, EnvironmentURL: 'https://acme.my.salesforce.com' })
  )
  t.match(c.errors[0]?.message, 'Did you mean `environmentUrl`? Param names are case-sensitive.')
})

void t.test('unknown param names are escaped in the JSON Pointer', async (t) => {
  const c = rejected(check(ORACLE, 'Basic Authentication', { host: 'h', username: 'u', password: 'p', 'a/b~c': 'x' }))
  t.equal(c.errors[0]?.path, '/auth/params/a~1b~0c')
})

void t.test('a flood of unknown params is capped at 20 errors plus one summary', async (t) => {
  const junk = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`junk${i}`, 'x']))
  const c = rejected(check(ORACLE, 'Basic Authentication', { host: 'h', username: 'u', password: 'p', ...junk }))
  t.equal(c.errors.length, 21)
  t.same(c.errors[20], {
    path: '/auth/params',
    message: '30 more unknown params are not listed. Accepted params: host, username and password.'
  })
})

void t.test('an absurdly long unknown param name is reported without echoing it', async (t) => {
  const c = rejected(
    check(ORACLE, 'Basic Authentication', { host: 'h', username: 'u', password: 'p', ['k'.repeat(1000)]: 'x' })
  )
  t.equal(c.errors[0]?.path, '/auth/params')
  t.match(c.errors[0]?.message, 'A param name of 1000 characters is not a param of "Basic Authentication".')
})

void t.test('wrongly typed values are named with the type expected and the type received', async (t) => {
  const c = rejected(
    check(SALESFORCE, 'Basic Authentication', {
      username: 42,
      password: { value: 'pw' },
      securityToken: ['tok'],
      environmentUrl: true
    })
  )
  t.same(c.errors, [
    { path: '/auth/params/environmentUrl', message: '`environmentUrl` must be a string, not a boolean.' },
    { path: '/auth/params/username', message: '`username` must be a string, not a number.' },
    { path: '/auth/params/password', message: '`password` must be a string, not an object.' },
    { path: '/auth/params/securityToken', message: '`securityToken` must be a string, not an array.' }
  ])
})

void t.test('null for a required param is a type error', async (t) => {
  const c = rejected(check(SALESFORCE, 'Basic Authentication', { ...basic, password: null }))
  t.same(c.errors, [{ path: '/auth/params/password', message: '`password` must be a string, not null.' }])
})

void t.test('includeDeletedObjects must be a boolean', async (t) => {
  const params = {
    environmentUrl: 'https://acme.my.salesforce.com',
    clientId: 'c',
    clientSecret: 's',
    apiVersion: '60.0'
  }
  const c = rejected(check(SALESFORCE, 'OAuth2 Client Credential', { ...params, includeDeletedObjects: 'yes' }))
  t.same(c.errors, [
    {
      path: '/auth/params/includeDeletedObjects',
      message: '`includeDeletedObjects` must be a boolean, true or false, not a string.'
    }
  ])
  t.equal(
    accepted(check(SALESFORCE, 'OAuth2 Client Credential', { ...params, includeDeletedObjects: false })).params
      .includeDeletedObjects,
    false
  )
})

void t.test('an empty or blank required param is rejected', async (t) => {
  for (const blank of ['', '   ', '\n\t']) {
    const c = rejected(check(SALESFORCE, 'Basic Authentication', { ...basic, username: blank, securityToken: blank }))
    t.same(
      c.errors,
      [
        {
          path: '/auth/params/username',
          message: '`username` must not be empty: Username of the Salesforce user account.'
        },
        {
          path: '/auth/params/securityToken',
          message: '`securityToken` must not be empty: Security token of the Salesforce user account.'
        }
      ],
      JSON.stringify(blank)
    )
  }
})

void t.test('an empty or null optional param is left out, with a notice', async (t) => {
  const c = accepted(check(SALESFORCE, 'Basic Authentication', { ...basic, apiVersion: '', environmentUrl: null }))
  t.notOk('apiVersion' in c.params)
  t.notOk('environmentUrl' in c.params)
  t.same(c.notices, [
    {
      path: '/auth/params/environmentUrl',
      message: '`environmentUrl` was null and is left out, so Flow Service applies its default.'
    },
    {
      path: '/auth/params/apiVersion',
      message: '`apiVersion` was empty and is left out, so Flow Service applies its default.'
    }
  ])
})

void t.test('values longer than 4096 characters are rejected; 4096 is accepted', async (t) => {
  const c = rejected(
    check(SALESFORCE, 'Basic Authentication', { ...basic, username: 'u'.repeat(4097), password: 'p'.repeat(5000) })
  )
  t.same(c.errors, [
    { path: '/auth/params/username', message: '`username` is too long: 4097 characters, at most 4096.' },
    { path: '/auth/params/password', message: '`password` is too long: 5000 characters, at most 4096.' }
  ])
  accepted(check(SALESFORCE, 'Basic Authentication', { ...basic, password: 'p'.repeat(4096) }))
})

void t.test('control characters inside a non-secret value are rejected', async (t) => {
  const c = rejected(check(SALESFORCE, 'Basic Authentication', { ...basic, username: 'api\nuser' }))
  t.same(c.errors, [
    {
      path: '/auth/params/username',
      message: '`username` must not contain control characters such as line breaks or tabs.'
    }
  ])
})

void t.test('auth.params that is not an object is rejected with the accepted params', async (t) => {
  for (const params of [null, 'user:pw', ['a'], 7]) {
    const c = rejected(check(ORACLE, 'Basic Authentication', params))
    t.equal(c.errors.length, 1)
    t.equal(c.errors[0]?.path, '/auth/params')
    t.match(
      c.errors[0]?.message,
      /^auth\.params must be an object of param names to values, not .*Accepted params: host, username and password\.$/
    )
  }
})

void t.test('every problem is reported at once: missing, unknown, mistyped and malformed together', async (t) => {
  const c = rejected(
    check(SALESFORCE, 'OAuth2 Client Credential', {
      environmentUrl: 'http://acme.my.salesforce.com',
      clientId: 7,
      apiVersion: 'latest',
      secret: 'x'
    })
  )
  t.same(
    c.errors.map((e) => e.path),
    [
      '/auth/params/secret',
      '/auth/params/environmentUrl',
      '/auth/params/clientId',
      '/auth/params/clientSecret',
      '/auth/params/apiVersion'
    ]
  )
})

void t.test('a param that inherits from Object.prototype is not mistaken for one that was sent', async (t) => {
  const params = JSON.parse('{"__proto__": {"password": "pw"}, "username": "u", "securityToken": "t"}') as Record<
    string,
    unknown
  >
  const c = rejected(check(SALESFORCE, 'Basic Authentication', params))
  t.same(
    c.errors.map((e) => e.path),
    ['/auth/params/__proto__', '/auth/params/password']
  )
})
