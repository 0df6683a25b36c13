// `npm run keys`: issues a working key and prints it once, lists keys without them, revokes at once — each change
// audited as the operator at the shell; bad arguments exit 2 saying what to send.
import { pino } from 'pino'
import t from 'tap'
import { v7 as uuidv7 } from 'uuid'
import { AuditLog } from '../../src/audit/audit-log.js'
import { findCallerByKey } from '../../src/auth/api-key-repository.js'
import { salesforce } from '../../src/catalog/specs/salesforce.js'
import { runKeysCommand } from '../../src/cli/keys-command.js'
import { describeCliFailure } from '../../src/cli/describe-cli-failure.js'
import { openDatabase } from '../../src/db/database.js'
import { openMigratedDatabase } from '../support/migrated-database.js'
import { createTestDatabase } from '../support/test-database.js'

const SALESFORCE = salesforce.id

function capture(): { out: string[]; err: string[]; io: Parameters<typeof runKeysCommand>[2] } {
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
      },
      actor: { kind: 'cli', user: 'ops-alice' }
    }
  }
}

void t.test('keys command', async (t) => {
  const { db } = await openMigratedDatabase(t)
  const deps = { db, audit: new AuditLog(db) }

  void t.test('create prints a key that works, with its team and scopes, once', async (t) => {
    const c = capture()
    t.equal(
      await runKeysCommand(
        deps,
        ['create', '--team', 'crm', '--name', 'crm sync', '--scopes', 'connections:read, audit:read'],
        c.io
      ),
      0
    )
    const printed = c.out.join('')
    const key = /^key\s+(cbk_\S+)$/m.exec(printed)?.[1]
    if (key === undefined) throw new Error(`no key in: ${printed}`)
    t.match(printed, /Store it now/)
    t.match(await findCallerByKey(db, key), { team: 'crm', scopes: ['connections:read', 'audit:read'] })
    t.match(
      await db.selectFrom('audit_events').selectAll().where('action', '=', 'api_key.create').execute(),
      [{ actor: 'cli:ops-alice', actor_team: null, changed_fields: ['team', 'name', 'scopes'] }],
      'audited as the operator'
    )
    t.notOk(JSON.stringify(await db.selectFrom('audit_events').selectAll().execute()).includes(key), 'never the key')
  })

  void t.test('list shows every key with its state, never a key', async (t) => {
    const c = capture()
    t.equal(await runKeysCommand(deps, ['list'], c.io), 0)
    const table = c.out.join('')
    t.match(table, /^id\s+team\s+name\s+scopes\s+sandboxes\s+specs\s+created\s+revoked$/m)
    t.match(table, /crm\s+crm sync\s+connections:read,audit:read\s+\(all\)\s+\(all\)/)
    t.notMatch(table, /cbk_/, 'no key')
  })

  void t.test('revoke refuses the key from then on; revoking again says so', async (t) => {
    const issued = capture()
    await runKeysCommand(
      deps,
      ['create', '--team', 'billing', '--name', 'leaked', '--scopes', 'connections:read'],
      issued.io
    )
    const printed = issued.out.join('')
    const key = /^key\s+(\S+)$/m.exec(printed)?.[1] ?? ''
    const id = /^id\s+(\S+)$/m.exec(printed)?.[1] ?? ''
    const c = capture()
    t.equal(await runKeysCommand(deps, ['revoke', id], c.io), 0)
    t.match(c.out.join(''), /Revoked/)
    t.equal(await findCallerByKey(db, key), undefined, 'refused')
    const again = capture()
    t.equal(await runKeysCommand(deps, ['revoke', id], again.io), 0)
    t.match(again.out.join(''), /Already revoked/)
    const listed = capture()
    await runKeysCommand(deps, ['list', '--team', 'billing'], listed.io)
    t.match(
      listed.out.join(''),
      /leaked\s+connections:read\s+\(all\)\s+\(all\)\s+\S+\s+\d{4}-\d\d-\d\dT/,
      'the list shows when'
    )
  })

  void t.test('create limits a key to the sandboxes and specs named; admin keys take no team', async (t) => {
    const c = capture()
    t.equal(
      await runKeysCommand(
        deps,
        [
          'create',
          '--team',
          'crm',
          '--name',
          'dev only',
          '--scopes',
          'connections:write',
          '--sandbox',
          'dev',
          '--sandbox',
          'staging',
          '--spec',
          SALESFORCE
        ],
        c.io
      ),
      0,
      c.err.join('')
    )
    const printed = c.out.join('')
    t.match(printed, /^sandboxes\s+dev,staging$/m)
    t.match(printed, new RegExp(`^specs\\s+${SALESFORCE}$`, 'm'))
    const key = /^key\s+(cbk_\S+)$/m.exec(printed)?.[1] ?? ''
    t.match(await findCallerByKey(db, key), {
      team: 'crm',
      sandboxes: ['dev', 'staging'],
      connectionSpecs: [SALESFORCE]
    })
    const listed = capture()
    await runKeysCommand(deps, ['list', '--team', 'crm'], listed.io)
    t.match(listed.out.join(''), new RegExp(`dev only\\s+connections:write\\s+dev,staging\\s+${SALESFORCE}`))

    const admin = capture()
    t.equal(
      await runKeysCommand(deps, ['create', '--name', 'ops', '--scopes', 'admin'], admin.io),
      0,
      admin.err.join('')
    )
    t.match(admin.out.join(''), /^team\s+\*admin\*$/m, 'admin keys belong to the reserved team')
    t.match(admin.out.join(''), /^sandboxes\s+\(all\)$/m)
  })

  void t.test('mistakes exit non-zero and say what to send', async (t) => {
    const cases: Array<[string[], number, RegExp]> = [
      [[], 2, /No command given[\s\S]*Usage/],
      [['rotate'], 2, /Unknown command "rotate"/],
      [['create', '--team', 'crm'], 2, /--name is required[\s\S]*--scopes is required/],
      [
        ['create', '--team', 'crm', '--name', 'x', '--scopes', 'connections:read,everything'],
        2,
        /--scopes: unknown "everything"; use connections:read, connections:write, audit:read, admin/
      ],
      [['create', '--team', 'two words', '--name', 'x', '--scopes', 'connections:read'], 2, /--team: /],
      [['create', '--name', 'x', '--scopes', 'connections:read'], 2, /--team is required/],
      [['create', '--team', 'platform', '--name', 'x', '--scopes', 'admin'], 2, /--team: admin keys belong to no team/],
      [['create', '--name', 'x', '--scopes', 'admin', '--sandbox', 'dev'], 2, /admin keys act in every sandbox/],
      [
        ['create', '--team', 'crm', '--name', 'x', '--scopes', 'connections:read', '--sandbox', 'Prod'],
        2,
        /--sandbox "Prod": /
      ],
      [
        ['create', '--team', 'crm', '--name', 'x', '--scopes', 'connections:read', '--spec', 'not-a-spec'],
        1,
        /Unknown connection spec id/
      ],
      [['create', '--team', 'Admin', '--name', 'x', '--scopes', 'connections:read'], 1, /reserved/],
      [['create', '--tema', 'crm'], 2, /Unknown option '--tema'/],
      [['revoke'], 2, /revoke needs the key's id/],
      [['revoke', uuidv7()], 1, /No API key/]
    ]
    for (const [argv, code, message] of cases) {
      const c = capture()
      t.equal(await runKeysCommand(deps, argv, c.io), code, argv.join(' ') || '(nothing)')
      t.match(c.err.join(''), message)
      t.same(c.out, [], 'nothing on stdout')
    }
  })
})

void t.test(
  'against a database nobody migrated, the failure says to run `npm run migrate` (the CLI never migrates)',
  async (t) => {
    const test = await createTestDatabase({ empty: true })
    const database = await openDatabase(test.config, pino({ level: 'silent' }))
    t.teardown(async () => {
      await database.close()
      await test.drop()
    })
    let failure: unknown
    try {
      await runKeysCommand({ db: database.db, audit: new AuditLog(database.db) }, ['list'], capture().io)
    } catch (err) {
      failure = err
    }
    t.equal(
      describeCliFailure('keys', failure),
      'keys failed: this database has no broker tables yet. Run `npm run migrate` against it first.\n'
    )
  }
)
