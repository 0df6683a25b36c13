// The real server (src/bin/server.ts, bundled: see bundle.ts) as a child process, for tests that kill it: started with
// a given environment, waited for until it answers, stopped gracefully or with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { bundledEntry, ROOT } from './bundle.js'

export interface BrokerProcess {
  url: string
  child: ChildProcess
  /** Everything it wrote so far (stdout and stderr). */
  output: () => string
  kill: (signal: 'SIGKILL' | 'SIGTERM') => Promise<number | null>
}

export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve()
    })
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve()
    })
  })
  return port
}

/** Starts `node <bundle of src/bin/server.ts>` and resolves once /health/live answers (or rejects with its output). */
export async function startBrokerProcess(env: Record<string, string>, timeoutMs = 60000): Promise<BrokerProcess> {
  const port = env.PORT ?? String(await freePort())
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => ['PATH', 'HOME', 'TMPDIR', 'NODE_OPTIONS'].includes(k))
  ) as Record<string, string>
  const child = spawn(process.execPath, [await bundledEntry('server')], {
    cwd: ROOT,
    env: { ...inherited, ...env, PORT: port, HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const chunks: string[] = []
  child.stdout?.on('data', (c: Buffer) => {
    chunks.push(c.toString('utf8'))
  })
  child.stderr?.on('data', (c: Buffer) => {
    chunks.push(c.toString('utf8'))
  })
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code)
    })
  })
  const url = `http://127.0.0.1:${port}`
  const output = (): string => chunks.join('')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}:\n${output().slice(-4000)}`)
    const live = await fetch(`${url}/health/live`).then(
      (r) => r.ok,
      () => false
    )
    if (live) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`broker did not start within ${timeoutMs} ms:\n${output().slice(-4000)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    child,
    output,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return await exited
    }
  }
}
