// Request and response schemas of /v1/audit.
import { Type } from 'typebox'
import { AuditEventResource as AuditEventResourceSchema, AuditOutcome } from '../../audit/audit-event-resource.js'
import { named, page } from './components.js'

export const AuditEventResource = named('AuditEvent', AuditEventResourceSchema)

export const AuditQuery = Type.Object(
  {
    connectionId: Type.Optional(Type.String({ format: 'uuid' })),
    actor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Exactly as in items: key:<key id>, poller, anonymous, ...'
      })
    ),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'e.g. connection.create.' })),
    outcome: Type.Optional(AuditOutcome),
    team: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Admin keys only: rows acted by this team.' })
    ),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'Rows at or after this instant.' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'Rows before this instant.' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page.' })
    )
  },
  { additionalProperties: false }
)

export const AuditPage = page('AuditPage', AuditEventResource, 'One page of the audit history.', {
  items: 'Newest first.',
  nextCursor: 'Older rows; null on the last page. Rows appended meanwhile are never in later pages.'
})

export const AuditVerifyQuery = Type.Object(
  {
    full: Type.Boolean({
      default: false,
      description: 'Walk the whole chain from its first row instead of from the last row a previous run proved intact.'
    })
  },
  { additionalProperties: false }
)

export const AuditVerdict = named(
  'AuditVerdict',
  Type.Object(
    {
      valid: Type.Boolean(),
      checked: Type.Integer({ description: 'Rows examined by this run.' }),
      firstBrokenId: Type.Optional(
        Type.String({ description: 'The first row whose hash or link to its predecessor does not hold.' })
      ),
      full: Type.Boolean({ description: 'This run walked from the first row.' }),
      startedAfterId: Type.Union([Type.String(), Type.Null()], {
        description:
          'The run walked the rows after this one, proven intact by an earlier run; null: from the first row.'
      }),
      verifiedThroughId: Type.Union([Type.String(), Type.Null()], {
        description: 'When valid: the chain is proven intact up to this row, and the next run starts after it.'
      })
    },
    { description: 'What a run of the chain check found.' }
  )
)
