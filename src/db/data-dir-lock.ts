// One process at a time on an embedded database: PGlite has no locking of its own, so a second process on the same
// files (an ops CLI beside `npm start`) would silently lose its writes. A lock file names the holder; a lock whose
// process is gone (same host, pid not running) is taken over.
import { randomBytes } from 'node:crypto'
import { link, readFile, unlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export const LOCK_FILE_NAME = 'pglite.lock'

export interface LockHolder {
  pid: number
  host: string
  /** ISO time the lock was taken. */
  since: string
  /** What the holder runs (its script), to tell the broker from a CLI. */
  command: string
  /** Tells this process's lock from one a previous process with the same pid left (a restarted container's pid 1). */
  token: string
}

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError'
  constructor(
    readonly file: string,
    readonly holder: LockHolder
  ) {
    const sameHost = holder.host === os.hostname()
    super(
      `the embedded database in ${path.dirname(file)} is in use by process ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since}): ` +
        `only one process may open it. Stop that process first${sameHost ? '' : `, or delete ${file} if it is no longer running`}.`
    )
  }
}

export interface DataDirLock {
  readonly file: string
  /** Removes the lock file if it is still ours. */
  release: () => Promise<void>
}

/** Lock files this process holds, by path: a pid check cannot tell them from a dead process's with our pid. */
const held = new Map<string, string>()

/** Takes the lock of `dir` (which must exist) or throws DataDirLockedError naming the process that holds it. */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const file = path.resolve(dir, LOCK_FILE_NAME)
  const mine: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    command: path.basename(process.argv[1] ?? process.argv0),
    token: randomBytes(8).toString('hex')
  }
  // A few rounds: the holder may release between our attempt and our read, or a stale lock be removed.
  for (let attempt = 1; !(await createExclusively(file, mine)); attempt++) {
    const holder = await readHolder(file)
    if (holder === undefined && attempt < 5) continue
    if (holder === undefined) throw new Error(`could not take the lock ${file}: it keeps appearing and disappearing`)
    if (attempt >= 3 || !isStale(file, holder)) throw new DataDirLockedError(file, holder)
    await unlink(file).catch(ignoreMissing)
  }
  held.set(file, mine.token)
  return {
    file,
    release: async () => {
      if (held.get(file) !== mine.token) return
      held.delete(file)
      const holder = await readHolder(file)
      if (holder?.token === mine.token) await unlink(file).catch(ignoreMissing)
    }
  }
}

/**
 * Written whole under a private name, then hard-linked into place: like O_EXCL, link fails when the lock exists,
 * and unlike a file opened with O_EXCL and written after, no reader ever finds it empty.
 */
async function createExclusively(file: string, holder: LockHolder): Promise<boolean> {
  const partial = `${file}.${holder.pid}.${holder.token}`
  await writeFile(partial, JSON.stringify(holder) + '\n', { mode: 0o600, flag: 'wx' })
  try {
    await link(partial, file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    await unlink(partial).catch(ignoreMissing)
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  let parsed: Partial<LockHolder> = {}
  try {
    parsed = (JSON.parse(text) ?? {}) as Partial<LockHolder>
  } catch {
    // Judged below like any lock that is not this broker's.
  }
  if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
    return {
      pid: parsed.pid,
      host: parsed.host,
      since: String(parsed.since ?? '?'),
      command: String(parsed.command ?? '?'),
      token: String(parsed.token ?? '')
    }
  }
  // Not ours to judge (the file was edited or is not a lock of this broker): name it and let a person decide.
  return { pid: 0, host: '?', since: '?', command: 'unreadable lock file', token: '' }
}

/** Only a lock on this host can be judged: held by a process that is not running, or by our pid but not by us. */
function isStale(file: string, holder: LockHolder): boolean {
  if (holder.host !== os.hostname() || holder.pid <= 0) return false
  if (holder.pid === process.pid) return held.get(file) !== holder.token
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (err) {
    // EPERM: running, as another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
}
