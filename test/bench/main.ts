// `npm run bench [-- [--json] [NAME…]]`: runs the registered benches (all, or those whose
// name contains one of NAMEs) one after another and prints a table, or JSON rows
// {name, unit, boxplay, anchor, anchorName, ratio, …}. A bench that fails adds a row saying
// so and the run goes on; the exit status is then 1.

import { type BenchResult, formatTable, normalise } from './framework.js'
import { benches } from './registry.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const wanted = args.filter((a) => !a.startsWith('--'))
const selected = benches.filter((b) => wanted.length === 0 || wanted.some((w) => b.name.includes(w)))
if (selected.length === 0) {
  process.stderr.write(`no bench matches ${wanted.join(', ')}; benches: ${benches.map((b) => b.name).join(', ')}\n`)
  process.exit(2)
}

const rows: BenchResult[] = []
let failed = false
for (const bench of selected) {
  const started = Date.now()
  if (!json) process.stderr.write(`bench ${bench.name}…\n`)
  try {
    for (const row of await bench.run()) rows.push(normalise(row))
  } catch (e) {
    failed = true
    rows.push({ name: bench.name, unit: '', boxplay: null, anchor: null, anchorName: null, ratio: null, note: `failed: ${e instanceof Error ? e.message : String(e)}` })
  }
  if (!json) process.stderr.write(`bench ${bench.name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}
process.stdout.write(json ? JSON.stringify(rows, null, 2) + '\n' : formatTable(rows))
process.exitCode = failed ? 1 : 0
