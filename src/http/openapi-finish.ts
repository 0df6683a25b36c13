// The last touches of the OpenAPI document that route schemas cannot carry: media-type examples (@fastify/swagger
// drops the siblings of a `$ref`), and the create body's per-source variants, generated from the catalogue.
import { catalog } from '../catalog/catalog.js'
import type { ConnectionSpec, ParamSpec } from '../catalog/types.js'
import { OPERATION_EXAMPLES } from './openapi-examples.js'

type Json = Record<string, unknown>

const FORMATS: Record<ParamSpec['format'], Json & { description?: string }> = {
  text: { type: 'string', minLength: 1 },
  'salesforce-url': {
    type: 'string',
    format: 'uri',
    description: 'https://<domain>.my.salesforce.com (or another *.salesforce.com host); a trailing slash is removed.'
  },
  'https-url': { type: 'string', format: 'uri', description: 'An https URL.' },
  'api-version': {
    type: 'string',
    pattern: '^[0-9]+\\.[0-9]+$',
    description: 'A decimal version such as 60.0 (52 is corrected to 52.0).'
  },
  'marketing-cloud-rest-host': {
    type: 'string',
    format: 'hostname',
    description:
      '{subdomain}.rest.marketingcloudapis.com; a bare subdomain, the auth URL, a scheme or a trailing slash is corrected to it.'
  },
  'marketing-cloud-subdomain': { type: 'string', format: 'hostname', description: 'A single DNS label.' },
  hostname: { type: 'string', format: 'hostname', description: 'A bare host name, no scheme.' },
  boolean: { type: 'boolean', description: 'The strings "true" and "false" are accepted and converted.' }
}

function paramSchema(param: ParamSpec): Json {
  const format = FORMATS[param.format]
  return {
    ...format,
    description: [param.description, format.description].filter((d) => d !== undefined).join(' '),
    'x-param-format': param.format,
    ...(param.secret
      ? {
          format: 'password',
          writeOnly: true,
          'x-secret': true
        }
      : {}),
    ...(param.example === undefined ? {} : { examples: [param.example] })
  }
}

/** One variant of the create body per connection spec and auth spec: what each source takes. */
export function createBodyVariants(specs: readonly ConnectionSpec[] = catalog): Json[] {
  return specs.flatMap((spec) =>
    spec.authSpecs.map((auth) => {
      const notes = [spec.deprecated, auth.deprecated, auth.availability].filter((n) => n !== undefined)
      return {
        title: `${spec.name}: ${auth.name}`,
        ...(notes.length > 0 ? { description: notes.join(' ') } : {}),
        ...(spec.deprecated !== undefined || auth.deprecated !== undefined ? { deprecated: true } : {}),
        type: 'object',
        properties: {
          auth: {
            type: 'object',
            required: ['specName', 'params'],
            properties: {
              specName: { const: auth.name },
              params: {
                type: 'object',
                additionalProperties: false,
                required: auth.params.filter((p) => p.required).map((p) => p.name),
                properties: Object.fromEntries(auth.params.map((p) => [p.name, paramSchema(p)]))
              }
            }
          },
          connectionSpec: {
            type: 'object',
            required: ['id', 'version'],
            properties: {
              id: { enum: [spec.id, ...spec.aliases.map((a) => a.id)] },
              version: { enum: [...spec.versions] }
            }
          }
        }
      }
    })
  )
}

const VARIANTS_NOTE =
  'What each source takes is spelled out in `oneOf`, one variant per connection spec and auth spec of the catalogue (GET /v1/connection-specs serves the same data). The `oneOf` is documentation: the broker checks bodies against the catalogue itself, which also accepts and corrects a few known mistakes (a mistyped connection spec id, auth spec names in another case, a Marketing Cloud host in another form, "true"/"false" strings, an apiVersion of 52) and reports each in `notices`, and answers 400 naming each wrong field.'

interface Operation {
  operationId?: string
  requestBody?: { content?: Record<string, Json> }
  responses?: Record<string, { content?: Record<string, Json> }>
}

/** @fastify/swagger's transformObject: the document as built from the routes, finished. */
export function finishDocument<T extends object>(document: T): T {
  const doc = document as T & {
    paths?: Record<string, Record<string, Operation>>
    components?: { schemas?: Record<string, Json> }
  }
  const schemas = doc.components?.schemas
  const body = schemas?.CreateConnectionRequest
  if (schemas !== undefined && body !== undefined) {
    schemas.CreateConnectionRequest = {
      ...body,
      description: VARIANTS_NOTE,
      oneOf: createBodyVariants()
    }
  }
  for (const methods of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(methods)) {
      const examples = OPERATION_EXAMPLES[operation.operationId ?? '']
      if (examples === undefined) continue
      const media = operation.requestBody?.content?.['application/json']
      if (media !== undefined && examples.request !== undefined) media.examples = examples.request
      for (const [status, named] of Object.entries(examples.responses ?? {})) {
        const content = operation.responses?.[status]?.content
        const first = content === undefined ? undefined : Object.values(content)[0]
        if (first === undefined) throw new Error(`${operation.operationId}: no ${status} answer to put examples in`)
        first.examples = named
      }
    }
  }
  return document
}
