// The emulator's connections: a Map by id, per-sandbox creation order and name index, lazy state transitions.
// Built for 100 000 connections: lookups are O(1), an id or name filter touches only its matches, and paging in
// creation order resumes with a binary search instead of skipping over earlier pages.
import type { ParamValue } from '../flow-service/types.js'
import type { EtagSource } from './identifiers.js'
import { newConnectionId, sandboxIdFor } from './identifiers.js'
import type { Cursor, FilterClause, ListPlan, OrderBy } from './list-query.js'

/** The identity and client Adobe's own connector service uses when it moves a connection along. */
export const ADOBE_CONNECTORS_IDENTITY = 'acp_foundation_connectors@AdobeID'
export const ADOBE_CONNECTORS_CLIENT = 'acp_foundation_connectors'

export interface StoredConnection {
  readonly id: string
  /** Creation order, unique across sandboxes; what default paging is keyed on. */
  readonly seq: number
  readonly sandboxName: string
  readonly sandboxId: string
  readonly imsOrgId: string
  name: string
  description: string | undefined
  readonly connectionSpec: Readonly<{ id: string; version: string }>
  /** Replaced on update, never mutated in place: seeded connections share one params object. */
  auth: Readonly<{ specName: string; params: Readonly<Record<string, ParamValue>> }>
  createdAt: number
  updatedAt: number
  readonly createdBy: string
  updatedBy: string
  readonly createdClient: string
  updatedClient: string
  /** Always set internally; the wire form hides it while initializing, as Flow Service does. */
  etag: string
  state: string
  /** When Flow Service will move it from initializing to enabled; undefined once that happened or a state was forced. */
  readyAt: number | undefined
  /** Secret references minted on first read, one per secret param; reset when the params change. */
  secretRefs: Record<string, string> | undefined
  testResult: boolean
  deleted: boolean
}

export interface NewConnection {
  sandboxName: string
  imsOrgId: string
  /** The IMS client that creates it (createdBy = createdClient for service tokens). */
  actor: string
  name: string
  description?: string
  connectionSpec: Readonly<{ id: string; version: string }>
  auth: Readonly<{ specName: string; params: Readonly<Record<string, ParamValue>> }>
  readyDelayMs: number
  /** Seeding only: start in this state (set by Adobe's identity) instead of initializing. */
  initialState?: string
}

export interface ConnectionChanges {
  name?: string
  /** null removes it. */
  description?: string | null
  params?: Record<string, ParamValue>
}

export interface Page {
  items: StoredConnection[]
  next?: Cursor
}

class SandboxPartition {
  /** Creation order; deleted entries stay until compaction so deletes are O(1). */
  order: StoredConnection[] = []
  tombstones = 0
  live = 0
  /** A name maps to its connection, or to a Set when several share it: a Set per name would double the memory of 100 000. */
  readonly byName = new Map<string, StoredConnection | Set<StoredConnection>>()
  readonly sandboxId: string

  constructor(readonly name: string) {
    this.sandboxId = sandboxIdFor(name)
  }

  indexName(conn: StoredConnection): void {
    const current = this.byName.get(conn.name)
    if (current === undefined) this.byName.set(conn.name, conn)
    else if (current instanceof Set) current.add(conn)
    else if (current !== conn) this.byName.set(conn.name, new Set([current, conn]))
  }

  unindexName(conn: StoredConnection): void {
    const current = this.byName.get(conn.name)
    if (current === conn) {
      this.byName.delete(conn.name)
    } else if (current instanceof Set) {
      current.delete(conn)
      if (current.size === 1) this.byName.set(conn.name, current.values().next().value as StoredConnection)
    }
  }

  named(name: string): Iterable<StoredConnection> {
    const current = this.byName.get(name)
    if (current === undefined) return []
    return current instanceof Set ? current : [current]
  }

  /** Drops tombstones once they are the majority, so the amortised cost of a delete stays O(1). */
  maybeCompact(): void {
    if (this.tombstones > 64 && this.tombstones * 2 > this.order.length) {
      this.order = this.order.filter((c) => !c.deleted)
      this.tombstones = 0
    }
  }

