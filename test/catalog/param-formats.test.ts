// Specification of each param format: what is accepted as is, what is normalised (always with a notice), what is refused.
import t, { type Test } from 'tap'
import type { CredentialsCheck, Notice, NormalisedParamValue } from '../../src/catalog/credentials-check.js'
import { validateCredentials } from '../../src/catalog/validate-credentials.js'
import { normaliseParamValue } from '../../src/catalog/normalise-param-value.js'
import type { ParamSpec } from '../../src/catalog/types.js'

const SALESFORCE = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'
const MARKETING_CLOUD = 'ea1c2a08-b722-11eb-8529-0242ac130003'
const ORACLE = 'ba5126ec-c9ac-11eb-b8bc-0242ac130003'

const oauth = {
  environmentUrl: 'https://acme.my.salesforce.com',
  clientId: 'cid',
  clientSecret: 'csec',
  apiVersion: '60.0'
}
const mcHost = {
  host: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com',
  clientId: 'cid',
  clientSecret: 'csec'
}
const mcOAuth = { subdomain: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst', clientId: 'cid', clientSecret: 'csec' }

interface Case {
  specName: string
  id: string
  base: Record<string, unknown>
}
const SF: Case = { id: SALESFORCE, specName: 'OAuth2 Client Credential', base: oauth }
const MC_HOST: Case = { id: MARKETING_CLOUD, specName: 'Client-Id-Secret Based Authentication', base: mcHost }
const MC_OAUTH: Case = { id: MARKETING_CLOUD, specName: 'OAuth2 Client Credential', base: mcOAuth }

function run(c: Case, param: string, value: unknown): CredentialsCheck {
  return validateCredentials({
    connectionSpec: { id: c.id, version: '1.0' },
    auth: { specName: c.specName, params: { ...c.base, [param]: value } }
  })
}

/** Accepted, stored as `expected`, and a notice on the param matching `notice` (or none when undefined). */
function normalises(
  t: Test,
  c: Case,
  param: string,
  value: unknown,
  expected: NormalisedParamValue,
  notice?: RegExp | string
): void {
  const r = run(c, param, value)
  if (!r.ok) {
    t.fail(`${JSON.stringify(value)} should be accepted: ${JSON.stringify(r.errors)}`)
    return
  }
  t.equal(r.params[param], expected, `${JSON.stringify(value)} → ${JSON.stringify(expected)}`)
  const notices = r.notices.filter((n: Notice) => n.path === `/auth/params/${param}`)
  if (notice === undefined) t.same(notices, [], `${JSON.stringify(value)}: no notice`)
  else t.match(notices.map((n) => n.message).join('\n'), notice, `${JSON.stringify(value)}: notice`)
}

/** Rejected with one error on the param whose message matches. */
function refuses(t: Test, c: Case, param: string, value: unknown, message: RegExp | string): void {
  const r = run(c, param, value)
  if (r.ok) {
    t.fail(`${JSON.stringify(value)} should be refused, got ${JSON.stringify(r.params[param])}`)
    return
  }
  t.same(
    r.errors.map((e) => e.path),
    [`/auth/params/${param}`],
    `${JSON.stringify(value)}: one error, on ${param}`
  )
  t.match(r.errors[0]?.message, message, `${JSON.stringify(value)}: message`)
}

void t.test('salesforce-url: the https URL of a *.salesforce.com instance, without path', async (t) => {
  await t.test('instance hosts of every kind are accepted as is', async (t) => {
    for (const url of [
      'https://acme-enterprise-3126.my.salesforce.com',
      'https://adb8-dev-ed.develop.my.salesforce.com',
      'https://acme--uat.sandbox.my.salesforce.com',
      'https://na139.salesforce.com',
      'https://login.salesforce.com'
    ])
      normalises(t, SF, 'environmentUrl', url, url)
  })
  await t.test('a trailing slash is removed, with a notice', async (t) => {
    normalises(
      t,
      SF,
      'environmentUrl',
      'https://acme.my.salesforce.com/',
      'https://acme.my.salesforce.com',
      '`environmentUrl` normalised to https://acme.my.salesforce.com (trailing slash removed).'
    )
  })
  await t.test('an upper-case host is lower-cased, with a notice', async (t) => {
    normalises(
      t,
      SF,
      'environmentUrl',
      'https://ACME.My.Salesforce.com',
      'https://acme.my.salesforce.com',
      /lower-cased/
    )
  })
  await t.test('a bare host gets https://, with a notice', async (t) => {
    normalises(t, SF, 'environmentUrl', 'acme.my.salesforce.com', 'https://acme.my.salesforce.com', /https:\/\/ added/)
  })
  await t.test('surrounding whitespace is removed, with a notice', async (t) => {
    normalises(
      t,
      SF,
      'environmentUrl',
      ' https://acme.my.salesforce.com\n',
      'https://acme.my.salesforce.com',
      /leading and trailing whitespace removed/
    )
  })
  await t.test('the default port is dropped, with a notice', async (t) => {
    normalises(
      t,
      SF,
      'environmentUrl',
      'https://acme.my.salesforce.com:443',
      'https://acme.my.salesforce.com',
      /canonical form/
    )
  })
  await t.test('instanceUrl of the JWT auth spec follows the same rules', async (t) => {
    const jwt: Case = {
      id: SALESFORCE,
      specName: 'OAuth2 JWT Token Credential',
      base: { jwtToken: 'j', clientId: 'c', clientSecret: 's' }
    }
    normalises(
      t,
      jwt,
      'instanceUrl',
      'https://acme.my.salesforce.com/',
      'https://acme.my.salesforce.com',
      /trailing slash removed/
    )
    refuses(t, jwt, 'instanceUrl', 'http://acme.my.salesforce.com', /must use https/)
  })
  await t.test('http is refused, saying to use https and what exactly to send', async (t) => {
    refuses(
      t,
      SF,
      'environmentUrl',
      'http://acme.my.salesforce.com/',
      '`environmentUrl` must use https, not http: send https://acme.my.salesforce.com'
    )
  })
  await t.test('a path, query or fragment is refused with the URL to send instead', async (t) => {
    refuses(
      t,
      SF,
      'environmentUrl',
      'https://acme.my.salesforce.com/services/oauth2/token',
      'without a path: send https://acme.my.salesforce.com'
    )
    refuses(
      t,
      SF,
      'environmentUrl',
      'https://acme.my.salesforce.com/?x=1',
      'must not have a query or fragment: send https://acme.my.salesforce.com'
    )
    refuses(t, SF, 'environmentUrl', 'https://acme.my.salesforce.com#top', 'must not have a query or fragment')
  })
  await t.test('a Lightning UI address is refused, pointing at the My Domain URL', async (t) => {
    refuses(
      t,
      SF,
      'environmentUrl',
      'https://acme.lightning.force.com/lightning/page/home',
      'user-interface address ("acme.lightning.force.com"); send the My Domain URL of the instance: probably https://acme.my.salesforce.com.'
    )
    refuses(
      t,
      SF,
      'environmentUrl',
      'https://acme.my.site.com',
      /host must end in \.salesforce\.com, got "acme\.my\.site\.com"/
    )
  })
  await t.test('other hosts, schemes, ports and credentials in the URL are refused', async (t) => {
    refuses(t, SF, 'environmentUrl', 'https://salesforce.com.evil.example', /must end in \.salesforce\.com/)
    refuses(t, SF, 'environmentUrl', 'https://salesforce.com', /must end in \.salesforce\.com/)
    refuses(
      t,
      SF,
      'environmentUrl',
      'ftp://acme.my.salesforce.com',
      /must be the https URL of a Salesforce instance, such as https:\/\/acme-enterprise-3126\.my\.salesforce\.com/
    )
    refuses(
      t,
      SF,
      'environmentUrl',
      'https://acme.my.salesforce.com:8443',
      'must not name a port: send https://acme.my.salesforce.com'
    )
    refuses(
      t,
      SF,
      'environmentUrl',
      'https://admin:hunter2@acme.my.salesforce.com',
      /must not contain a user name or password/
    )
    refuses(t, SF, 'environmentUrl', 'not a url', /must be the https URL of a Salesforce instance/)
  })
})

void t.test('api-version: a decimal string such as 60.0', async (t) => {
  for (const v of ['52.0', '60.0', '100.0']) normalises(t, SF, 'apiVersion', v, v)
  await t.test('a bare integer gets its decimal, with a notice (Adobe: "52 must be input as 52.0")', async (t) => {
    normalises(
      t,
      SF,
      'apiVersion',
      '52',
      '52.0',
      '`apiVersion` "52" written with a decimal as "52.0", as the Salesforce source requires.'
    )
  })
  await t.test('a JSON number is turned into the string Flow Service expects, with a notice', async (t) => {
    normalises(
      t,
      SF,
      'apiVersion',
      60,
      '60.0',
      '`apiVersion` was the number 60.0; sent as the string "60.0", which Flow Service expects.'
    )
    normalises(t, SF, 'apiVersion', 59.5, '59.5', /was the number 59.5/)
  })
  await t.test('anything else is refused with an example', async (t) => {
    for (const v of ['v60.0', '60.00', '6.0', 'latest', '60,0'])
      refuses(t, SF, 'apiVersion', v, /must be a Salesforce REST API version with one decimal, such as "60\.0"; got "/)
    refuses(t, SF, 'apiVersion', 5, /must be a Salesforce REST API version string with one decimal/)
    refuses(t, SF, 'apiVersion', 60.25, /must be a Salesforce REST API version string/)
  })
})

void t.test('boolean: includeDeletedObjects', async (t) => {
  normalises(t, SF, 'includeDeletedObjects', true, true)
  normalises(t, SF, 'includeDeletedObjects', false, false)
  normalises(
    t,
    SF,
    'includeDeletedObjects',
    'true',
    true,
    '`includeDeletedObjects` was the string "true"; converted to the JSON boolean true.'
  )
  normalises(t, SF, 'includeDeletedObjects', ' FALSE ', false, /converted to the JSON boolean false/)
  refuses(t, SF, 'includeDeletedObjects', 1, 'must be a boolean, true or false, not a number')
  refuses(t, SF, 'includeDeletedObjects', 'yes', 'must be a boolean, true or false, not a string')
})

void t.test('marketing-cloud-rest-host: {subdomain}.rest.marketingcloudapis.com', async (t) => {
  const rest = 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com'
  normalises(t, MC_HOST, 'host', rest, rest)
  await t.test("the seed's bare subdomain is expanded, with a notice", async (t) => {
    normalises(
      t,
      MC_HOST,
      'host',
      'acme-ab12c3d4e5fg6hijk7lmnop8qrst',
      rest,
      '`host` was the bare subdomain "acme-ab12c3d4e5fg6hijk7lmnop8qrst"; expanded to acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com'
    )
  })
  await t.test('the auth URL users paste becomes the REST host of the same tenant, with a notice', async (t) => {
    normalises(
      t,
      MC_HOST,
      'host',
      'https://acme-ab12c3d4e5fg6hijk7lmnop8qrst.auth.marketingcloudapis.com/',
      rest,
      /auth host .* replaced by the REST host of the same tenant/
    )
    normalises(t, MC_HOST, 'host', 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.auth.marketingcloudapis.com', rest, /auth host/)
  })
  await t.test(
    "the seed table's host with a trailing slash, or with a scheme, is normalised with a notice",
    async (t) => {
      normalises(t, MC_HOST, 'host', `${rest}/`, rest, `\`host\` normalised to ${rest} (trailing slash removed).`)
      normalises(t, MC_HOST, 'host', `https://${rest}/`, rest, '(https:// removed, trailing slash removed)')
      normalises(t, MC_HOST, 'host', `HTTPS://${rest.toUpperCase()}`, rest, /lower-cased/)
    }
  )
  await t.test('the SOAP host is refused with the REST host to send', async (t) => {
    refuses(
      t,
      MC_HOST,
      'host',
      'acme-ab12c3d4e5fg6hijk7lmnop8qrst.soap.marketingcloudapis.com',
      `is the SOAP host of your tenant; the Marketing Cloud source needs its REST host: send ${rest}`
    )
  })
  await t.test('a path is refused with the host to send', async (t) => {
    refuses(
      t,
      MC_HOST,
      'host',
      'https://acme-ab12c3d4e5fg6hijk7lmnop8qrst.auth.marketingcloudapis.com/v2/token',
      `without path or query: send ${rest}`
    )
  })
  await t.test(
    'another domain, a port or another scheme is refused, saying exactly what to send with an example',
    async (t) => {
      const expected =
        '`host` must be the REST host of your Marketing Cloud tenant, {subdomain}.rest.marketingcloudapis.com, such as ' +
        'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com; the subdomain is the first part of your auth URL https://{subdomain}.auth.marketingcloudapis.com/.'
      for (const v of [
        'acme.example.com',
        'https://mc.exacttarget.com',
        'acme.rest.marketingcloudapis.com:443',
        'ftp://acme.rest.marketingcloudapis.com',
        'acme_ab.rest.marketingcloudapis.com'
      ]) {
        refuses(t, MC_HOST, 'host', v, expected)
      }
    }
  )
})

void t.test('marketing-cloud-subdomain: the tenant subdomain alone', async (t) => {
  const sub = 'acme-ab12c3d4e5fg6hijk7lmnop8qrst'
  normalises(t, MC_OAUTH, 'subdomain', sub, sub)
  normalises(
    t,
    MC_OAUTH,
    'subdomain',
    `https://${sub}.auth.marketingcloudapis.com/`,
    sub,
    `\`subdomain\` was a host name (${sub}.auth.marketingcloudapis.com); only its subdomain "${sub}" is kept.`
  )
  normalises(t, MC_OAUTH, 'subdomain', `${sub}.rest.marketingcloudapis.com`, sub, /only its subdomain/)
  normalises(t, MC_OAUTH, 'subdomain', sub.toUpperCase(), sub, /lower-cased/)
  refuses(
    t,
    MC_OAUTH,
    'subdomain',
    `https://${sub}.auth.marketingcloudapis.com/v2/token`,
    `must be the tenant subdomain alone: send ${sub}`
  )
  refuses(
    t,
    MC_OAUTH,
    'subdomain',
    'acme.example.com',
    /must be your Marketing Cloud tenant subdomain, such as acme-ab12c3d4e5fg6hijk7lmnop8qrst/
  )
})

void t.test('text: any non-empty string, trimmed with a notice when not secret', async (t) => {
  const oracle: Case = {
    id: ORACLE,
    specName: 'Basic Authentication',
    base: { host: 'acme.custhelp.com', username: 'u', password: 'p' }
  }
  normalises(t, oracle, 'host', '{HOST}', '{HOST}')
  normalises(t, oracle, 'username', '  api.user ', 'api.user', '`username`: leading and trailing whitespace removed.')
  await t.test(
    'a secret is never trimmed; whitespace at its edges is kept and reported without the value',
    async (t) => {
      normalises(
        t,
        oracle,
        'password',
        ' hunter2 ',
        ' hunter2 ',
        '`password` starts or ends with whitespace; it was kept exactly as sent because secrets are never altered.'
      )
    }
  )
})

/** Formats no param of today's catalogue uses are still specified, so a data change can rely on them. */
void t.test('formats checked directly', async (t) => {
  const param = (format: ParamSpec['format'], example?: string): ParamSpec => ({
    name: 'p',
    description: 'A param.',
    required: true,
    secret: false,
    format,
    example
  })
  await t.test('hostname: a bare host; scheme and trailing slash stripped with a notice', async (t) => {
    t.same(normaliseParamValue(param('hostname'), 'acme.custhelp.com'), {
      ok: true,
      value: 'acme.custhelp.com',
      notes: []
    })
    t.same(normaliseParamValue(param('hostname'), 'https://Acme.custhelp.com/'), {
      ok: true,
      value: 'acme.custhelp.com',
      notes: ['`p` normalised to "acme.custhelp.com" (https:// removed, trailing slash removed, lower-cased).']
    })
    t.same(normaliseParamValue(param('hostname', 'acme.custhelp.com'), 'acme.custhelp.com/services'), {
      ok: false,
      message: '`p` must be a bare host name, such as acme.custhelp.com, without scheme, port or path.'
    })
    t.equal(normaliseParamValue(param('hostname'), 'acme.custhelp.com:8080').ok, false)
  })
  await t.test('https-url: any https URL, kept as sent', async (t) => {
    t.same(normaliseParamValue(param('https-url'), 'https://example.com/a?b=1'), {
      ok: true,
      value: 'https://example.com/a?b=1',
      notes: []
    })
    t.same(normaliseParamValue(param('https-url'), 'http://example.com'), {
      ok: false,
      message: '`p` must use https, not http.'
    })
    t.same(normaliseParamValue(param('https-url'), 'https://u:pw@example.com'), {
      ok: false,
      message: '`p` must not contain a user name or password.'
    })
    t.same(normaliseParamValue(param('https-url', 'https://example.com'), 'example.com'), {
      ok: false,
      message: '`p` must be an https URL, such as https://example.com.'
    })
  })
})
