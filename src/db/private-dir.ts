// Directories of embedded data (PGlite files, key files, the lock) private to the broker's user: 0700 with files
// 0600, set explicitly so the umask plays no part.
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises'
import path from 'node:path'

/** Creates `dir` (and missing parents) mode 0700, and makes an existing one 0700. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
}

/** Every directory under `dir` (itself included) 0700 and every file 0600; symbolic links are left alone. */
export async function restrictTree(dir: string): Promise<void> {
  await chmod(dir, 0o700)
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) await restrictTree(file)
    else if (entry.isFile() && ((await lstat(file)).mode & 0o077) !== 0) await chmod(file, 0o600)
  }
}
