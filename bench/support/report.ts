// How every benchmark reports: figures printed as they come, ratios against the baseline measured in the same run,
// and the whole result written to bench/results/<name>.json with the machine it ran on.
import { writeFile, mkdir } from 'node:fs/promises'
import os from 'node:os'

export interface Target {
  /** e.g. 'throughput ratio ≥ 0.8' */
  description: string
  met: boolean
}

export interface BenchResult {
  name: string
  database: string
  figures: Record<string, number | string>
  targets: Target[]
  notes: string[]
}

export function machine(): Record<string, string | number> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`
  }
}

export function print(line: string): void {
  process.stdout.write(line + '\n')
}

export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits

export function checkTarget(description: string, met: boolean): Target {
  print(`  ${met ? 'MET   ' : 'MISSED'} ${description}`)
  return { description, met }
}

export async function writeResult(result: BenchResult): Promise<void> {
  const dir = new URL('../results/', import.meta.url)
  await mkdir(dir, { recursive: true })
  const body = { ...result, machine: machine(), at: new Date().toISOString() }
  await writeFile(new URL(`${result.name}.json`, dir), JSON.stringify(body, null, 2) + '\n')
}
