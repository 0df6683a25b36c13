// Injected faults: a queue per operation consumed by the next requests, and the answers the answering kinds give.
import { flowError, gateway, imsError, imsServerError, serverError } from './adobe-errors.js'
import type { Reply } from './http-io.js'
import type { FaultSpec, Operation, PendingFault } from './types.js'
import { OPERATIONS } from './types.js'

/** Every operation but token: the Flow Service ones. */
export const FLOW_OPERATIONS: readonly Operation[] = OPERATIONS.filter((op) => op !== 'token')

export class FaultBook {
  private readonly queues = new Map<Operation, PendingFault[]>()

  add(operation: Operation, fault: FaultSpec, count = 1): void {
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`fault count must be a positive integer, got ${count}`)
    const misfit = whyNotApplicable(operation, fault)
    if (misfit !== undefined) throw new RangeError(misfit)
    let queue = this.queues.get(operation)
    if (queue === undefined) {
      queue = []
      this.queues.set(operation, queue)
    }
    queue.push({ operation, fault, remaining: count })
  }

  /** The fault for this request, if any; each call uses up one of its count. */
  take(operation: Operation): FaultSpec | undefined {
    const queue = this.queues.get(operation)
    const head = queue?.[0]
    if (queue === undefined || head === undefined) return undefined
    head.remaining--
    if (head.remaining <= 0) queue.shift()
    return head.fault
  }

  clear(operation?: Operation): void {
    if (operation === undefined) this.queues.clear()
    else this.queues.delete(operation)
  }

  pending(): PendingFault[] {
    const out: PendingFault[] = []
    for (const op of OPERATIONS) for (const p of this.queues.get(op) ?? []) out.push({ ...p })
    return out
  }
}

/** Kinds that only make sense for some operations; the others apply to every operation. */
const ONLY_FOR: Partial<Record<FaultSpec['kind'], readonly Operation[]>> = {
  'odd-200': FLOW_OPERATIONS,
  echo: FLOW_OPERATIONS,
  'other-item': ['get', 'list'],
  'same-id': ['create'],
  'late-landing': ['create']
}

/** Operations whose lost answer can be followed by Adobe touching the connection: they name one connection. */
const BUMPABLE: readonly Operation[] = ['create', 'update', 'get', 'test']

/** Why `fault` cannot apply to `operation`, or undefined when it can. */
export function whyNotApplicable(operation: Operation, fault: FaultSpec): string | undefined {
  const only = ONLY_FOR[fault.kind]
  if (only !== undefined && !only.includes(operation))
    return `fault '${fault.kind}' applies only to ${only.join(', ')}, not to ${operation}`
  if (fault.kind === 'lost-answer' && fault.thenBump === true && !BUMPABLE.includes(operation)) {
    return `lost-answer with thenBump applies only to ${BUMPABLE.join(', ')}, not to ${operation}`
  }
  return undefined
}

/** The answer of a fault that answers (status, rate-limit, reject); undefined for the others. */
export function faultReply(operation: Operation, fault: FaultSpec, requestId: string): Reply | undefined {
  switch (fault.kind) {
    case 'status': {
      const headers =
        fault.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(fault.retryAfterSeconds) }
      return operation === 'token'
        ? imsServerError(fault.status, headers)
        : serverError(fault.status, requestId, headers)
    }
    case 'rate-limit': {
      const headers =
        fault.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(fault.retryAfterSeconds) }
      if (fault.emptyBody === true) return { status: 429, ...(headers === undefined ? {} : { headers }) }
      return operation === 'token'
        ? imsError(429, 'too_many_requests', 'Too many requests', headers)
        : gateway.tooManyRequests(headers)
    }
    case 'reject': {
      if (operation === 'token') return imsError(400, fault.code, fault.message ?? 'rejected')
      return flowError(fault.code, fault.message ?? `Rejected by the emulator (injected ${fault.code}).`, requestId)
    }
    default:
      return undefined
  }
}
