// API keys that cannot be stretched: keys made at boot are marked (a later boot with another value revokes them
// instead of keeping both, and never re-enables a revoked one); admin keys leave the teams callers can name, with
// the connections they created (an ordinary key of team `platform` saw them); and keys may be limited to some
// sandboxes and connection specs (null: every one, as every key before). Frozen: later changes are new files.
import { sql, type Kysely } from 'kysely'

/** Spelled here, not imported: migrations never import application code. TeamName refuses `*`. */
const ADMIN_TEAM = '*admin*'

export async function up (db: Kysely<unknown>): Promise<void> {
  await sql`alter table api_keys add column bootstrap text`.execute(db)
  await sql`alter table api_keys add column former_team text`.execute(db)
  await sql`alter table api_keys add column sandboxes jsonb`.execute(db)
  await sql`alter table api_keys add column connection_specs jsonb`.execute(db)

  // The boot made these (created_by 'boot', under the names it always gave them).
  await sql`update api_keys set bootstrap = 'BROKER_ADMIN_KEY' where created_by = 'boot' and name = 'BROKER_ADMIN_KEY'`.execute(db)
  await sql`update api_keys set bootstrap = 'dev' where created_by = 'boot' and name = 'dev admin key'`.execute(db)

  // An admin key's connections were filed under its team: the create's audit row says which key made each. The
  // (team, idempotency_key) index is unique, so when admins of two teams reused a key only the newest keeps it.
  await sql`
    with made as (
      select c.id, c.idempotency_key is not null
               and row_number() over (partition by c.idempotency_key order by c.id desc) > 1 as clash
      from connections c
      where c.id in (
        select a.connection_id from audit_events a
        join api_keys k on k.id::text = a.actor_key_id
        where a.action = 'connection.create' and a.outcome = 'success' and a.connection_id is not null
          and k.scopes @> '["admin"]'::jsonb)
    )
    update connections c
    set team = ${ADMIN_TEAM}, idempotency_key = case when made.clash then null else c.idempotency_key end
    from made where c.id = made.id`.execute(db)
  await sql`update api_keys set former_team = team, team = ${ADMIN_TEAM} where scopes @> '["admin"]'::jsonb`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  // Back to the team each admin key had (`platform` for those made since); idempotency keys of moved rows are
  // dropped, since the teams they return to may hold the same ones.
  await sql`
    update connections c
    set team = coalesce(k.former_team, 'platform'), idempotency_key = null
    from audit_events a join api_keys k on k.id::text = a.actor_key_id
    where c.team = ${ADMIN_TEAM} and a.connection_id = c.id and a.action = 'connection.create' and a.outcome = 'success'`.execute(db)
  await sql`update api_keys set team = coalesce(former_team, 'platform') where team = ${ADMIN_TEAM}`.execute(db)
  await sql`alter table api_keys drop column if exists connection_specs`.execute(db)
  await sql`alter table api_keys drop column if exists sandboxes`.execute(db)
  await sql`alter table api_keys drop column if exists former_team`.execute(db)
  await sql`alter table api_keys drop column if exists bootstrap`.execute(db)
}
