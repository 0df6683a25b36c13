// Flow Service wire types (connections API), as Adobe documents them.
import { Type, type Static } from 'typebox'

export const ParamValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()])
export type ParamValue = Static<typeof ParamValue>

/** POST /connections body: exactly what teams send to the broker. */
export const CreateConnectionBody = Type.Object({
  name: Type.String(),
  description: Type.Optional(Type.String()),
  auth: Type.Object({
    specName: Type.String(),
    params: Type.Record(Type.String(), ParamValue)
  }),
  connectionSpec: Type.Object({
    id: Type.String(),
    version: Type.String()
  })
})
export type CreateConnectionBody = Static<typeof CreateConnectionBody>

/** A connection as GET /connections/{id} returns it (inside `{ items: [...] }`). */
export interface FlowConnection {
  id: string
  createdAt: number
  updatedAt: number
  createdBy?: string
  updatedBy?: string
  createdClient?: string
  updatedClient?: string
  sandboxId?: string
  sandboxName?: string
  imsOrgId?: string
  name: string
  description?: string
  connectionSpec: { id: string; version: string }
  /** enabled | disabled | initializing, or any other string Flow Service invents. */
  state: string
  auth: { specName: string; params: Record<string, ParamValue> }
  /** Absent while initializing. Quoted: "\"1400dd53-...\"". */
  version?: string
  etag?: string
}

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove'
  path: '/name' | '/description' | '/auth/params'
  value?: unknown
}

/** Flow Service's error body (long or short form, or a gateway error). */
export interface FlowServiceErrorBody {
  type?: string
  title?: string
  status?: number
  report?: { 'detailed-message'?: string; 'request-id'?: string }
  errorMessage?: string
  errorDetails?: unknown
  error_code?: string
  message?: string
  detail?: string
}
