// Initial schema: connections (non-secret data only), their state history, the append-only audit log,
// callers' API keys (hashes only), and the ciphertext of the local secret store. Frozen: later changes are new files.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await sql`
    create table connections (
      id uuid primary key,
      team text not null,
      name text not null,
      description text,
      sandbox_name text not null,
      connection_spec_id text not null,
      connection_spec_version text not null,
      auth_spec_name text not null,
      public_params jsonb not null default '{}'::jsonb,
      secret_fields jsonb not null default '[]'::jsonb,
      secret_version integer,
      flow_connection_id text,
      etag text,
      state text not null,
      state_reason text,
      downstream_state text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      next_poll_at timestamptz,
      poll_failures integer not null default 0,
      lease_owner text,
      lease_until timestamptz,
      idempotency_key text,
      request_fingerprint text
    )`.execute(db)
  // Every list filter is served by an index ending in id, the pagination key (uuid v7: time-ordered).
  await sql`create unique index connections_flow_connection_id_key on connections (flow_connection_id) where flow_connection_id is not null`.execute(db)
  await sql`create index connections_team_id_idx on connections (team, id)`.execute(db)
  await sql`create index connections_name_id_idx on connections (name, id)`.execute(db)
  await sql`create index connections_spec_id_idx on connections (connection_spec_id, id)`.execute(db)
  await sql`create index connections_state_id_idx on connections (state, id)`.execute(db)
  await sql`create index connections_sandbox_id_idx on connections (sandbox_name, id)`.execute(db)
  await sql`create index connections_due_idx on connections (next_poll_at) where next_poll_at is not null`.execute(db)
  await sql`create unique index connections_idempotency_key on connections (team, idempotency_key) where idempotency_key is not null`.execute(db)

  await sql`
    create table connection_events (
      id bigint generated always as identity primary key,
      connection_id uuid not null references connections (id),
      from_state text,
      to_state text not null,
      reason text,
      downstream_state text,
      observed_at timestamptz not null default now(),
      observed_by text not null,
      request_id text
    )`.execute(db)
  await sql`create index connection_events_connection_idx on connection_events (connection_id, id)`.execute(db)

  await sql`
    create table audit_events (
      id bigint generated always as identity primary key,
      occurred_at timestamptz not null,
      actor text not null,
      actor_team text,
      actor_key_id text,
      action text not null,
      connection_id uuid,
      request_id text,
      outcome text not null,
      changed_fields jsonb not null default '[]'::jsonb,
      detail jsonb,
      prev_hash text not null,
      hash text not null
    )`.execute(db)
  await sql`create index audit_events_connection_idx on audit_events (connection_id, id)`.execute(db)
  await sql`create index audit_events_actor_idx on audit_events (actor, id)`.execute(db)
  await sql`create index audit_events_action_idx on audit_events (action, id)`.execute(db)
  await sql`create index audit_events_outcome_idx on audit_events (outcome, id)`.execute(db)
  await sql`create index audit_events_occurred_idx on audit_events (occurred_at, id)`.execute(db)
  // Append-only, enforced by the database itself: no UPDATE, DELETE or TRUNCATE, whoever asks.
  await sql`
    create function audit_events_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
    end
    $$`.execute(db)
  await sql`create trigger audit_events_no_update_delete before update or delete on audit_events for each row execute function audit_events_refuse_change()`.execute(db)
  await sql`create trigger audit_events_no_truncate before truncate on audit_events for each statement execute function audit_events_refuse_change()`.execute(db)

  await sql`
    create table api_keys (
      id uuid primary key,
      team text not null,
      name text not null,
      scopes jsonb not null,
      key_hash text not null unique,
      created_at timestamptz not null default now(),
      created_by text,
      revoked_at timestamptz,
      last_used_at timestamptz
    )`.execute(db)
  await sql`create index api_keys_team_idx on api_keys (team, id)`.execute(db)

  await sql`
    create table local_secrets (
      key text not null,
      version integer not null,
      sealed text not null,
      created_at timestamptz not null default now(),
      primary key (key, version)
    )`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists local_secrets`.execute(db)
  await sql`drop table if exists api_keys`.execute(db)
  await sql`drop table if exists audit_events`.execute(db)
  await sql`drop function if exists audit_events_refuse_change()`.execute(db)
  await sql`drop table if exists connection_events`.execute(db)
  await sql`drop table if exists connections`.execute(db)
}