  /** Index of the first entry created after `seq`. */
  firstAfter(seq: number): number {
    let lo = 0
    let hi = this.order.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.order[mid] as StoredConnection).seq <= seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

export class ConnectionStore {
  private readonly byId = new Map<string, StoredConnection>()
  private readonly partitions = new Map<string, SandboxPartition>()
  private seq = 0

  constructor(
    private readonly clock: () => number,
    private readonly etags: EtagSource
  ) {}

  get size(): number {
    return this.byId.size
  }

  create(input: NewConnection): StoredConnection {
    const conn = this.build(input, newConnectionId(), ++this.seq)
    const part = this.partition(input.sandboxName)
    this.byId.set(conn.id, conn)
    part.order.push(conn)
    part.live++
    part.indexName(conn)
    return conn
  }

  /**
   * A connection that is not stored, for answers about a connection that does not exist (other-item faults).
   * Its seq is 0, so it never takes part in paging.
   */
  detached(input: NewConnection, id = newConnectionId()): StoredConnection {
    return this.build(input, id, 0)
  }

  private build(input: NewConnection, id: string, seq: number): StoredConnection {
    const now = this.clock()
    const part = this.partition(input.sandboxName)
    // Adobe moves a new connection to enabled by itself; recording when lets reads compute the state lazily
    // instead of arming one timer per connection.
    const readyAt = input.initialState === undefined ? now + input.readyDelayMs : undefined
    const byAdobe = input.initialState !== undefined
    return {
      id,
      seq,
      sandboxName: part.name,
      sandboxId: part.sandboxId,
      imsOrgId: input.imsOrgId,
      name: input.name,
      description: input.description,
      // Kept as given (never mutated, replaced on update), so seeds can share one object across 100 000 connections.
      connectionSpec: input.connectionSpec,
      auth: input.auth,
      createdAt: now,
      updatedAt: now,
      createdBy: input.actor,
      updatedBy: byAdobe ? ADOBE_CONNECTORS_IDENTITY : input.actor,
      createdClient: input.actor,
      updatedClient: byAdobe ? ADOBE_CONNECTORS_CLIENT : input.actor,
      etag: this.etags.next(now),
      state: input.initialState ?? 'initializing',
      readyAt,
      secretRefs: undefined,
      testResult: true,
      deleted: false
    }
  }

  /** The live connection of the sandbox created last, skipping `except`; what a same-id fault answers about. */
  newest(sandboxName: string, except: ReadonlySet<string> = new Set()): StoredConnection | undefined {
    const order = this.partitions.get(sandboxName)?.order ?? []
    for (let i = order.length - 1; i >= 0; i--) {
      const conn = order[i] as StoredConnection
      if (!conn.deleted && !except.has(conn.id)) {
        this.settle(conn)
        return conn
      }
    }
    return undefined
  }

  /** A connection of this sandbox, with its state brought up to date; other sandboxes' connections are invisible. */
  get(sandboxName: string, id: string): StoredConnection | undefined {
    const conn = this.byId.get(id)
    if (conn === undefined || conn.sandboxName !== sandboxName) return undefined
    this.settle(conn)
    return conn
  }

  /** A connection of any sandbox (the control API's view). */
  find(id: string): StoredConnection | undefined {
    const conn = this.byId.get(id)
    if (conn !== undefined) this.settle(conn)
    return conn
  }

  update(conn: StoredConnection, changes: ConnectionChanges, actor: string): void {
    const now = this.clock()
    const part = this.partition(conn.sandboxName)
    if (changes.name !== undefined && changes.name !== conn.name) {
      part.unindexName(conn)
      conn.name = changes.name
      part.indexName(conn)
    }
    if (changes.description !== undefined) conn.description = changes.description ?? undefined
    if (changes.params !== undefined) {
      conn.auth = { specName: conn.auth.specName, params: changes.params }
      conn.secretRefs = undefined // a new secret version gets a new reference
    }
    conn.updatedAt = now
    conn.updatedBy = actor
    conn.updatedClient = actor
    conn.etag = this.etags.next(now)
  }

