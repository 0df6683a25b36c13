// Drives HTTP load with autocannon in a child process, so the load generator never shares the event loop (or,
// on two cores, the core) of the server it measures.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

export interface LoadOptions {
  url: string
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  connections: number
  durationSeconds: number
  /** Stop after this many requests even before the duration is over. */
  amount?: number
  /** Requests per second over all connections; absent: as fast as the server answers. */
  overallRate?: number
}

export interface LoadResult {
  requestsPerSecond: number
  latencyP50Ms: number
  latencyP99Ms: number
  requests: number
  non2xx: number
  errors: number
}

const autocannonCli = createRequire(import.meta.url).resolve('autocannon/autocannon.js')

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const args = [
    autocannonCli,
    '--json',
    '--no-progress',
    '-c',
    String(options.connections),
    '-d',
    String(options.durationSeconds),
    '-m',
    options.method ?? 'GET'
  ]
  if (options.amount !== undefined) args.push('-a', String(options.amount))
  if (options.overallRate !== undefined) args.push('-R', String(options.overallRate))
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}=${value}`)
  if (options.body !== undefined) args.push('-b', options.body)
  args.push(options.url)
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'))
      else reject(new Error(`autocannon exited with ${code ?? 'a signal'}: ${Buffer.concat(err).toString('utf8')}`))
    })
  })
  return parseResult(JSON.parse(output))
}

function parseResult(json: unknown): LoadResult {
  const record = (value: unknown): Record<string, unknown> =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  const num = (value: unknown): number => (typeof value === 'number' ? value : Number.NaN)
  const root = record(json)
  return {
    requestsPerSecond: num(record(root.requests).average),
    latencyP50Ms: num(record(root.latency).p50),
    latencyP99Ms: num(record(root.latency).p99),
    requests: num(record(root.requests).total),
    non2xx: num(root.non2xx),
    errors: num(root.errors)
  }
}
