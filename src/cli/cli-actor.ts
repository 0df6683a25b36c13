// Who an ops CLI acts as in the audit log: the operator's OS user (userInfo throws without a passwd entry).
import os from 'node:os'
import type { Actor } from '../audit/audit-log.js'

export function cliActor(): Actor {
  let user: string | undefined
  try {
    user = os.userInfo().username
  } catch {
    user = process.env.USER ?? process.env.LOGNAME
  }
  return { kind: 'cli', user: user === undefined || user === '' ? 'unknown' : user }
}