  /** What Flow Service's own machinery does: any state, a new version, Adobe's identity as the updater. */
  forceState(conn: StoredConnection, state: string): void {
    const now = this.clock()
    conn.state = state
    conn.readyAt = undefined
    conn.updatedAt = now
    conn.updatedBy = ADOBE_CONNECTORS_IDENTITY
    conn.updatedClient = ADOBE_CONNECTORS_CLIENT
    conn.etag = this.etags.next(now)
  }

  /** Adobe's machinery touching a connection without changing it: a new version only (lost-answer with thenBump). */
  touchByAdobe(conn: StoredConnection): void {
    const now = this.clock()
    conn.updatedAt = now
    conn.updatedBy = ADOBE_CONNECTORS_IDENTITY
    conn.updatedClient = ADOBE_CONNECTORS_CLIENT
    conn.etag = this.etags.next(now)
  }

  delete(conn: StoredConnection): void {
    if (conn.deleted) return
    const part = this.partition(conn.sandboxName)
    conn.deleted = true
    this.byId.delete(conn.id)
    part.unindexName(conn)
    part.live--
    part.tombstones++
    part.maybeCompact()
  }

  list(sandboxName: string, plan: Extract<ListPlan, { kind: 'page' }>): Page {
    const part = this.partitions.get(sandboxName)
    if (part === undefined) return { items: [] }
    if (plan.orderBy !== undefined) return this.listOrdered(part, plan.clauses, plan.limit, plan.orderBy, plan.cursor)

    const after = plan.cursor !== undefined && 'after' in plan.cursor ? plan.cursor.after : 0
    // One more than the page tells whether a next page exists without counting the rest.
    const wanted = plan.limit + 1
    const out: StoredConnection[] = []
    const candidates = this.candidates(part, plan.clauses)
    if (candidates !== undefined) {
      for (const conn of candidates) {
        if (conn.seq <= after) continue
        this.settle(conn)
        if (matches(conn, plan.clauses)) out.push(conn)
        if (out.length === wanted) break
      }
    } else {
      const order = part.order
      for (let i = part.firstAfter(after); i < order.length && out.length < wanted; i++) {
        const conn = order[i] as StoredConnection
        if (conn.deleted) continue
        this.settle(conn)
        if (matches(conn, plan.clauses)) out.push(conn)
      }
    }
    if (out.length <= plan.limit) return { items: out }
    out.pop()
    return { items: out, next: { after: (out[out.length - 1] as StoredConnection).seq } }
  }

  count(sandboxName: string, clauses: readonly FilterClause[]): number {
    const part = this.partitions.get(sandboxName)
    if (part === undefined) return 0
    if (clauses.length === 0) return part.live
    let n = 0
    for (const conn of this.candidates(part, clauses) ?? part.order) {
      if (conn.deleted) continue
      this.settle(conn)
      if (matches(conn, clauses)) n++
    }
    return n
  }

  /** Every live connection in creation order, of one sandbox or all. */
  all(sandboxName?: string): StoredConnection[] {
    const out: StoredConnection[] = []
    if (sandboxName === undefined) {
      // Map iteration follows insertion, i.e. creation order, and ids are never re-inserted.
      for (const conn of this.byId.values()) out.push(conn)
    } else {
      for (const conn of this.partitions.get(sandboxName)?.order ?? []) if (!conn.deleted) out.push(conn)
    }
    for (const conn of out) this.settle(conn)
    return out
  }

  clear(): void {
    this.byId.clear()
    this.partitions.clear()
  }

  /** Applies the initializing → enabled move if its time has come (Adobe's connector identity does it). */
  private settle(conn: StoredConnection): void {
    if (conn.readyAt === undefined) return
    const now = this.clock()
    if (now < conn.readyAt) return
    conn.state = 'enabled'
    conn.updatedAt = Math.max(conn.updatedAt, conn.readyAt)
    conn.updatedBy = ADOBE_CONNECTORS_IDENTITY
    conn.updatedClient = ADOBE_CONNECTORS_CLIENT
    conn.etag = this.etags.next(now)
    conn.readyAt = undefined
  }

