// The broker as its own process, compiled to JavaScript and run by plain node as the container image runs it, for
// benchmarks that measure its memory: its RSS is read from /proc, everything else through its HTTP API and /metrics.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export interface BrokerProcess {
  url: string
  /** Resident memory now and at its peak (VmRSS, VmHWM), in bytes. */
  memory: () => Promise<{ rss: number; peak: number }>
  stop: () => Promise<void>
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
// Under node_modules: ignored by git, and the compiled files still find their packages.
const BUILD = path.join(ROOT, 'node_modules', '.cache', 'broker-bench')

/** Compiles the broker (src and migrations) for startBrokerProcess; about fifteen seconds. */
export async function buildBroker(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  await promisify(execFile)(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD])
}

/** The NODE_OPTIONS the container image sets (Dockerfile), so the broker is measured as it runs there. */
export async function imageNodeOptions(): Promise<string> {
  const dockerfile = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8')
  return /NODE_OPTIONS="([^"]*)"/.exec(dockerfile)?.[1] ?? ''
}

export async function startBrokerProcess(env: Record<string, string>): Promise<BrokerProcess> {
  const port = await freePort()
  // The broker's environment only: no DATABASE_URL of ours leaks into a PGlite run.
  const { DATABASE_URL: _unused, ...inherited } = process.env
  const child = spawn(process.execPath, [path.join(BUILD, 'src', 'server.js')], {
    env: {
      ...inherited,
      NODE_OPTIONS: await imageNodeOptions(),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env
    },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the broker exited with ${child.exitCode}`)
    const live = await fetch(`${url}/health/live`).then(
      (r) => r.ok,
      () => false
    )
    if (live) break
    if (Date.now() > deadline) throw new Error('the broker did not start in time')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return {
    url,
    memory: async () => await memoryOf(child.pid ?? 0),
    stop: async () => {
      await stop(child)
    }
  }
}

/** RSS of a bare node process doing nothing: the floor under the broker's figure. */
export async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const { rss } = await memoryOf(child.pid ?? 0)
  await stop(child)
  return rss
}

async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kB = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024
  return { rss: kB('VmRSS'), peak: kB('VmHWM') }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => {
        resolve(port)
      })
    })
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve()
    })
    child.kill('SIGTERM')
  })
}
