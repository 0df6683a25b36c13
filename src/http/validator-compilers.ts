// Two ajv instances: bodies are checked as sent (no coercion, nothing removed, every error reported);
// query strings, params and headers are coerced from text, as they can only be text.
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

function build(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, ...options })
  addFormats.default(ajv)
  return ajv
}

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodies = build({ coerceTypes: false, removeAdditional: false, useDefaults: false })
  const text = build({ coerceTypes: 'array', removeAdditional: false, useDefaults: true })
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodies : text).compile(schema as object)
}
