// The catalogue as `GET /v1/connection-specs` serves it: what each source accepts, which params are secret and required.
import { Type, type Static } from 'typebox'
import type { ConnectionSpec } from './types.js'
import { ParamFormat } from './types.js'
import { catalog } from './catalog.js'

export const ParamDescription = Type.Object({
  name: Type.String({ description: 'Key in auth.params.' }),
  description: Type.String(),
  required: Type.Boolean(),
  secret: Type.Boolean({ description: 'Kept in the secret store and shown only as a reference.' }),
  format: ParamFormat,
  example: Type.Optional(Type.String())
})
export type ParamDescription = Static<typeof ParamDescription>

export const AuthSpecDescription = Type.Object({
  name: Type.String({ description: 'The auth.specName to send.' }),
  description: Type.String(),
  deprecated: Type.Optional(Type.String({ description: 'Why this auth spec is deprecated; still accepted.' })),
  availability: Type.Optional(
    Type.String({
      description: 'Where Flow Service offers it, e.g. "Experience Platform on Amazon Web Services only."'
    })
  ),
  params: Type.Array(ParamDescription)
})
export type AuthSpecDescription = Static<typeof AuthSpecDescription>

export const ConnectionSpecDescription = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The connectionSpec.id to send.' }),
  name: Type.String({ description: 'The source, e.g. Salesforce.' }),
  versions: Type.Array(Type.String(), { description: 'Accepted connectionSpec.version values.' }),
  beta: Type.Optional(Type.Boolean()),
  deprecated: Type.Optional(Type.String({ description: 'Why this source is deprecated; still accepted.' })),
  aliases: Type.Array(
    Type.Object({
      id: Type.String({ description: 'A mistyped id that is accepted and replaced by `id`.' }),
      why: Type.String()
    })
  ),
  authSpecs: Type.Array(AuthSpecDescription)
})
export type ConnectionSpecDescription = Static<typeof ConnectionSpecDescription>

export const ConnectionSpecList = Type.Object(
  {
    items: Type.Array(ConnectionSpecDescription)
  },
  { description: 'The connection specs the broker accepts.' }
)
export type ConnectionSpecList = Static<typeof ConnectionSpecList>

/** Copies field by field so nothing the catalogue adds later is served without being declared here first. */
export function describeCatalog(specs: readonly ConnectionSpec[] = catalog): ConnectionSpecList {
  return {
    items: specs.map((spec) => ({
      id: spec.id,
      name: spec.name,
      versions: [...spec.versions],
      ...(spec.beta === undefined ? {} : { beta: spec.beta }),
      ...(spec.deprecated === undefined ? {} : { deprecated: spec.deprecated }),
      aliases: spec.aliases.map((a) => ({ id: a.id, why: a.why })),
      authSpecs: spec.authSpecs.map((auth) => ({
        name: auth.name,
        description: auth.description,
        ...(auth.deprecated === undefined ? {} : { deprecated: auth.deprecated }),
        ...(auth.availability === undefined ? {} : { availability: auth.availability }),
        params: auth.params.map((p) => ({
          name: p.name,
          description: p.description,
          required: p.required,
          secret: p.secret,
          format: p.format,
          ...(p.example === undefined ? {} : { example: p.example })
        }))
      }))
    }))
  }
}
