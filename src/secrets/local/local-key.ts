// The local store's 32-byte key: from BROKER_SECRET_KEY, or a key file created once (mode 0600) in the data dir.
import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'

export const KEY_FILE_NAME = 'secret-store.key'

export async function loadLocalKey(options: { key?: Buffer; dataDir: string }, logger: Logger): Promise<Buffer> {
  if (options.key !== undefined) return options.key
  const file = path.resolve(options.dataDir, KEY_FILE_NAME)
  await mkdir(path.dirname(file), { recursive: true })
  // Written whole under a private name, then hard-linked into place: link fails if the file exists, so two
  // processes starting together never overwrite each other's key, and a crash never leaves an empty key file.
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
  await writeFile(partial, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  try {
    await link(partial, file)
    logger.warn({ file }, 'created a new local secret-store key file; back it up, or set BROKER_SECRET_KEY')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    await unlink(partial)
  }
  const mode = (await stat(file)).mode & 0o777
  if ((mode & 0o077) !== 0)
    logger.warn({ file, mode: mode.toString(8) }, 'local secret-store key file is readable by others; chmod 600 it')
  const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64')
  if (key.length !== 32) throw new Error(`${file} does not hold a base64 32-byte key`)
  return key
}
