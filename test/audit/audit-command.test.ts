// `npm run audit`: one connection's history as a table, oldest first, narrowed by time; every row, or the newest
// --limit of them; bad arguments exit 2 saying what to send.
import t from 'tap'
import { v7 as uuidv7 } from 'uuid'
import { AuditLog } from '../../src/audit/audit-log.js'
import { runAuditCommand } from '../../src/cli/audit-command.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

function capture(): { out: string[]; err: string[]; io: Parameters<typeof runAuditCommand>[2] } {
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    io: {
      out: (s) => {
        out.push(s)
      },
      err: (s) => {
        err.push(s)
      }
    }
  }
}

const dataLines = (text: string): string[] =>
  text
    .split('\n')
    .slice(2)
    .filter((l) => /^\d+\s/.test(l))

void t.test('audit command', async (t) => {
  const { db } = await openMigratedDatabase(t)
  const audit = new AuditLog(db)
  const connection = uuidv7()
  const other = uuidv7()
  await audit.append({
    actor: { kind: 'key', team: 'crm', keyId: 'k1' },
    action: 'connection.create',
    connectionId: connection,
    requestId: 'req-create',
    outcome: 'success',
    changedFields: ['name', 'auth.params.password'],
    detail: { state: 'pending' }
  })
  await audit.append({
    actor: { kind: 'key', team: 'billing', keyId: 'k2' },
    action: 'connection.create',
    connectionId: other,
    outcome: 'success'
  })
  await new Promise((resolve) => setTimeout(resolve, 20))
  const middle = new Date()
  await new Promise((resolve) => setTimeout(resolve, 20))
  await audit.append({
    actor: { kind: 'system', name: 'poller' },
    action: 'connection.state_changed',
    connectionId: connection,
    outcome: 'success',
    changedFields: ['state'],
    detail: { from: 'initializing', to: 'enabled' }
  })
  await audit.append({
    actor: { kind: 'key', team: 'billing', keyId: 'k2' },
    action: 'connection.read',
    connectionId: connection,
    outcome: 'denied',
    detail: { status: 404 }
  })

  void t.test('--connection prints that connection’s history, oldest first, one row a line', async (t) => {
    const c = capture()
    t.equal(await runAuditCommand(db, ['--connection', connection], c.io), 0)
    const text = c.out.join('')
    t.match(text, /^id\s+occurred at\s+actor\s+team\s+action\s+outcome\s+connection\s+changed\s+request\s+detail$/m)
    const lines = dataLines(text)
    t.equal(lines.length, 3)
    t.match(
      lines[0],
      /key:k1\s+crm\s+connection\.create\s+success\s+\S+\s+name,auth\.params\.password\s+req-create\s+\{"state":"pending"\}/
    )
    t.match(lines[1], /poller\s+connection\.state_changed\s+success/)
    t.match(lines[2], /key:k2\s+billing\s+connection\.read\s+denied/)
  })

  void t.test('--since and --until narrow by time; --outcome and --action by kind', async (t) => {
    const since = capture()
    await runAuditCommand(db, ['--connection', connection, '--since', middle.toISOString()], since.io)
    t.same(
      dataLines(since.out.join('')).map((l) => /connection\.\w+/.exec(l)?.[0]),
      ['connection.state_changed', 'connection.read']
    )
    const until = capture()
    await runAuditCommand(db, ['--until', middle.toISOString()], until.io)
    t.equal(dataLines(until.out.join('')).length, 2, 'both creates, every connection')
    const denied = capture()
    await runAuditCommand(db, ['--outcome', 'denied'], denied.io)
    t.equal(dataLines(denied.out.join('')).length, 1)
  })

  void t.test('--limit keeps the newest rows and says older ones were left out', async (t) => {
    const c = capture()
    await runAuditCommand(db, ['--limit', '2'], c.io)
    const text = c.out.join('')
    t.same(
      dataLines(text).map((l) => /connection\.\w+/.exec(l)?.[0]),
      ['connection.state_changed', 'connection.read']
    )
    t.match(text, /older rows not shown/)
  })

  void t.test('nothing matching says so', async (t) => {
    const c = capture()
    t.equal(await runAuditCommand(db, ['--connection', uuidv7()], c.io), 0)
    t.same(c.out, ['No audit rows match.\n'])
  })

  void t.test('mistakes exit 2 and say what to send', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['--connection', 'abc'], /--connection: must be a connection id/],
      [['--since', 'last tuesday'], /--since: not a date-time; use ISO 8601/],
      [['--outcome', 'maybe'], /--outcome: must be success, failure or denied/],
      [['--limit', '0'], /--limit: must be a positive integer/],
      [['--since', '2026-01-02T00:00:00Z', '--until', '2026-01-01T00:00:00Z'], /since must be earlier than until/],
      [['--conection', connection], /Unknown option '--conection'/]
    ]
    for (const [argv, message] of cases) {
      const c = capture()
      t.equal(await runAuditCommand(db, argv, c.io), 2, argv.join(' '))
      t.match(c.err.join(''), message)
    }
  })
})
