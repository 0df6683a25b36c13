// What the OpenAPI document explains, checked against the app that serves it: named schemas referenced rather than
// inlined (and named types for generated clients), each operation's real scope and error statuses, examples the
// running broker accepts and answers that fit their schemas, and a clean lint.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import t from 'tap'
import { catalog } from '../../src/catalog/catalog.js'
import { buildOpenApiDocument } from '../../src/openapi-document.js'
import { fromRoot } from '../support/project-root.js'
import { startTestApp } from '../support/test-broker.js'

type Json = Record<string, unknown>
interface Media {
  schema?: Json
  examples?: Record<string, { value: unknown }>
}
interface Operation {
  operationId: string
  description?: string
  security?: Array<Record<string, string[]>>
  'x-required-scope'?: string
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, { description: string; content?: Record<string, Media> }>
}
interface Document {
  info: { description: string; 'x-problem-types': Array<{ type: string; meaning: string }> }
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Json> }
}

const PROBLEM = '#/components/schemas/Problem'

const operations = (doc: Document): Array<[string, Operation]> =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op])
  )

void t.test('named schemas: the problem is one component, referenced by every error answer', async (t) => {
  const doc = (await buildOpenApiDocument()) as Document
  for (const name of [
    'Problem',
    'FieldError',
    'Connection',
    'CreatedConnection',
    'ConnectionPage',
    'CreateConnectionRequest'
  ])
    t.ok(doc.components.schemas[name], `components.schemas.${name}`)
  let errorAnswers = 0
  for (const [name, op] of operations(doc)) {
    for (const [status, response] of Object.entries(op.responses)) {
      t.not(response.description, 'Default Response', `${name} ${status}: described`)
      if (Number(status) < 400 || name.startsWith('GET /health/')) continue
      errorAnswers++
      t.same(response.content?.['application/problem+json']?.schema, { $ref: PROBLEM }, `${name} ${status}`)
    }
  }
  t.ok(errorAnswers > 50, `${errorAnswers} error answers checked`)
  const text = JSON.stringify(doc)
  t.equal(text.split('"instance":{').length - 1, 1, 'the problem schema is written once')
  t.ok(text.length < 250_000, `${text.length} characters (496 KB when the problem was inlined)`)
})

void t.test('openapi-typescript makes named types', async (t) => {
  const { default: openapiTS, astToString } = await import('openapi-typescript')
  const doc = (await buildOpenApiDocument()) as Json
  const source = astToString(await openapiTS(doc as unknown as Parameters<typeof openapiTS>[0]))
  t.notMatch(source, /schemas: never/)
  for (const name of ['Problem', 'FieldError', 'Connection', 'CreatedConnection', 'CreateConnectionRequest'])
    t.match(source, new RegExp(`\\b${name}: \\{`), `components.schemas.${name}`)
  t.match(source, /\$ref: never|components\["schemas"\]\["Problem"\]/, 'answers refer to the named problem')
})

