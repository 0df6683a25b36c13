// The create body: exactly what Flow Service's POST /connections takes; params are checked by the catalogue.
import { Type, type Static } from 'typebox'

/** Exactly the body Flow Service's POST /connections takes. */
export const CreateConnectionRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    auth: Type.Object(
      {
        specName: Type.String({
          minLength: 1,
          description: 'e.g. Basic Authentication; see GET /v1/connection-specs.'
        }),
        params: Type.Record(Type.String(), Type.Unknown(), {
          description: 'The auth spec params; checked against the catalogue.'
        })
      },
      { additionalProperties: false }
    ),
    connectionSpec: Type.Object(
      {
        id: Type.String({
          minLength: 1,
          description: 'Connection spec id, e.g. cfc0fee1-7dc0-40ef-b73e-d8b134c436f5 (Salesforce).'
        }),
        version: Type.String({ minLength: 1, description: 'e.g. 1.0' })
      },
      { additionalProperties: false }
    )
  },
  { additionalProperties: false }
)
export type CreateConnectionRequest = Static<typeof CreateConnectionRequest>
