// Connection lifecycle: what a rejected create answered (so an idempotent replay answers the same), a rotation
// whose downstream outcome is not known yet (so a crash cannot leave Vault and Flow Service disagreeing), and
// partial indexes for the reconciler's sweeps. Frozen: later changes are new files.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  // { status, code, message } of Flow Service's refusal; never a secret (scrubbed before it is stored).
  await sql`alter table connections add column failure_detail jsonb`.execute(db)
  // { secretVersion, ifMatch, publicParams, secretFields } while a rotation's PATCH may or may not have landed.
  await sql`alter table connections add column pending_change jsonb`.execute(db)
  await sql`create index connections_pending_idx on connections (created_at) where state = 'pending'`.execute(db)
  await sql`create index connections_pending_change_idx on connections (id) where pending_change is not null`.execute(db)
  await sql`create index connections_idempotency_age_idx on connections (created_at) where idempotency_key is not null`.execute(db)
  await sql`create index connections_dead_secret_idx on connections (id) where secret_version is not null and state in ('failed', 'deleted')`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists connections_dead_secret_idx`.execute(db)
  await sql`drop index if exists connections_idempotency_age_idx`.execute(db)
  await sql`drop index if exists connections_pending_change_idx`.execute(db)
  await sql`drop index if exists connections_pending_idx`.execute(db)
  await sql`alter table connections drop column if exists pending_change`.execute(db)
  await sql`alter table connections drop column if exists failure_detail`.execute(db)
}