  private partition(sandboxName: string): SandboxPartition {
    let part = this.partitions.get(sandboxName)
    if (part === undefined) {
      part = new SandboxPartition(sandboxName)
      this.partitions.set(sandboxName, part)
    }
    return part
  }

  /** The few connections an `id==` or `name==` clause can match, in creation order; undefined means scan all. */
  private candidates(part: SandboxPartition, clauses: readonly FilterClause[]): StoredConnection[] | undefined {
    const byId = clauses.find((c) => c.field === 'id' && c.op === '==')
    if (byId !== undefined) {
      const found: StoredConnection[] = []
      for (const id of new Set(byId.values)) {
        const conn = this.byId.get(id)
        if (conn !== undefined && conn.sandboxName === part.name) found.push(conn)
      }
      return found.sort(bySeq)
    }
    const byName = clauses.find((c) => c.field === 'name' && c.op === '==')
    if (byName !== undefined) {
      const found = new Set<StoredConnection>()
      for (const name of byName.values) for (const conn of part.named(name)) found.add(conn)
      return [...found].sort(bySeq)
    }
    return undefined
  }

  private listOrdered(
    part: SandboxPartition,
    clauses: readonly FilterClause[],
    limit: number,
    orderBy: OrderBy,
    cursor: Cursor | undefined
  ): Page {
    // An explicit order needs every match sorted; acceptable because it is rare and bounded by the sandbox size.
    const all: StoredConnection[] = []
    for (const conn of this.candidates(part, clauses) ?? part.order) {
      if (conn.deleted) continue
      this.settle(conn)
      if (matches(conn, clauses)) all.push(conn)
    }
    const sign = orderBy.descending ? -1 : 1
    // A total order: the field, then creation order, so a cursor (key, seq) says exactly where the next page starts.
    const compare = (x: string | number, xSeq: number, y: string | number, ySeq: number): number => {
      if (x < y) return -sign
      if (x > y) return sign
      return xSeq - ySeq
    }
    all.sort((a, b) => compare(orderValue(a, orderBy.field), a.seq, orderValue(b, orderBy.field), b.seq))
    let start = 0
    if (cursor !== undefined && 'key' in cursor) {
      while (start < all.length) {
        const conn = all[start] as StoredConnection
        if (compare(orderValue(conn, orderBy.field), conn.seq, cursor.key, cursor.seq) > 0) break
        start++
      }
    }
    const items = all.slice(start, start + limit)
    if (start + limit >= all.length) return { items }
    const last = items[items.length - 1] as StoredConnection
    return {
      items,
      next: {
        field: orderBy.field,
        descending: orderBy.descending,
        key: orderValue(last, orderBy.field),
        seq: last.seq
      }
    }
  }
}

function bySeq(a: StoredConnection, b: StoredConnection): number {
  return a.seq - b.seq
}

function fieldValue(conn: StoredConnection, field: FilterClause['field']): string | undefined {
  switch (field) {
    case 'id':
      return conn.id
    case 'name':
      return conn.name
    case 'description':
      return conn.description
    case 'connectionSpec.id':
      return conn.connectionSpec.id
    case 'state':
      return conn.state
  }
}

function matches(conn: StoredConnection, clauses: readonly FilterClause[]): boolean {
  for (const clause of clauses) {
    const value = fieldValue(conn, clause.field)
    const hit = value !== undefined && clause.values.includes(value)
    if (hit !== (clause.op === '==')) return false
  }
  return true
}

function orderValue(conn: StoredConnection, field: OrderBy['field']): string | number {
  switch (field) {
    case 'createdAt':
      return conn.createdAt
    case 'updatedAt':
      return conn.updatedAt
    case 'name':
      return conn.name
    case 'id':
      return conn.id
    case 'state':
      return conn.state
  }
}
