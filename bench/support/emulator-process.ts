// The Flow Service emulator in a process of its own (as `npm run emulator`), so a benchmark that measures the
// broker's memory does not count the emulator's 100 000 stored connections.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface EmulatorProcess {
  env: Record<string, string>
  /** Throws when the emulator process has died (a benchmark waiting on it would otherwise wait forever). */
  assertAlive: () => void
  /** The control API root, e.g. http://127.0.0.1:1234/_emulator */
  control: string
  stop: () => Promise<void>
}

const MAIN = fileURLToPath(new URL('../../src/bin/emulator.ts', import.meta.url))

export async function startEmulatorProcess(readyDelayMs = 0): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, EMULATOR_PORT: '0', EMULATOR_READY_DELAY_MS: String(readyDelayMs), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    let text = ''
    child.once('exit', (code) => {
      reject(new Error(`the emulator exited with ${code ?? 'a signal'}`))
    })
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8')
      if (!text.includes('# control API')) return
      const pairs = text
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
      resolve(Object.fromEntries(pairs) as Record<string, string>)
    })
  })
  const origin = new URL(env.IMS_URL ?? '').origin
  let stopping = false
  return {
    env,
    control: `${origin}/_emulator`,
    assertAlive: () => {
      if (!stopping && (child.exitCode !== null || child.signalCode !== null))
        throw new Error(`the emulator process died (${child.signalCode ?? `exit ${child.exitCode ?? '?'}`})`)
    },
    stop: async () => {
      stopping = true
      await stop(child)
    }
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** One call to the control API, its JSON answer parsed. */
export async function control<T>(
  emulator: EmulatorProcess,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown
): Promise<T> {
  const res = await fetch(`${emulator.control}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {})
  })
  if (!res.ok) throw new Error(`emulator control ${method} ${path}: ${res.status} ${await res.text()}`)
  return res.status === 204 ? (undefined as T) : ((await res.json()) as T)
}
