// `npm run audit -- --connection <id> [--since …]`: the audit history as a table, oldest first, for operators
// at a shell. Reads every team's rows, like an admin key; reading from the CLI is not itself audited.
import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { formatTable } from './format-table.js'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'
import type { AuditEventResource } from '../audit/audit-event-resource.js'
import { listAuditPage, type AuditQuery } from '../audit/audit-history.js'

export const AUDIT_USAGE = `Usage:
  npm run audit -- [--connection <id>] [--since <ISO date-time>] [--until <ISO date-time>]
                   [--actor <actor>] [--action <action>] [--outcome success|failure|denied] [--team <team>] [--limit <n>]
Prints the matching history oldest first; --limit (default 200) keeps the newest n rows.
Uses the database configured by the environment (DATABASE_URL, or the embedded one under BROKER_DATA_DIR).
`

export interface AuditCommandIo {
  out: (text: string) => void
  err: (text: string) => void
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const OUTCOMES = new Set(['success', 'failure', 'denied'])

export async function runAuditCommand(db: Kysely<Database>, argv: string[], io: AuditCommandIo): Promise<number> {
  let values
  try {
    values = parseArgs({
      args: argv,
      options: {
        connection: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        actor: { type: 'string' },
        action: { type: 'string' },
        outcome: { type: 'string' },
        team: { type: 'string' },
        limit: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${AUDIT_USAGE}`)
    return 2
  }
  if (values.help === true) {
    io.out(AUDIT_USAGE)
    return 0
  }
  const problems: string[] = []
  if (values.connection !== undefined && !UUID.test(values.connection))
    problems.push('--connection: must be a connection id (uuid)')
  const since = instant(values.since, '--since', problems)
  const until = instant(values.until, '--until', problems)
  if (values.outcome !== undefined && !OUTCOMES.has(values.outcome))
    problems.push('--outcome: must be success, failure or denied')
  const limit = values.limit === undefined ? 200 : Number(values.limit)
  if (!Number.isInteger(limit) || limit < 1) problems.push('--limit: must be a positive integer')
  if (problems.length > 0) {
    io.err(`${problems.join('\n')}\n\n${AUDIT_USAGE}`)
    return 2
  }

  const filters: Omit<AuditQuery, 'limit' | 'cursor'> = {
    ...(values.connection !== undefined ? { connectionId: values.connection.toLowerCase() } : {}),
    ...(values.actor !== undefined ? { actor: values.actor } : {}),
    ...(values.action !== undefined ? { action: values.action } : {}),
    ...(values.outcome !== undefined ? { outcome: values.outcome } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {})
  }
  const rows: AuditEventResource[] = []
  let cursor: string | undefined
  try {
    // Newest first in pages, so --limit keeps the most recent rows; printed the other way round, as a history reads.
    do {
      const page = await listAuditPage(
        db,
        { kind: 'operator', ...(values.team !== undefined ? { team: values.team } : {}) },
        { ...filters, limit: Math.min(100, limit - rows.length), ...(cursor !== undefined ? { cursor } : {}) }
      )
      rows.push(...page.items)
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined && rows.length < limit)
  } catch (err) {
    if (err instanceof AppError && err.status < 500) {
      io.err(`${err.detail}\n`)
      return 2
    }
    throw err
  }
  if (rows.length === 0) {
    io.out('No audit rows match.\n')
    return 0
  }
  rows.reverse()
  io.out(
    formatTable(
      ['id', 'occurred at', 'actor', 'team', 'action', 'outcome', 'connection', 'changed', 'request', 'detail'],
      rows.map((r) => [
        r.id,
        r.occurredAt,
        r.actor,
        r.actorTeam ?? '',
        r.action,
        r.outcome,
        r.connectionId ?? '',
        r.changedFields.join(','),
        r.requestId ?? '',
        r.detail === null ? '' : JSON.stringify(r.detail)
      ])
    )
  )
  if (cursor !== undefined) io.out(`(older rows not shown: raise --limit or narrow with --since)\n`)
  return 0
}

function instant(value: string | undefined, option: string, problems: string[]): Date | undefined {
  if (value === undefined) return undefined
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) {
    problems.push(`${option}: not a date-time; use ISO 8601, e.g. 2026-11-22T10:00:00Z`)
    return undefined
  }
  return date
}