void t.test('each operation documents the scope its route checks, and only the errors it can give', async (t) => {
  const b = await startTestApp(t)
  await b.app.ready()
  const doc = b.app.swagger() as unknown as Document
  const scopes: Record<string, string> = {
    createConnection: 'connections:write',
    getConnection: 'connections:read',
    listConnections: 'connections:read',
    listConnectionEvents: 'connections:read',
    renameConnection: 'connections:write',
    rotateCredentials: 'connections:write',
    deleteConnection: 'connections:write',
    listConnectionSpecs: 'any',
    listAuditEvents: 'audit:read',
    verifyAuditChain: 'admin',
    createApiKey: 'admin',
    listApiKeys: 'admin',
    revokeApiKey: 'admin'
  }
  for (const [name, op] of operations(doc)) {
    if (!name.includes(' /v1/')) continue
    const scope = op['x-required-scope']
    t.equal(scope, scopes[op.operationId], `${name}: x-required-scope`)
    t.same(op.security, [{ apiKey: scope === 'any' ? [] : [scope] }], `${name}: security`)
    t.match(op.description ?? '', scope === 'any' ? /valid API key/ : `\`${scope}\``, `${name}: description`)
    const statuses = Object.keys(op.responses)
    t.ok(statuses.includes('401') && statuses.includes('429'), `${name}: key errors`)
    t.equal(statuses.includes('403'), scope !== 'any', `${name}: 403 only where a scope is needed`)
    t.equal(statuses.includes('413'), op.requestBody !== undefined, `${name}: 413 only with a body`)
    t.equal(statuses.includes('415'), op.requestBody !== undefined, `${name}: 415 only with a body`)
    t.equal(statuses.includes('404'), name.includes('{id}'), `${name}: 404 only when it names a resource`)
  }
  // The scope is the one the route enforces: a key with every other scope is refused.
  for (const [name, op] of operations(doc)) {
    const scope = op['x-required-scope']
    if (scope === undefined || scope === 'any' || !name.startsWith('GET ')) continue
    const others = (['connections:read', 'connections:write', 'audit:read'] as const).filter((s) => s !== scope)
    const key = await b.createKey('scope-check', [...others])
    const url = name.slice(4).replace('{id}', '00000000-0000-7000-8000-000000000000')
    const res = await b.request({ method: 'GET', url, key })
    t.equal(res.statusCode, 403, `${name} without ${scope}`)
  }
  const types = doc.info['x-problem-types'].map((p) => p.type)
  t.ok(types.includes('https://credential-broker.dev/problems/invalid-params'), 'problem types listed')
  for (const p of doc.info['x-problem-types']) {
    t.ok(p.meaning.length > 10, `${p.type}: meaning`)
    t.match(doc.info.description, p.type, `${p.type}: in the description`)
  }
})

void t.test('every example request is accepted by the broker; every example answer fits its schema', async (t) => {
  const b = await startTestApp(t)
  await b.app.ready()
  const doc = b.app.swagger() as unknown as Document
  const create = doc.paths['/v1/connections']?.post
  const examples = create?.requestBody?.content['application/json']?.examples ?? {}
  const authSpecs = catalog.flatMap((s) => s.authSpecs.map((a) => `${s.name}: ${a.name}`))
  t.equal(Object.keys(examples).length, authSpecs.length, 'one example per auth spec of the catalogue')
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addFormat('password', true)
  ajv.addSchema({ $id: 'doc', components: doc.components })
  const validate = (schema: Json | undefined) =>
    ajv.compile({ $ref: `doc${typeof schema?.$ref === 'string' ? schema.$ref : ''}` })
  const createBody = validate({ $ref: '#/components/schemas/CreateConnectionRequest' })
  const seen = new Set<string>()
  for (const [name, example] of Object.entries(examples)) {
    const body = example.value as { auth: { specName: string }; connectionSpec: { id: string } }
    t.ok(createBody(body), `${name}: fits the documented body (oneOf) ${JSON.stringify(createBody.errors)}`)
    const res = await b.request({ method: 'POST', url: '/v1/connections', key: b.adminKey, body })
    t.equal(res.statusCode, 201, `${name}: created ${res.statusCode === 201 ? '' : res.body}`)
    const created = res.json<{ connectionSpec: { name: string }; auth: { specName: string } }>()
    seen.add(`${created.connectionSpec.name}: ${created.auth.specName}`)
  }
  t.same([...seen].sort(), [...authSpecs].sort(), 'the examples cover every auth spec')
  let answers = 0
  for (const [name, op] of operations(doc)) {
    for (const [status, response] of Object.entries(op.responses)) {
      for (const media of Object.values(response.content ?? {})) {
        for (const [example, { value }] of Object.entries(media.examples ?? {})) {
          answers++
          const check = validate(media.schema)
          t.ok(check(value), `${name} ${status} ${example}: ${JSON.stringify(check.errors)}`)
        }
      }
    }
  }
  t.ok(answers >= 5, `${answers} example answers`)
})

void t.test('the committed document passes the OpenAPI linter (npm run lint:openapi)', async (t) => {
  const { stdout, stderr } = await promisify(execFile)('npm', ['run', '--silent', 'lint:openapi'], {
    cwd: fromRoot('.'),
    env: { ...process.env, NO_COLOR: '1' }
  })
  t.match(`${stdout}${stderr}`, /Woohoo|valid/i)
})
