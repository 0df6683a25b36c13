// `npm run keys -- …`: the keys command as a process (see keys-command.ts). It never migrates: changing a
// schema is `npm run migrate`'s job, done on purpose, not a side effect of issuing a key.
import { AuditLog } from '../audit/audit-log.js'
import { cliActor } from '../cli/cli-actor.js'
import { openConfiguredDatabase } from '../cli/open-configured-database.js'
import { describeCliFailure } from '../cli/describe-cli-failure.js'
import { runKeysCommand } from '../cli/keys-command.js'

const out = (text: string): void => {
  process.stdout.write(text)
}
const err = (text: string): void => {
  process.stderr.write(text)
}

const database = await openConfiguredDatabase(err)
if (database === undefined) {
  process.exitCode = 2
} else {
  try {
    process.exitCode = await runKeysCommand(
      { db: database.db, audit: new AuditLog(database.db) },
      process.argv.slice(2),
      { out, err, actor: cliActor() }
    )
  } catch (e) {
    err(describeCliFailure('keys', e))
    process.exitCode = 1
  } finally {
    await database.close()
  }
}
