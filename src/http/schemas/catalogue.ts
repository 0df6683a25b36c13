// The catalogue as GET /v1/connection-specs serves it, under names.
import { Type } from 'typebox'
import {
  AuthSpecDescription as AuthSpecDescriptionSchema,
  ConnectionSpecDescription as ConnectionSpecDescriptionSchema,
  ParamDescription as ParamDescriptionSchema
} from '../../catalog/describe-catalog.js'
import { named, ref } from './components.js'

export const ParamDescription = named('ParamDescription', ParamDescriptionSchema)

export const AuthSpecDescription = named(
  'AuthSpecDescription',
  Type.Object({ ...AuthSpecDescriptionSchema.properties, params: Type.Array(ref(ParamDescription)) })
)

export const ConnectionSpecDescription = named(
  'ConnectionSpecDescription',
  Type.Object({ ...ConnectionSpecDescriptionSchema.properties, authSpecs: Type.Array(ref(AuthSpecDescription)) })
)

export const ConnectionSpecList = named(
  'ConnectionSpecList',
  Type.Object(
    { items: Type.Array(ref(ConnectionSpecDescription)) },
    { description: 'The connection specs the broker accepts.' }
  )
)
