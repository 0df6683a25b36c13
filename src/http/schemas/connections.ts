// Request and response schemas of /v1/connections (types flow from these; never written twice).
import { Type } from 'typebox'
import {
  ConnectionResource as ConnectionResourceSchema,
  ConnectionState
} from '../../connections/connection-resource.js'
import { CreateConnectionRequest as CreateConnectionRequestSchema } from '../../connections/create/create-connection-request.js'
import { named, page, ref } from './components.js'
import { Notice } from './problem.js'

export const ConnectionResource = named('Connection', ConnectionResourceSchema)

export const CreateConnectionRequest = named('CreateConnectionRequest', CreateConnectionRequestSchema)

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

export const CreatedConnection = named(
  'CreatedConnection',
  Type.Object(
    {
      ...ConnectionResourceSchema.properties,
      notices: Type.Array(ref(Notice), {
        description: 'What the broker corrected in the request (e.g. a mistyped connection spec id), and why.'
      })
    },
    { description: 'A connection, with what the broker corrected in the request that made it or changed it.' }
  )
)

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

export const ConnectionPage = page('ConnectionPage', ConnectionResource, 'One page of connections.')

export const ConnectionEvent = named(
  'ConnectionEvent',
  Type.Object(
    {
      id: Type.String(),
      from: Type.Union([Type.String(), Type.Null()]),
      to: Type.String(),
      reason: Type.Union([Type.String(), Type.Null()]),
      downstreamState: Type.Union([Type.String(), Type.Null()]),
      observedAt: Type.String({ format: 'date-time' }),
      observedBy: Type.String({ description: 'request, poller or reconciler' }),
      requestId: Type.Union([Type.String(), Type.Null()])
    },
    { description: 'One state change of a connection.' }
  )
)

export const ConnectionEvents = page(
  'ConnectionEvents',
  ConnectionEvent,
  'State history, oldest first, one page at a time.'
)

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
