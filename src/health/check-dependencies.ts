// Asks each dependency whether it answers, within a bound, and says why not in words safe to show anyone.
// Readiness (/health/ready) and the broker_dependency_up gauge (/metrics) both read it.
import { FlowServiceError } from '../flow-service/flow-service-error.js'

export interface DependencyCheck {
  check: () => Promise<void>
  /**
   * true: the broker cannot serve without it (database, secret store), so readiness fails with it.
   * false: reported, never a reason to take the replica out of rotation (Flow Service: reads, look-ups and audit
   * still work without it, and every replica would fail together).
   */
  required: boolean
}

export type DependencyChecks = Record<string, DependencyCheck>

export interface DependencyStatus {
  ok: boolean
  required: boolean
  error?: string
}

const CHECK_TIMEOUT_MS = 2000

/** Runs every check at once; `onFailure` sees the raw error (for a log line), the result only its description. */
export async function checkDependencies(
  checks: DependencyChecks,
  onFailure?: (name: string, err: unknown) => void
): Promise<Record<string, DependencyStatus>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, { check, required }]): Promise<readonly [string, DependencyStatus]> => {
      try {
        await withTimeout(check(), CHECK_TIMEOUT_MS)
        return [name, { ok: true, required }] as const
      } catch (err) {
        onFailure?.(name, err)
        return [name, { ok: false, required, error: describeFailure(err) }] as const
      }
    })
  )
  return Object.fromEntries(entries)
}

/**
 * The error's class and code only, since messages from clients can carry URLs with credentials; Flow Service and
 * IMS failures are classified already, and IMS refusing the broker's own credentials is said in so many words.
 */
export function describeFailure(err: unknown): string {
  if (err instanceof FlowServiceError) {
    if (err.operation === 'getToken' && err.kind === 'auth') {
      return `IMS refused the broker's credentials${err.code !== undefined ? ` (${err.code})` : ''}: check IMS_CLIENT_ID, IMS_CLIENT_SECRET and IMS_SCOPES`
    }
    const what = err.operation === 'getToken' ? 'IMS token request' : `Flow Service ${err.operation}`
    const detail = [err.status !== undefined ? `HTTP ${err.status}` : 'no answer', err.code]
      .filter((part) => part !== undefined)
      .join(', ')
    return `${what} failed (${err.kind}: ${detail})`
  }
  const e = err as { name?: string; code?: unknown }
  return `${e.name ?? 'Error'}${typeof e.code === 'string' ? ` (${e.code})` : ''}`
}

async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error('timed out'), { name: 'Timeout' }))
    }, ms)
  })
  try {
    await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}
