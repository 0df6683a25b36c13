// Conformance with the parts of Adobe's published OpenAPI file that are right: the connection operations exist, and
// answers carry the declared fields with the declared types. (Its known flaws are covered by the other tests.)
import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { fromRoot } from '../support/project-root.js'
import { harness, salesforceBody } from './helpers.js'

interface Schema {
  $ref?: string
  type?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
}
interface Operation {
  operationId: string
  responses: Record<string, { content?: { 'application/json'?: { schema?: Schema } } }>
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema> }
}

// The full reference when this checkout has it (so drift shows), else the vendored excerpt of the same file.
const candidates = [
  fromRoot('reference/adobe/flow-service.yaml'),
  fromRoot('../shared/reference/adobe/flow-service.yaml'),
  fromRoot('test/emulator/fixtures/flow-service-connections.yaml')
]
const source = candidates.find((p) => existsSync(p)) as string
const spec = parse(readFileSync(source, 'utf8')) as OpenApi

function resolve(schema: Schema): Schema {
  if (schema.$ref === undefined) return schema
  const name = schema.$ref.split('/').at(-1) as string
  const target = spec.components.schemas[name]
  if (target === undefined) throw new Error(`unresolved ${schema.$ref}`)
  return resolve(target)
}

/** Problems with `value` against `schema`: wrong types, missing required properties. Undeclared properties are allowed. */
function problems(schema: Schema, value: unknown, at = '$'): string[] {
  const s = resolve(schema)
  const type = s.type ?? (s.properties === undefined ? undefined : 'object')
  switch (type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object`]
      const obj = value as Record<string, unknown>
      const out = (s.required ?? []).filter((k) => !(k in obj)).map((k) => `${at}.${k}: required but missing`)
      for (const [k, sub] of Object.entries(s.properties ?? {}))
        if (k in obj) out.push(...problems(sub, obj[k], `${at}.${k}`))
      return out
    }
    case 'array':
      if (!Array.isArray(value)) return [`${at}: expected an array`]
      return value.flatMap((v, i) => problems(s.items ?? {}, v, `${at}[${i}]`))
    case 'string':
      return typeof value === 'string' ? [] : [`${at}: expected a string`]
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at}: expected an integer`]
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: expected a boolean`]
    default:
      return []
  }
}

function responseSchema(path: string, method: string, status: string): Schema {
  const schema = spec.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema
  if (schema === undefined) throw new Error(`no ${status} schema for ${method} ${path}`)
  return schema
}

void t.test(
  `conformance with ${source.includes('fixtures') ? 'the vendored excerpt of ' : ''}Adobe's flow-service.yaml`,
  async (t) => {
    const h = await harness(t)

    void t.test('every declared connection operation is served', async (t) => {
      const { id } = await h.create()
      const declared = [
        ['/connections', 'get', 'listConnections'],
        ['/connections', 'post', 'createConnection'],
        ['/connections/{BASE_CONNECTION_ID}', 'get', 'retrieveConnection'],
        ['/connections/{BASE_CONNECTION_ID}/test', 'get', 'testConnection'],
        ['/connections/{BASE_CONNECTION_ID}/', 'patch', 'patchConnection'],
        ['/connections/{BASE_CONNECTION_ID}/', 'delete', 'deleteConnection']
      ] as const
      for (const [path, method, operationId] of declared) {
        t.equal(spec.paths[path]?.[method]?.operationId, operationId, `${method} ${path} is declared`)
      }
      const etag = (await h.read(id)).etag as string
      t.equal((await h.flow('GET', '/connections')).status, 200)
      t.equal((await h.flow('GET', `/connections/${id}`)).status, 200)
      t.equal((await h.flow('GET', `/connections/${id}/test`)).status, 200)
      t.equal(
        (
          await h.flow('PATCH', `/connections/${id}/`, {
            body: [{ op: 'replace', path: '/name', value: 'x' }],
            headers: { 'if-match': etag }
          })
        ).status,
        200
      )
      t.equal((await h.remove(id, `/connections/${id}/`)).status, 204)
      t.ok(
        spec.paths['/connections/{BASE_CONNECTION_ID}/']?.delete?.responses['204'],
        '204 is the declared delete answer'
      )
    })

    void t.test('create answers the declared 201 CreateConnectionResponse', async (t) => {
      t.ok(spec.paths['/connections']?.post?.responses['201'])
      const res = await h.flow('POST', '/connections', { body: salesforceBody() })
      t.equal(res.status, 201)
      const schema = resolve(responseSchema('/connections', 'post', '201'))
      t.same(problems(schema, res.json), [])
      t.same(
        Object.keys(res.json as object).sort(),
        Object.keys(schema.properties ?? {}).sort(),
        'exactly the declared fields'
      )
    })

    void t.test('the request body we accept is a valid CreateConnectionRequest', async (t) => {
      t.same(problems({ $ref: '#/components/schemas/CreateConnectionRequest' }, salesforceBody()), [])
    })

    void t.test(
      'GET by id answers a ConnectionListResponse whose item has every ConnectionItemDTO field, typed as declared',
      async (t) => {
        const { id } = await h.create()
        const res = await h.flow('GET', `/connections/${id}`)
        t.same(problems(responseSchema('/connections/{BASE_CONNECTION_ID}', 'get', '200'), res.json), [])
        const item = (res.json as { items: Array<Record<string, unknown>> }).items[0] as Record<string, unknown>
        const declared = Object.keys(resolve({ $ref: '#/components/schemas/ConnectionItemDTO' }).properties ?? {})
        t.same(Object.keys(item).sort(), [...declared].sort(), 'every declared field, and no other')
      }
    )

    void t.test('a list answer is a ConnectionListResponse and its _links a PageLinksResponse', async (t) => {
      await h.create()
      await h.create()
      const res = await h.flow('GET', '/connections?limit=1')
      t.same(problems(responseSchema('/connections', 'get', '200'), res.json), [])
      const links = (res.json as { _links: unknown })._links
      t.same(problems({ $ref: '#/components/schemas/PageLinksResponse' }, links), [])
      t.type((links as { next?: { href?: unknown } }).next?.href, 'string')
    })

    void t.test('test answers a TestConnectionResponse', async (t) => {
      const { id } = await h.create()
      const res = await h.flow('GET', `/connections/${id}/test`)
      t.same(problems(responseSchema('/connections/{BASE_CONNECTION_ID}/test', 'get', '200'), res.json), [])
    })

    void t.test('a missing token gets the declared 403', async (t) => {
      t.ok(spec.paths['/connections']?.get?.responses['403'])
      t.equal((await h.flow('GET', '/connections', { headers: { authorization: undefined } })).status, 403)
    })
  }
)
