// Team audit readers see the rows their team acted (GET /v1/audit): an index on (actor_team, id) serves that
// filter in the paging order, like the other audit filters. Frozen: later changes are new files.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await sql`create index audit_events_actor_team_idx on audit_events (actor_team, id)`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists audit_events_actor_team_idx`.execute(db)
}
