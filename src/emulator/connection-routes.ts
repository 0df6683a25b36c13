// The Flow Service connection operations (create, get, list, update, delete, test) once headers are checked:
// each takes the request's context and returns the Reply Flow Service would give.
import type { ParamValue } from '../flow-service/types.js'
import { flowError, notFound } from './adobe-errors.js'
import type { ConnectionStore, NewConnection, StoredConnection } from './connection-store.js'
import type { Reply } from './http-io.js'
import { nextHref, parseListQuery } from './list-query.js'
import { validateCreate, validatePatch, ValidationError } from './request-validation.js'
import type { SpecRegistry } from './spec-registry.js'
import { toFlowConnection } from './wire-format.js'

export const FLOW_SERVICE_PREFIX = '/data/foundation/flowservice'

export interface FlowContext {
  sandboxName: string
  /** The IMS client of the token, recorded as createdBy/updatedBy. */
  clientId: string
  requestId: string
  query: URLSearchParams
  ifMatch: string | undefined
}

export interface ConnectionRoutesDeps {
  store: ConnectionStore
  registry: SpecRegistry
  awsAccount: string
  orgId: string
  readyDelayMs: () => number
}

/** States Flow Service lets a client update or delete (catalogue 1416-400 names them). */
const MUTABLE_STATES = new Set(['enabled', 'disabled', 'initializing'])

export class ConnectionRoutes {
  constructor(private readonly deps: ConnectionRoutesDeps) {}

  create(ctx: FlowContext, body: unknown): Reply {
    const input = this.prepareCreate(ctx, body)
    return 'status' in input ? input : this.commitCreate(input).reply
  }

  /** Validates a create body into what the store needs, or the error Flow Service answers. Nothing is stored yet. */
  prepareCreate(ctx: FlowContext, body: unknown): NewConnection | Reply {
    const valid = validateCreate(body, this.deps.registry)
    if (valid instanceof ValidationError) return flowError(valid.code, valid.message, ctx.requestId)
    return {
      sandboxName: ctx.sandboxName,
      imsOrgId: this.deps.orgId,
      actor: ctx.clientId,
      name: valid.name,
      ...(valid.description === undefined ? {} : { description: valid.description }),
      connectionSpec: valid.connectionSpec,
      auth: valid.auth,
      readyDelayMs: this.deps.readyDelayMs()
    }
  }

  commitCreate(input: NewConnection): { conn: StoredConnection; reply: Reply } {
    const conn = this.deps.store.create(input)
    return { conn, reply: createdReply(conn.id, conn.etag) }
  }

  get(ctx: FlowContext, id: string): Reply {
    const conn = this.deps.store.get(ctx.sandboxName, id)
    if (conn === undefined) return notFound(id, ctx.requestId)
    // An array even for one id, as Flow Service answers.
    return { status: 200, body: { items: [this.wire(conn)] } }
  }

  list(ctx: FlowContext): Reply {
    const plan = parseListQuery(ctx.query)
    if (!('kind' in plan)) return flowError(plan.code, plan.message, ctx.requestId)
    if (plan.kind === 'count')
      return { status: 200, body: { count: this.deps.store.count(ctx.sandboxName, plan.clauses) } }
    const page = this.deps.store.list(ctx.sandboxName, plan)
    return {
      status: 200,
      body: {
        items: page.items.map((c) => this.wire(c)),
        _links: page.next === undefined ? {} : { next: { href: nextHref(ctx.query, page.next) } }
      }
    }
  }

  update(ctx: FlowContext, id: string, body: unknown): Reply {
    if (ctx.ifMatch === undefined || ctx.ifMatch === '') return missingIfMatch(ctx.requestId)
    const conn = this.deps.store.get(ctx.sandboxName, id)
    if (conn === undefined) return notFound(id, ctx.requestId)
    const blocked = this.stateBlocks(conn, 'update', ctx.requestId) ?? this.etagMismatch(conn, ctx)
    if (blocked !== undefined) return blocked
    const authSpec = this.deps.registry.authSpec(conn.connectionSpec.id, conn.auth.specName)
    const patch = validatePatch(body, authSpec, conn.connectionSpec.id)
    if (patch instanceof ValidationError) return flowError(patch.code, patch.message, ctx.requestId)
    this.deps.store.update(conn, patch, ctx.clientId)
    return { status: 200, body: { id: conn.id, etag: conn.etag } }
  }

