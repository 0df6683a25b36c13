// Request and response schemas of the API (types flow from these; never written twice).
import { Type } from 'typebox'
import { ConnectionResource, ConnectionState, Notice } from '../../connections/connection-resource.js'
export { CreateConnectionRequest } from '../../connections/create/create-connection-request.js'

export const ConnectionId = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Broker connection id.' })
})

export const CreateConnectionHeaders = Type.Object({
  'x-sandbox-name': Type.Optional(
    Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,63}$',
      description: 'Flow Service sandbox (lowercase). Default from DEFAULT_SANDBOX_NAME.'
    })
  ),
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'Same key and body within 24 h: the original answer.'
    })
  )
})

export const CreatedConnection = Type.Intersect([ConnectionResource, Type.Object({ notices: Type.Array(Notice) })])

export const ListConnectionsQuery = Type.Object(
  {
    flowConnectionId: Type.Optional(Type.String({ minLength: 1 })),
    name: Type.Optional(Type.String({ minLength: 1 })),
    connectionSpecId: Type.Optional(Type.String({ minLength: 1 })),
    state: Type.Optional(ConnectionState),
    sandboxName: Type.Optional(Type.String({ minLength: 1 })),
    team: Type.Optional(Type.String({ minLength: 1, description: 'Admin keys only: narrow to one team.' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page.' })
    )
  },
  { additionalProperties: false }
)

export const ConnectionPage = Type.Object({
  items: Type.Array(ConnectionResource),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})

export const ConnectionEvent = Type.Object({
  id: Type.String(),
  from: Type.Union([Type.String(), Type.Null()]),
  to: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  downstreamState: Type.Union([Type.String(), Type.Null()]),
  observedAt: Type.String({ format: 'date-time' }),
  observedBy: Type.String({ description: 'request, poller or reconciler' }),
  requestId: Type.Union([Type.String(), Type.Null()])
})

export const ConnectionEvents = Type.Object({
  items: Type.Array(ConnectionEvent),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})

export const ConnectionEventsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 100 }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page.' })
    )
  },
  { additionalProperties: false }
)

export const ReadConnectionHeaders = Type.Object({
  'if-none-match': Type.Optional(
    Type.String({ description: 'The ETag of a representation you hold: 304 without a body while it is current.' })
  )
})

export const ChangeConnectionHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      description:
        'Change only while the connection still has this ETag (from GET /v1/connections/{id} or a previous change); otherwise 412 and nothing changes. `*`: any current version. Absent: unconditional.'
    })
  )
})
