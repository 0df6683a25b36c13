// Hostile request bodies: what a 1 MiB adversarial body costs the event loop, against a 1 MiB valid body parsed by
// plain JSON.parse in the same run. Measured twice: the body parser alone (decode, parse, locate the break, check
// every string; all synchronous, so its time is event-loop time), and a whole POST /v1/connections through the
// broker (app.inject, event-loop active time from performance.eventLoopUtilization). Target: < 20 ms each.
import { performance } from 'node:perf_hooks'
import { BODY_LIMIT_BYTES } from '../src/app.js'
import { parseJsonBody } from '../src/http/json-body-parser.js'
import { startBenchBroker } from './support/bench-broker.js'
import { checkTarget, print, round, writeResult } from './support/report.js'

const RUNS = Number(process.env.BENCH_BODY_RUNS ?? 15)
const TARGET_MS = 20
const MiB = BODY_LIMIT_BYTES

const fill = (unit: string, tail = ''): string => unit.repeat(Math.floor((MiB - tail.length) / unit.length)) + tail

function validBody(): string {
  // Many small records: the shape a big legitimate JSON document has.
  const items: unknown[] = []
  let size = 20
  for (let i = 0; size < MiB - 200; i++) {
    const item = {
      id: i,
      name: `connection ${i}`,
      enabled: i % 2 === 0,
      params: { host: `h${i}.example.com`, port: 443 }
    }
    size += JSON.stringify(item).length + 1
    items.push(item)
  }
  return JSON.stringify({ items })
}

function manyKeys(broken: boolean): string {
  const parts: string[] = []
  let size = 2
  for (let i = 0; size < MiB - 20; i++) {
    const p = `"k${i}":1`
    parts.push(p)
    size += p.length + 1
  }
  return '{' + parts.join(',') + (broken ? ',}' : '}')
}

/** As wide as the caps allow, filling 1 MiB: `{"auth":{"params":{"k0":[leaf,…×999],…×9}}}`, valid. */
function widestAllowed(leaf: string): string {
  const row = '[' + Array.from({ length: 999 }, () => leaf).join(',') + ']'
  return `{"auth":{"params":{${Array.from({ length: 9 }, (_, i) => `"k${i}":${row}`).join(',')}}}}`
}

const depth = Math.floor(MiB / 2)
const BODIES: Record<string, string> = {
  'deep [ (unclosed)': fill('['),
  'deep {"a": (unclosed)': fill('{"a":'),
  'deep [[…]] (valid)': '['.repeat(depth) + ']'.repeat(depth),
  'deep {"a":{…}} (valid)': '{"a":'.repeat(Math.floor((MiB - 1) / 6)) + '1' + '}'.repeat(Math.floor((MiB - 1) / 6)),
  'long string (unterminated)': '{"name":"' + fill('a', '{"name":"'.repeat(0)).slice(9),
  'long string (valid)': '{"name":"' + 'a'.repeat(MiB - 12) + '"}',
  'long string of escapes (unterminated)': '{"name":"' + fill('\\u0041').slice(10),
  'many keys (valid)': manyKeys(false),
  '999 unknown top-level keys (valid)':
    '{' + Array.from({ length: 999 }, (_, i) => `"unknown${i}":${JSON.stringify('x'.repeat(1000))}`).join(',') + '}',
  'widest allowed, numbers (valid)': widestAllowed('1'.repeat(100)),
  'widest allowed, strings (valid)': widestAllowed(JSON.stringify('x'.repeat(100))),
  'many keys (trailing comma)': manyKeys(true),
  'many lone surrogates': '[' + fill('"\\ud800",', '0]').slice(1)
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

function timeSync(fn: () => void): { medianMs: number; maxMs: number } {
  fn() // warm-up
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    fn()
    times.push(performance.now() - started)
  }
  return { medianMs: median(times), maxMs: Math.max(...times) }
}

export async function bodyBench(): Promise<void> {
  print(`\n## body: 1 MiB adversarial bodies vs JSON.parse of a 1 MiB valid body — ${RUNS} runs each, median (max)`)
  const valid = validBody()
  const baseline = timeSync(() => {
    JSON.parse(valid)
  })
  print(
    `  baseline JSON.parse (valid ${valid.length} bytes): ${round(baseline.medianMs)} ms (${round(baseline.maxMs)})`
  )
  const figures: Record<string, number> = {
    baselineMedianMs: round(baseline.medianMs),
    baselineMaxMs: round(baseline.maxMs)
  }
  const targets = []

  const bench = await startBenchBroker({ POLLER_ENABLED: 'false', RECONCILER_ENABLED: 'false' })
  try {
    for (const [name, text] of Object.entries(BODIES)) {
      const bytes = Buffer.from(text)
      if (bytes.length > MiB) throw new Error(`${name}: ${bytes.length} bytes, over 1 MiB`)
      const parser = timeSync(() => {
        try {
          parseJsonBody(bytes)
        } catch {
          /* the refusal is the point */
        }
      })
      const statuses = new Set<number>()
      const request = async (): Promise<number> => {
        const before = performance.eventLoopUtilization()
        const res = await bench.broker.app.inject({
          method: 'POST',
          url: '/v1/connections',
          headers: { authorization: `Bearer ${bench.key}`, 'content-type': 'application/json' },
          payload: bytes
        })
        statuses.add(res.statusCode)
        return performance.eventLoopUtilization(before).active
      }
      await request()
      const whole: number[] = []
      for (let i = 0; i < RUNS; i++) whole.push(await request())
      const wholeMedian = median(whole)
      print(
        `  ${name}: parser ${round(parser.medianMs)} ms (${round(parser.maxMs)}), ${round(parser.medianMs / baseline.medianMs)}× baseline; whole request ${round(wholeMedian)} ms (${round(Math.max(...whole))}), ${round(wholeMedian / baseline.medianMs)}×; answered ${[...statuses].join(', ')}`
      )
      const key = name.replace(/[^a-z]+/gi, '_').replace(/^_|_$/g, '')
      figures[`${key}_parserMedianMs`] = round(parser.medianMs)
      figures[`${key}_parserMaxMs`] = round(parser.maxMs)
      figures[`${key}_parserRatio`] = round(parser.medianMs / baseline.medianMs)
      figures[`${key}_requestMedianMs`] = round(wholeMedian)
      figures[`${key}_requestRatio`] = round(wholeMedian / baseline.medianMs)
      targets.push(
        checkTarget(
          `${name}: whole request < ${TARGET_MS} ms of event-loop time (median ${round(wholeMedian)} ms)`,
          wholeMedian < TARGET_MS
        )
      )
    }
  } finally {
    await bench.close()
  }
  await writeResult({
    name: 'body',
    database: 'none (parser) / the bench broker (whole request)',
    figures,
    targets,
    notes: [
      'Each body is 1 MiB at most (the body limit). Parser: parseJsonBody alone, synchronous. Whole request: app.inject of POST /v1/connections with an admin key, event-loop active time (includes routing, the key check and the refusal).',
      'Baseline: JSON.parse of a valid 1 MiB document of small records, in the same run.'
    ]
  })
}
