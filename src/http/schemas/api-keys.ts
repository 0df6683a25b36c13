// Request and response schemas of /v1/api-keys.
import { Type } from 'typebox'
import { ApiKeyResource, TeamName } from '../../auth/api-key-resource.js'
export { CreateApiKeyRequest } from '../../auth/api-key-resource.js'

export const CreatedApiKey = Type.Intersect([
  ApiKeyResource,
  Type.Object({ key: Type.String({ description: 'The key: shown once, here. Only its hash is kept.' }) })
])

export const ApiKeyId = Type.Object({
  id: Type.String({ format: 'uuid', description: 'API key id.' })
})

export const ListApiKeysQuery = Type.Object(
  {
    team: Type.Optional(TeamName),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page.' })
    )
  },
  { additionalProperties: false }
)

export const ApiKeyPage = Type.Object({
  items: Type.Array(ApiKeyResource),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})
