// Request and response schemas of /v1/audit.
import { Type } from 'typebox'
import { AuditEventResource, AuditOutcome } from '../audit/audit-event-resource.js'

export const AuditQuery = Type.Object({
  connectionId: Type.Optional(Type.String({ format: 'uuid' })),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Exactly as in items: key:<key id>, poller, anonymous, ...' })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'e.g. connection.create.' })),
  outcome: Type.Optional(AuditOutcome),
  team: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Admin keys only: rows acted by this team.' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Rows at or after this instant.' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Rows before this instant.' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page.' }))
}, { additionalProperties: false })

export const AuditPage = Type.Object({
  items: Type.Array(AuditEventResource, { description: 'Newest first.' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Older rows; null on the last page. Rows appended meanwhile are never in later pages.' })
})

export const AuditVerdict = Type.Object({
  valid: Type.Boolean(),
  checked: Type.Integer({ description: 'Rows examined.' }),
  firstBrokenId: Type.Optional(Type.String({ description: 'The first row whose hash or link to its predecessor does not hold.' }))
})
