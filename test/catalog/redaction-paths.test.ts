// Logs never carry a secret param or an auth header: a pino logger built with redactionPaths(), grepped for the values.
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { secretParamNames } from '../../src/catalog/catalog.js'
import { redactionPaths } from '../../src/catalog/redaction-paths.js'

function capture(): { log: pino.Logger; output: () => string } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString())
      done()
    }
  })
  return {
    log: pino({ redact: { paths: redactionPaths(), censor: '[redacted]' } }, stream),
    output: () => lines.join('')
  }
}

/** One distinctive value per secret param name of the catalogue. */
const secretValues = Object.fromEntries(secretParamNames().map((name) => [name, `LEAK-${name}-9f3b`]))
const params = { ...secretValues, username: 'api.user', environmentUrl: 'https://acme.my.salesforce.com' }

void t.test('the catalogue has secret params to protect, and a path for each in every shape', async (t) => {
  t.same(secretParamNames(), ['clientSecret', 'jwtToken', 'password', 'securityToken'])
  const paths = redactionPaths()
  for (const name of secretParamNames()) {
    for (const shape of ['req.body.auth.params', 'body.auth.params', 'params', '*.auth.params'])
      t.ok(paths.includes(`${shape}.${name}`), `${shape}.${name}`)
  }
  for (const p of ['secretParams.*', 'req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization'])
    t.ok(paths.includes(p), p)
  t.equal(new Set(paths).size, paths.length, 'no duplicates')
})

void t.test('secret values and auth headers are redacted wherever a body can appear in a log line', async (t) => {
  const { log, output } = capture()
  const body = {
    name: 'c',
    auth: { specName: 'Basic Authentication', params },
    connectionSpec: { id: 'x', version: '1.0' }
  }
  log.info(
    {
      req: {
        method: 'POST',
        url: '/v1/connections',
        body,
        headers: { authorization: 'Bearer LEAK-bearer-9f3b', 'x-api-key': 'LEAK-apikey-9f3b' }
      }
    },
    'request'
  )
  log.info({ request: { body, headers: { authorization: 'Bearer LEAK-bearer-9f3b' } } }, 'request object')
  log.info({ body }, 'body')
  log.info({ params }, 'params')
  log.info({ auth: { params } }, 'auth')
  log.info({ input: { auth: { params } } }, 'use-case input')
  log.info({ err: { request: { body: { auth: { params } } } } }, 'downstream error context')
  log.info({ connection: { auth: { specName: 'x', params } } }, 'connection')
  log.info({ secretParams: secretValues }, 'split')
  log.info({ check: { secretParams: secretValues } }, 'check result')
  log.info(
    {
      headers: {
        authorization: 'Bearer LEAK-bearer-9f3b',
        Authorization: 'Bearer LEAK-bearer-9f3b',
        'x-api-key': 'LEAK-apikey-9f3b'
      }
    },
    'outgoing headers'
  )
  log.info({ res: { headers: { 'X-Api-Key': 'LEAK-apikey-9f3b' } } }, 'response headers')
  log.info({ client_secret: 'LEAK-ims-9f3b', access_token: 'LEAK-token-9f3b' }, 'ims')
  log.info({ ims: { client_secret: 'LEAK-ims-9f3b', access_token: 'LEAK-token-9f3b' } }, 'ims nested')
  const out = output()
  t.equal(out.trim().split('\n').length, 14, 'every line was written')
  t.notMatch(out, /LEAK-/, 'no secret value in the output')
  t.match(out, /\[redacted\]/)
  t.match(out, /"username":"api\.user"/, 'non-secret params stay readable')
  t.match(out, /"environmentUrl":"https:\/\/acme\.my\.salesforce\.com"/)
})

void t.test('paths follow the catalogue: a new secret param is redacted without touching this module', async (t) => {
  const paths = redactionPaths([
    {
      id: '00000000-0000-4000-8000-000000000000',
      name: 'Example',
      versions: ['1.0'],
      aliases: [],
      authSpecs: [
        {
          name: 'Key',
          description: 'd',
          params: [{ name: 'api-key', description: 'd', required: true, secret: true, format: 'text' }]
        }
      ]
    }
  ])
  t.ok(paths.includes('req.body.auth.params["api-key"]'))
  const lines: string[] = []
  const log = pino(
    { redact: paths },
    new Writable({
      write(c: Buffer, _e, done) {
        lines.push(c.toString())
        done()
      }
    })
  )
  log.info({ body: { auth: { params: { 'api-key': 'LEAK-key-9f3b' } } } })
  t.notMatch(lines.join(''), /LEAK-/)
})
