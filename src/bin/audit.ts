// `npm run audit -- …`: the audit history command as a process (see audit-command.ts).
import { describeCliFailure } from '../cli/describe-cli-failure.js'
import { openConfiguredDatabase } from '../cli/open-configured-database.js'
import { runAuditCommand } from '../cli/audit-command.js'

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
    process.exitCode = await runAuditCommand(database.db, process.argv.slice(2), { out, err })
  } catch (e) {
    err(describeCliFailure('audit', e))
    process.exitCode = 1
  } finally {
    await database.close()
  }
}
