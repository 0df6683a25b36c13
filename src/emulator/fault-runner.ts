// Carries out one fault on one request: answer wrongly, answer late, drop the socket, or do the work and lose the
// answer. Flow Service kinds (odd-200, other-item, same-id, late-landing, echo, thenBump) need the FlowCall.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { serverError } from './adobe-errors.js'
import type { ConnectionRoutes } from './connection-routes.js'
import { createdReply } from './connection-routes.js'
import type { ConnectionStore } from './connection-store.js'
import { echoedParams, echoReply, oddReply, withOtherItem } from './fault-answers.js'
import { faultReply } from './faults.js'
import type { FlowCall } from './flow-call.js'
import { isContext } from './flow-call.js'
import type { Reply, TimerSet } from './http-io.js'
import { dropSocket, sendReply } from './http-io.js'
import { newConnectionId } from './identifiers.js'
import type { LateLandings } from './late-landings.js'
import type { FaultSpec, Operation } from './types.js'

/** A held request is dropped after this long when the fault names no delay: longer than any sane client timeout. */
export const DEFAULT_HOLD_MS = 60_000

export interface FaultRunDeps {
  store: ConnectionStore
  routes: ConnectionRoutes
  timers: TimerSet
  landings: LateLandings
}

export interface Exchange {
  req: IncomingMessage
  res: ServerResponse
  requestId: string
}

export async function runFault(
  deps: FaultRunDeps,
  io: Exchange,
  operation: Operation,
  fault: FaultSpec,
  work: () => Promise<Reply>,
  call?: FlowCall
): Promise<void> {
  const send = (reply: Reply): void => {
    sendReply(io.res, reply, io.requestId)
  }
  switch (fault.kind) {
    case 'reset':
      dropSocket(io.req)
      return
    case 'timeout':
      // Held until the client gives up, the hold ends, or the emulator closes; never answered either way.
      await deps.timers.wait(fault.delayMs ?? DEFAULT_HOLD_MS, closeSignal(io.res))
      dropSocket(io.req)
      return
    case 'delay':
      if (!(await deps.timers.wait(fault.delayMs, closeSignal(io.res)))) {
        dropSocket(io.req)
        return
      }
      send(await work())
      return
    case 'lost-answer': {
      // The work is done (a connection may now exist) but the answer never reaches the client.
      const reply = await work()
      dropSocket(io.req)
      if (fault.thenBump === true && call !== undefined) bumpAfter(deps, call, reply)
      return
    }
    case 'odd-200':
      send(oddReply(operation, fault.body))
      return
  }
  if (call === undefined) {
    // Token requests only reach here with kinds that answer (status, rate-limit, reject): the book refuses the rest.
    send(faultReply(operation, fault, io.requestId) ?? (await work()))
    return
  }
  switch (fault.kind) {
    case 'other-item':
      send(await otherItemAnswer(deps, call, fault.mode, fault.id, work))
      return
    case 'same-id':
      send(await sameIdAnswer(deps, call, fault.id, fault.create ?? true))
      return
    case 'late-landing':
      await lateLanding(deps, io, call, fault)
      return
    case 'echo': {
      const parsed = await call.parsedBody()
      const { values, whole } =
        parsed === undefined ? { values: [call.queryString], whole: undefined } : echoedParams(parsed)
      send(echoReply(fault, values.length === 0 ? [call.queryString] : values, whole, io.requestId))
      return
    }
    default:
      send(faultReply(operation, fault, io.requestId) ?? (await work()))
  }
}

/** Adobe's connector service touches the connection the lost answer was about: same state, new etag. */
function bumpAfter(deps: FaultRunDeps, call: FlowCall, reply: Reply): void {
  const route = call.route
  const id = 'id' in route ? route.id : idOf(reply)
  const conn = call.connection(id)
  if (conn !== undefined) deps.store.touchByAdobe(conn)
}

function idOf(reply: Reply): string | undefined {
  const body = reply.body
  if (reply.status !== 201 || typeof body !== 'object' || body === null) return undefined
  const id = (body as Record<string, unknown>).id
  return typeof id === 'string' ? id : undefined
}

async function otherItemAnswer(
  deps: FaultRunDeps,
  call: FlowCall,
  mode: 'replace' | 'add',
  id: string | undefined,
  work: () => Promise<Reply>
): Promise<Reply> {
  const ctx = call.context()
  if (!isContext(ctx)) return ctx
  const reply = await work()
  const shown = new Set<string>('id' in call.route ? [call.route.id] : [])
  const items = (reply.body as { items?: unknown } | undefined)?.items
  if (Array.isArray(items))
    for (const item of items as Array<{ id?: unknown }>) if (typeof item.id === 'string') shown.add(item.id)
  const other =
    id !== undefined
      ? (deps.store.get(ctx.sandboxName, id) ?? deps.routes.madeUpConnection(ctx, id))
      : (deps.store.newest(ctx.sandboxName, shown) ?? deps.routes.madeUpConnection(ctx))
  return withOtherItem(reply, mode, deps.routes.wire(other))
}

/** A 201 about another connection: `id` if it exists (else made up), or the sandbox's newest, checked before creating. */
async function sameIdAnswer(
  deps: FaultRunDeps,
  call: FlowCall,
  id: string | undefined,
  create: boolean
): Promise<Reply> {
  const prepared = await call.prepareCreate()
  if ('reply' in prepared) return prepared.reply
  const { ctx, input } = prepared
  const other = id !== undefined ? deps.store.get(ctx.sandboxName, id) : deps.store.newest(ctx.sandboxName)
  const answer =
    other !== undefined
      ? { id: other.id, etag: other.etag }
      : { id: id ?? newConnectionId(), etag: deps.routes.madeUpConnection(ctx).etag }
  if (create) deps.routes.commitCreate(input)
  return createdReply(answer.id, answer.etag)
}

/** The answer is lost now; the connection lands delayMs later (or at once via control.landNow). */
async function lateLanding(
  deps: FaultRunDeps,
  io: Exchange,
  call: FlowCall,
  fault: Extract<FaultSpec, { kind: 'late-landing' }>
): Promise<void> {
  const prepared = await call.prepareCreate()
  if ('reply' in prepared) {
    // A create Flow Service refuses never lands: its error answer is sent as usual.
    sendReply(io.res, prepared.reply, io.requestId)
    return
  }
  const { input } = prepared
  deps.landings.schedule(
    fault.delayMs,
    { sandboxName: input.sandboxName, name: input.name },
    () => deps.routes.commitCreate(input).conn.id
  )
  switch (fault.answer ?? 'drop') {
    case 'drop':
      dropSocket(io.req)
      return
    case '504':
      sendReply(io.res, serverError(504, io.requestId), io.requestId)
      return
    case 'timeout':
      await deps.timers.wait(fault.holdMs ?? DEFAULT_HOLD_MS, closeSignal(io.res))
      dropSocket(io.req)
  }
}

function closeSignal(res: ServerResponse): AbortSignal {
  const ac = new AbortController()
  res.once('close', () => {
    ac.abort()
  })
  return ac.signal
}