  /** If-Match is required as for PATCH: Adobe's catalogue documents 1403-400 for a missing one on update and delete. */
  remove(ctx: FlowContext, id: string): Reply {
    if (ctx.ifMatch === undefined || ctx.ifMatch === '') return missingIfMatch(ctx.requestId)
    const conn = this.deps.store.get(ctx.sandboxName, id)
    if (conn === undefined) return notFound(id, ctx.requestId)
    const blocked = this.stateBlocks(conn, 'delete', ctx.requestId) ?? this.etagMismatch(conn, ctx)
    if (blocked !== undefined) return blocked
    this.deps.store.delete(conn)
    return { status: 204 }
  }

  test(ctx: FlowContext, id: string): Reply {
    const conn = this.deps.store.get(ctx.sandboxName, id)
    if (conn === undefined) return notFound(id, ctx.requestId)
    return { status: 200, body: { result: conn.testResult } }
  }

  /**
   * A connection that exists nowhere (enabled, of the first catalogue spec, dummy params): what a peer that mixes up
   * answers may send about an id nobody created. Not stored.
   */
  madeUpConnection(ctx: FlowContext, id?: string): StoredConnection {
    const known = this.deps.registry.first()
    const authSpec = known?.spec.authSpecs[0]
    const params: Record<string, ParamValue> = {}
    for (const p of authSpec?.params ?? []) params[p.name] = p.format === 'boolean' ? false : `made-up-${p.name}`
    return this.deps.store.detached(
      {
        sandboxName: ctx.sandboxName,
        imsOrgId: this.deps.orgId,
        actor: ctx.clientId,
        name: 'made-up connection',
        connectionSpec: { id: known?.spec.id ?? 'unknown', version: known?.spec.versions[0] ?? '1.0' },
        auth: { specName: authSpec?.name ?? 'unknown', params },
        readyDelayMs: 0,
        initialState: 'enabled'
      },
      id
    )
  }

  /** A connection as Flow Service shows it (secrets as references, no etag while initializing). */
  wire(conn: StoredConnection): ReturnType<typeof toFlowConnection> {
    return toFlowConnection(conn, this.deps.registry, this.deps.awsAccount)
  }

  private stateBlocks(conn: StoredConnection, action: 'update' | 'delete', requestId: string): Reply | undefined {
    if (conn.state === 'initializing') {
      return flowError(
        '1417-400',
        `The ${action} operation is not allowed on connection ${conn.id} while it is in initializing state.`,
        requestId
      )
    }
    if (!MUTABLE_STATES.has(conn.state)) {
      return flowError(
        '1416-400',
        `Delete or update operations can only be applied to connections in enabled, disabled or initializing state; connection ${conn.id} is ${conn.state}.`,
        requestId
      )
    }
    return undefined
  }

  /** The etag must come back exactly as issued, quotes included; an unquoted one is a mismatch too. */
  private etagMismatch(conn: StoredConnection, ctx: FlowContext): Reply | undefined {
    if (ctx.ifMatch === conn.etag) return undefined
    return flowError(
      '1404-412',
      `Supplied version=[${ctx.ifMatch ?? ''}] does not match the current version on entity=[${conn.etag}]`,
      ctx.requestId
    )
  }
}

/** The answer to a create: 201, its id and etag, and where to find it. */
export function createdReply(id: string, etag: string): Reply {
  return {
    status: 201,
    headers: { location: `${FLOW_SERVICE_PREFIX}/connections/${encodeURIComponent(id)}` },
    body: { id, etag }
  }
}

function missingIfMatch(requestId: string): Reply {
  return flowError(
    '1403-400',
    "The header 'If-Match' is missing in the request. Please provide the header and try again.",
    requestId
  )
}
