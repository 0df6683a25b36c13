// All SQL about connections and their state history. Functions take the executor (db or transaction) first.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely'
import type { ConnectionEventRow, ConnectionRow, ConnectionUpdate, Database, NewConnectionRow } from '../db/schema.js'
import { TERMINAL_STATES, type BrokerState } from '../domain/connection-states.js'

export interface ConnectionFilters {
  /** Undefined: every team (admin keys). */
  team?: string
  flowConnectionId?: string
  name?: string
  connectionSpecId?: string
  state?: BrokerState
  sandboxName?: string
  /** A key's limits: only connections in these sandboxes / of these specs. Undefined: no limit. */
  sandboxes?: readonly string[]
  connectionSpecIds?: readonly string[]
}

/** Where a key may look (see Caller): undefined lists mean everywhere. */
export interface ConnectionLimits {
  sandboxes?: readonly string[]
  connectionSpecIds?: readonly string[]
}

export async function insertConnection(db: Kysely<Database>, row: NewConnectionRow): Promise<ConnectionRow> {
  return await db.insertInto('connections').values(row).returningAll().executeTakeFirstOrThrow()
}

export async function findConnection(
  db: Kysely<Database>,
  id: string,
  team?: string,
  limits: ConnectionLimits = {}
): Promise<ConnectionRow | undefined> {
  let query = db.selectFrom('connections').selectAll().where('id', '=', id)
  if (team !== undefined) query = query.where('team', '=', team)
  if (limits.sandboxes !== undefined) query = query.where('sandbox_name', 'in', [...limits.sandboxes])
  if (limits.connectionSpecIds !== undefined)
    query = query.where('connection_spec_id', 'in', [...limits.connectionSpecIds])
  return await query.executeTakeFirst()
}

