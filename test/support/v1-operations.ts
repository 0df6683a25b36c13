// The /v1 operations as the running app documents them (OpenAPI), each with the scope it needs and a request
// that passes validation, so authorization tests cover every route — including ones added later — by themselves.
import type { FastifyInstance } from 'fastify'
import { SEED_BODIES } from './seed-bodies.js'

type JsonSchema = Record<string, unknown>

export interface V1Operation {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  /** As documented, with `{id}` placeholders. */
  path: string
  operationId: string
  /** The route documents that it needs an API key (security: apiKey). */
  needsKey: boolean
  /** The scope the route documents (the apiKey roles); [] when any valid key will do. */
  scopes: string[]
  body: unknown
  headers: Record<string, string>
  /** The route names one connection (`/v1/connections/{id}...`): another team gets 404 there. */
  namesConnection: boolean
}

/** Bodies a schema sample cannot make valid: a create must also pass the catalogue. */
const SAMPLE_BODIES: Record<string, unknown> = {
  createConnection: SEED_BODIES.salesforceBasicWithUrl,
  createApiKey: { team: 'sample', name: 'sample key', scopes: ['connections:read'] }
}

interface OpenApiOperation {
  operationId?: string
  security?: Array<Record<string, string[]>>
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: JsonSchema }>
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> }
}

export async function v1Operations(app: FastifyInstance): Promise<V1Operation[]> {
  await app.ready()
  const doc = app.swagger() as {
    paths: Record<string, Record<string, OpenApiOperation>>
    components?: { schemas?: Record<string, JsonSchema> }
  }
  const named = doc.components?.schemas ?? {}
  const ops: V1Operation[] = []
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1/')) continue
    for (const [method, op] of Object.entries(methods)) {
      const operationId = op.operationId ?? `${method} ${path}`
      const bodySchema = op.requestBody?.content?.['application/json']?.schema
      const headers: Record<string, string> = {}
      for (const p of op.parameters ?? []) {
        if (p.in === 'header' && p.required === true) headers[p.name] = String(sampleOf(p.schema ?? {}))
      }
      ops.push({
        method: method.toUpperCase() as V1Operation['method'],
        path,
        operationId,
        needsKey: op.security?.[0]?.apiKey !== undefined,
        scopes: op.security?.[0]?.apiKey ?? [],
        body: SAMPLE_BODIES[operationId] ?? (bodySchema !== undefined ? sampleOf(bodySchema, named) : undefined),
        headers,
        namesConnection: path.startsWith('/v1/connections/{id}')
      })
    }
  }
  return ops
}

/** The path with its placeholders filled in. */
export const urlOf = (op: V1Operation, ids: { connectionId: string; otherId: string }): string =>
  op.path.replace('{id}', op.namesConnection ? ids.connectionId : ids.otherId).replace(/\{[^}]+\}/g, ids.otherId)

/**
 * A small value that satisfies a (JSON) schema: as few properties as it allows, shortest strings, first choices.
 * `named`: the document's components.schemas, which `$ref`s point into.
 */
export function sampleOf(schema: JsonSchema, named: Record<string, JsonSchema> = {}): unknown {
  const sample = (s: JsonSchema): unknown => sampleOf(s, named)
  if (typeof schema.$ref === 'string') return sample(named[schema.$ref.replace('#/components/schemas/', '')] ?? {})
  if ('const' in schema) return schema.const
  if (Array.isArray(schema.enum)) return schema.enum[0]
  if ('default' in schema) return schema.default
  for (const key of ['anyOf', 'oneOf'] as const) {
    const choices = schema[key]
    if (Array.isArray(choices) && choices.length > 0) return sample(choices[0] as JsonSchema)
  }
  if (Array.isArray(schema.allOf))
    return Object.assign({}, ...(schema.allOf.map((s) => sample(s as JsonSchema)) as object[]))
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>
      const names = [...new Set([...((schema.required ?? []) as string[]), ...Object.keys(properties)])]
      const count = Math.max(((schema.required ?? []) as string[]).length, Number(schema.minProperties ?? 0))
      return Object.fromEntries(names.slice(0, count).map((name) => [name, sample(properties[name] ?? {})]))
    }
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, () => sample((schema.items ?? {}) as JsonSchema))
    case 'integer':
    case 'number':
      return Number(schema.minimum ?? 1)
    case 'boolean':
      return true
    case 'null':
      return null
    case 'string': {
      if (schema.format === 'uuid') return '00000000-0000-7000-8000-000000000000'
      if (schema.format === 'date-time') return '2026-01-01T00:00:00Z'
      return 'x'.repeat(Math.max(1, Number(schema.minLength ?? 1)))
    }
    default:
      return {}
  }
}
