// What an ops CLI says when the database refuses: the one failure an operator can fix at once is a missing schema.
import { errorCode } from '../shared/error-code.js'

export function describeCliFailure(command: string, error: unknown): string {
  if (errorCode(error) === '42P01') {
    return `${command} failed: this database has no broker tables yet. Run \`npm run migrate\` against it first.\n`
  }
  return `${command} failed: ${error instanceof Error ? error.message : String(error)}\n`
}
