// Answers of the health routes.
import { Type } from 'typebox'
import { named, ref } from './components.js'

export const DependencyCheck = named(
  'DependencyCheck',
  Type.Object({
    ok: Type.Boolean(),
    required: Type.Boolean({ description: 'Whether readiness depends on it (false: reported only).' }),
    error: Type.Optional(
      Type.String({
        description: 'Why it is not ok, e.g. "IMS refused the broker\'s credentials (invalid_client): …".'
      })
    )
  })
)

export const Readiness = named(
  'Readiness',
  Type.Object({
    ready: Type.Boolean({ description: 'Every required dependency answers.' }),
    checks: Type.Record(Type.String(), ref(DependencyCheck), {
      description: 'database, secretStore (required), flowService (reported only).'
    })
  })
)

export const Liveness = named('Liveness', Type.Object({ live: Type.Boolean() }))
