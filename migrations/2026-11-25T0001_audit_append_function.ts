// Appending to the audit chain in one statement instead of five (begin, lock, read the tail, insert, commit): the
// broker sends the rows with the hashed text of each row minus its predecessor's hash, and audit_append takes the
// chain lock, reads the tail and links and inserts the rows in order. Every read through the API appends a row,
// so those round trips were most of a lookup's cost. Frozen: later changes are new files.
//
// The hash is unchanged: sha256 over canonical JSON `["<prev_hash>",<rest>]`, where `rest` is what the broker sends
// as `hash_rest` (the canonical JSON of the row's content without the leading "[" and prev hash). prev_hash is hex,
// so splicing it into the text needs no escaping. The verifier recomputes every hash from the stored columns, so a
// `hash_rest` that did not match its row would be caught there.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await sql`
    create function audit_append(entries jsonb) returns void language plpgsql as $$
    declare
      prev text;
      next text;
      e jsonb;
    begin
      -- One appender at a time, on every replica; held until the surrounding transaction ends. The tail is read in
      -- a statement of its own after the lock is granted, so it sees every row committed by the previous holder.
      perform pg_advisory_xact_lock(7401001);
      select hash into prev from audit_events order by id desc limit 1;
      prev := coalesce(prev, repeat('0', 64));
      for e in select value from jsonb_array_elements(entries) with ordinality as t(value, n) order by n loop
        next := encode(sha256(convert_to('["' || prev || '",' || (e->>'hash_rest'), 'UTF8')), 'hex');
        insert into audit_events (occurred_at, actor, actor_team, actor_key_id, action, connection_id, request_id,
          outcome, changed_fields, detail, prev_hash, hash)
        values ((e->>'occurred_at')::timestamptz, e->>'actor', e->>'actor_team', e->>'actor_key_id', e->>'action',
          (e->>'connection_id')::uuid, e->>'request_id', e->>'outcome', e->'changed_fields',
          nullif(e->'detail', 'null'::jsonb), prev, next);
        prev := next;
      end loop;
    end
    $$`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists audit_append(jsonb)`.execute(db)
}