/** Locks the row for the rest of the transaction (serialises concurrent changes to one connection). */
export async function lockConnection(tx: Kysely<Database>, id: string): Promise<ConnectionRow | undefined> {
  return await tx.selectFrom('connections').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

export async function findByIdempotencyKey(
  db: Kysely<Database>,
  team: string,
  key: string
): Promise<ConnectionRow | undefined> {
  return await db
    .selectFrom('connections')
    .selectAll()
    .where('team', '=', team)
    .where('idempotency_key', '=', key)
    .executeTakeFirst()
}

/** One page in id order (uuid v7: creation order), strictly after `afterId`. */
export async function listConnections(
  db: Kysely<Database>,
  filters: ConnectionFilters,
  page: { limit: number; afterId?: string }
): Promise<ConnectionRow[]> {
  let query = db.selectFrom('connections').selectAll()
  if (filters.team !== undefined) query = query.where('team', '=', filters.team)
  if (filters.flowConnectionId !== undefined) query = query.where('flow_connection_id', '=', filters.flowConnectionId)
  if (filters.name !== undefined) query = query.where('name', '=', filters.name)
  if (filters.connectionSpecId !== undefined) query = query.where('connection_spec_id', '=', filters.connectionSpecId)
  if (filters.state !== undefined) query = query.where('state', '=', filters.state)
  if (filters.sandboxName !== undefined) query = query.where('sandbox_name', '=', filters.sandboxName)
  if (filters.sandboxes !== undefined) query = query.where('sandbox_name', 'in', [...filters.sandboxes])
  if (filters.connectionSpecIds !== undefined)
    query = query.where('connection_spec_id', 'in', [...filters.connectionSpecIds])
  if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
  return await query.orderBy('id').limit(page.limit).execute()
}

export async function updateConnection(
  db: Kysely<Database>,
  id: string,
  patch: ConnectionUpdate
): Promise<ConnectionRow> {
  return await db
    .updateTable('connections')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export interface NewConnectionEvent {
  connectionId: string
  fromState: BrokerState | null
  toState: BrokerState
  reason: string | null
  downstreamState: string | null
  observedBy: 'request' | 'poller' | 'reconciler'
  requestId: string | null
}

export async function insertConnectionEvent(db: Kysely<Database>, e: NewConnectionEvent): Promise<void> {
  await db
    .insertInto('connection_events')
    .values({
      connection_id: e.connectionId,
      from_state: e.fromState,
      to_state: e.toState,
      reason: e.reason,
      downstream_state: e.downstreamState,
      observed_at: new Date(),
      observed_by: e.observedBy,
      request_id: e.requestId
    })
    .execute()
}

/** One connection's events in the order they happened; with `page`, up to `limit` of them after event `afterId`. */
export async function listConnectionEvents(
  db: Kysely<Database>,
  connectionId: string,
  page?: { limit: number; afterId?: string }
): Promise<ConnectionEventRow[]> {
  let query = db
    .selectFrom('connection_events')
    .selectAll()
    .select(sql<string>`id::text`.as('id'))
    .where('connection_id', '=', connectionId)
  if (page?.afterId !== undefined) query = query.where('connection_events.id', '>', page.afterId)
  query = query.orderBy('connection_events.id')
  return await (page === undefined ? query : query.limit(page.limit)).execute()
}

/** A claim: which rows, in which order, for whom, until when. */
export interface LeaseClaim {
  owner: string
  /** Leases that ended before this are expired: their rows are claimable again (their replica died). */
  now: Date
  leaseUntil: Date
  limit: number
  /** Which rows are wanted, besides nobody holding a live lease on them. */
  where: (eb: ExpressionBuilder<Database, 'connections'>) => Expression<SqlBool>
  /** Ascending; the rows waiting longest first. */
  orderBy: 'next_poll_at' | 'created_at' | 'id' | 'duplicate_watch_until'
}

/**
 * Claims up to `limit` rows matching `where` for `owner` until `leaseUntil`, and returns them. Rows locked by
 * another replica's claim are skipped (SKIP LOCKED), rows under a live lease are left alone, and a row whose lease
 * has expired is claimable again. Every background claim (poller, reconciler) is one of these.
 */
export async function claimWithLease(db: Kysely<Database>, claim: LeaseClaim): Promise<ConnectionRow[]> {
  return await db.transaction().execute(async (tx) => {
    const candidates = await tx
      .selectFrom('connections')
      .select('id')
      .where(claim.where)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', claim.now)]))
      .orderBy(claim.orderBy)
      .limit(claim.limit)
      .forUpdate()
      .skipLocked()
      .execute()
    if (candidates.length === 0) return []
    return await tx
      .updateTable('connections')
      .set({ lease_owner: claim.owner, lease_until: claim.leaseUntil })
      .where(
        'id',
        'in',
        candidates.map((r) => r.id)
      )
      .returningAll()
      .execute()
  })
}

/** Claims up to `limit` connections whose poll is due, the longest overdue first (see claimWithLease). */
export async function claimDueConnections(
  db: Kysely<Database>,
  owner: string,
  now: Date,
  leaseUntil: Date,
  limit: number
): Promise<ConnectionRow[]> {
  return await claimWithLease(db, {
    owner,
    now,
    leaseUntil,
    limit,
    where: (eb) => eb('next_poll_at', '<=', now),
    orderBy: 'next_poll_at'
  })
}

/**
 * Takes the row's work lease for `owner` when nobody holds a live one (a create, a change, the poller or the
 * reconciler). One statement, so two replicas or two requests cannot both get it. Undefined when it is taken.
 */
export async function acquireLease(
  db: Kysely<Database>,
  id: string,
  owner: string,
  until: Date,
  now = new Date()
): Promise<ConnectionRow | undefined> {
  return await db
    .updateTable('connections')
    .set({ lease_owner: owner, lease_until: until })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', '=', owner)]))
    .returningAll()
    .executeTakeFirst()
}

/** Gives the lease back if it is still ours (it may have expired and been taken since). */
export async function releaseLease(db: Kysely<Database>, id: string, owner: string): Promise<void> {
  await db
    .updateTable('connections')
    .set({ lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .execute()
}

/**
 * Claims pending connections created before `createdBefore` (their create can no longer be running) that nobody
 * holds, oldest first, for the reconciler. SKIP LOCKED and the lease keep replicas from settling the same row twice.
 */
export async function claimStalePending(
  db: Kysely<Database>,
  owner: string,
  now: Date,
  createdBefore: Date,
  leaseUntil: Date,
  limit: number
): Promise<ConnectionRow[]> {
  return await claimWithLease(db, {
    owner,
    now,
    leaseUntil,
    limit,
    where: (eb) => eb.and([eb('state', '=', 'pending'), eb('created_at', '<', createdBefore)]),
    orderBy: 'created_at'
  })
}

/** Claims connections with a rotation whose outcome was never recorded (its request died or gave up). */
export async function claimUnsettledRotations(
  db: Kysely<Database>,
  owner: string,
  now: Date,
  leaseUntil: Date,
  limit: number
): Promise<ConnectionRow[]> {
  return await claimWithLease(db, {
    owner,
    now,
    leaseUntil,
    limit,
    where: (eb) => eb('pending_change', 'is not', null),
    orderBy: 'id'
  })
}

/** Claims settled connections under a duplicate watch (see watch-duplicates.ts) that nobody holds. */
export async function claimWatchedConnections(
  db: Kysely<Database>,
  owner: string,
  now: Date,
  leaseUntil: Date,
  limit: number
): Promise<ConnectionRow[]> {
  return await claimWithLease(db, {
    owner,
    now,
    leaseUntil,
    limit,
    where: (eb) => eb.and([eb('duplicate_watch_until', 'is not', null), eb('state', '!=', 'pending')]),
    orderBy: 'duplicate_watch_until'
  })
}

/**
 * Failed or deleted connections whose secret is still recorded as kept (a destroy that failed earlier), except
 * those deleted downstream whose secret is kept for an operator until `secret_destroy_after`.
 */
export async function findDeadSecretHolders(
  db: Kysely<Database>,
  limit: number,
  now = new Date()
): Promise<Array<{ id: string }>> {
  return await db
    .selectFrom('connections')
    .select('id')
    .where('secret_version', 'is not', null)
    .where('state', 'in', TERMINAL_STATES)
    .where((eb) => eb.or([eb('secret_destroy_after', 'is', null), eb('secret_destroy_after', '<=', now)]))
    .orderBy('id')
    .limit(limit)
    .execute()
}

/** Frees Idempotency-Keys of connections created before `createdBefore`: the key may then name a new request. */
export async function forgetIdempotencyKeys(db: Kysely<Database>, createdBefore: Date): Promise<number> {
  const result = await db
    .updateTable('connections')
    .set({ idempotency_key: null, request_fingerprint: null })
    .where('idempotency_key', 'is not', null)
    .where('created_at', '<', createdBefore)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Frees one connection's Idempotency-Key (its create failed for a reason a retry may not meet again). */
export async function forgetIdempotencyKey(db: Kysely<Database>, id: string): Promise<void> {
  await db
    .updateTable('connections')
    .set({ idempotency_key: null, request_fingerprint: null })
    .where('id', '=', id)
    .execute()
}
