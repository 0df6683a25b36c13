// Request schemas of the changes to a connection: rename, credential rotation.
import { Type } from 'typebox'
import { named } from './components.js'

/** Text PostgreSQL can store: no NUL. Checked here because a rename reaches Flow Service before the database. */
const NO_NUL = '^[^\\u0000]*$'

export const RenameConnectionRequest = named(
  'RenameConnectionRequest',
  Type.Object(
    {
      name: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 512,
          pattern: NO_NUL,
          description: 'New name, in the broker and in Flow Service.'
        })
      ),
      description: Type.Optional(
        Type.Union([Type.String({ maxLength: 4096, pattern: NO_NUL }), Type.Null()], {
          description: 'New description; null or "" removes it.'
        })
      )
    },
    { additionalProperties: false, minProperties: 1, description: 'At least one of name and description.' }
  )
)

export const RotateCredentialsRequest = named(
  'RotateCredentialsRequest',
  Type.Object(
    {
      params: Type.Record(Type.String(), Type.Unknown(), {
        description:
          "The full params of the connection's auth spec (as in a create: every required param, secret ones included); checked against the catalogue."
      })
    },
    { additionalProperties: false }
  )
)
