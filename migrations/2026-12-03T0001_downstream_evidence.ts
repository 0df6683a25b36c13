// What the broker needs so that it never concludes from an answer it has not checked: when a 404 was first seen
// (a second one some time later confirms the deletion), until when a deleted connection's secret is kept (an
// operator can still recover it), and until when the reconciler looks for late-landing duplicates of a create
// whose POST may have been sent more than once. Frozen: later changes are new files.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await sql`alter table connections add column gone_suspected_at timestamptz`.execute(db)
  await sql`alter table connections add column secret_destroy_after timestamptz`.execute(db)
  await sql`alter table connections add column duplicate_watch_until timestamptz`.execute(db)
  await sql`create index connections_duplicate_watch_idx on connections (duplicate_watch_until) where duplicate_watch_until is not null`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists connections_duplicate_watch_idx`.execute(db)
  await sql`alter table connections drop column if exists duplicate_watch_until`.execute(db)
  await sql`alter table connections drop column if exists secret_destroy_after`.execute(db)
  await sql`alter table connections drop column if exists gone_suspected_at`.execute(db)
}
