// Where chain verification got to: the last row proven intact (id and hash), so the next run walks only newer rows,
// and a lease so that one run at a time walks the chain across all replicas. One row. Frozen: later changes are
// new files.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_verification (
      id smallint primary key default 1 check (id = 1),
      through_id bigint,
      through_hash text,
      verified_at timestamptz,
      running_until timestamptz
    )`.execute(db)
  await sql`insert into audit_verification (id) values (1)`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists audit_verification`.execute(db)
}
