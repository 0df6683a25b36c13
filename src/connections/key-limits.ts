// A key limited to some sandboxes or connection specs acts as if nothing outside them existed: a create outside is
// refused (403 naming the sandbox or spec, audited), and reads and changes never find what lies outside (404).
import { keyActor } from '../audit/audit-log.js'
import { withinKeyLimits, type Caller } from '../auth/scopes.js'
import { AppError } from '../errors/app-error.js'
import type { ConnectionLimits } from './connection-repository.js'
import type { ConnectionDeps, RequestContext } from './connection-deps.js'

/** The caller's limits as repository filters; a key with none gets none. */
export const connectionLimitsOf = (caller: Caller): ConnectionLimits => ({
  ...(caller.sandboxes !== null ? { sandboxes: caller.sandboxes } : {}),
  ...(caller.connectionSpecs !== null ? { connectionSpecIds: caller.connectionSpecs } : {})
})

const listed = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ')

/** Refuses, with an audit row, a create in a sandbox or of a spec the key may not act in. */
export async function assertMayCreate(
  deps: Pick<ConnectionDeps, 'audit'>,
  ctx: RequestContext,
  at: { sandboxName: string; connectionSpecId: string }
): Promise<void> {
  const { caller } = ctx
  if (withinKeyLimits(caller, at)) return
  const sandboxOutside = caller.sandboxes !== null && !caller.sandboxes.includes(at.sandboxName)
  await deps.audit.append({
    actor: keyActor(caller),
    action: 'connection.create',
    requestId: ctx.requestId,
    outcome: 'denied',
    detail: {
      status: 403,
      reason: sandboxOutside ? 'sandbox outside the key' : 'connection spec outside the key',
      sandboxName: at.sandboxName,
      connectionSpecId: at.connectionSpecId
    }
  })
  if (sandboxOutside) {
    throw new AppError(
      'forbidden',
      `This API key may not act in sandbox "${at.sandboxName}": it is limited to ${listed(caller.sandboxes ?? [])}. Send one of those in x-sandbox-name, or use a key for "${at.sandboxName}".`,
      {
        errors: [
          { path: 'header.x-sandbox-name', message: `sandbox "${at.sandboxName}" is outside this key's sandboxes` }
        ],
        extensions: { sandboxName: at.sandboxName }
      }
    )
  }
  throw new AppError(
    'forbidden',
    `This API key may not act on connection spec "${at.connectionSpecId}": it is limited to ${listed(caller.connectionSpecs ?? [])}.`,
    {
      errors: [
        {
          path: '/connectionSpec/id',
          message: `connection spec "${at.connectionSpecId}" is outside this key's connection specs`
        }
      ],
      extensions: { connectionSpecId: at.connectionSpecId }
    }
  )
}
