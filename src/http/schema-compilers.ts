// How route schemas become code: request validators (ajv) and response serializers (fast-json-stringify).
//
// Validators: two ajv instances. Bodies are checked as sent (no coercion, nothing removed, every error reported);
// query strings, params and headers are coerced from text, as they can only be text.
//
// Both are compiled once per process, not once per app: the schemas are module constants, ajv caches what it compiled
// by schema object, and serializers are kept here the same way. An app built again in the same process (the OpenAPI
// generator, a test building dozens of brokers) reuses them instead of spending ~150 ms compiling them anew.
//
// Named schemas (schemas/shared.ts) are registered in each ajv instance when it is made, once per process (ajv
// refuses an `$id` twice), and passed to every serializer, so a route's `{ $ref: 'Problem#' }` resolves in both. The
// caches stay keyed by the route's schema object: references are module constants too (components.ts `ref`).
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'
import fastJsonStringify from 'fast-json-stringify'
import { SHARED_SCHEMAS, sharedSchemasById } from './schemas/shared.js'

function build(options: Options): Ajv {
  // validateSchema off: the schemas are TypeBox constants checked at compile time, and validating them against the
  // JSON Schema meta-schema first compiled that meta-schema in every process (~50 ms of CPU) for nothing.
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, ...options })
  addFormats.default(ajv)
  for (const schema of SHARED_SCHEMAS) ajv.addSchema(schema)
  return ajv
}

let validators: { bodies: Ajv; text: Ajv } | undefined

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  validators ??= {
    bodies: build({ coerceTypes: false, removeAdditional: false, useDefaults: false }),
    text: build({ coerceTypes: 'array', removeAdditional: false, useDefaults: true })
  }
  const { bodies, text } = validators
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodies : text).compile(schema as object)
}

type Serializer = (data: unknown) => string
const serializers = new WeakMap<object, Serializer>()
type JsonSchema = Parameters<typeof fastJsonStringify>[0]
let external: Record<string, JsonSchema> | undefined

/** fast-json-stringify as Fastify would call it for a route without shared schemas, compiled once per schema. */
export function serializerCompiler(): FastifySerializerCompiler<unknown> {
  return ({ schema }) => {
    const key = schema as object
    let serialize = serializers.get(key)
    if (serialize === undefined) {
      external ??= sharedSchemasById() as Record<string, JsonSchema>
      serialize = fastJsonStringify(key as JsonSchema, { schema: external })
      serializers.set(key, serialize)
    }
    return serialize
  }
}
