// `npm run bench [-- name...]`: runs the benchmarks one after another (all by default), each printing its figures
// and its ratio against a baseline measured in the same run, and writing bench/results/<name>.json.
import { auditBench } from './audit.bench.js'
import { bodyBench } from './body.bench.js'
import { createBench } from './create.bench.js'
import { floodBench } from './flood.bench.js'
import { lookupBench } from './lookup.bench.js'
import { pollerBench } from './poller.bench.js'
import { machine, print } from './support/report.js'

const BENCHES: Record<string, () => Promise<void>> = {
  lookup: lookupBench,
  create: createBench,
  poller: pollerBench,
  audit: auditBench,
  body: bodyBench,
  flood: floodBench
}

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !(name in BENCHES))
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`)
  process.exit(2)
}
print(`# credential broker benchmarks — ${JSON.stringify(machine())}`)
for (const [name, bench] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  await bench()
}
