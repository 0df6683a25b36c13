// Request and response schemas of /v1/api-keys.
import { Type } from 'typebox'
import {
  ApiKeyResource as ApiKeyResourceSchema,
  CreateApiKeyRequest as CreateApiKeyRequestSchema,
  TeamName
} from '../../auth/api-key-resource.js'
import { named, page } from './components.js'

export const ApiKeyResource = named('ApiKey', ApiKeyResourceSchema)

export const CreateApiKeyRequest = named('CreateApiKeyRequest', CreateApiKeyRequestSchema)

export const CreatedApiKey = named(
  'CreatedApiKey',
  Type.Object(
    {
      ...ApiKeyResourceSchema.properties,
      key: Type.String({ description: 'The key: shown once, here. Only its hash is kept.' })
    },
    { description: 'A new API key, with the key itself (this once).' }
  )
)

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

export const ApiKeyPage = page('ApiKeyPage', ApiKeyResource, 'One page of API keys.')
