// `npm install` / `npm test` / `boxplay setup`: builds whatever is missing or stale.
//   node dist/server/setup/main.js [--force] [--tests] [STEP…]

import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runSteps } from './runner.js'
import { steps } from './steps.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const args = process.argv.slice(2)
const force = args.includes('--force')
const tests = args.includes('--tests')
const only = args.filter((a) => !a.startsWith('--'))

runSteps(root, steps, { force, tests, ...(only.length ? { only } : {}) }).catch((err: unknown) => {
  process.stderr.write(`boxplay setup failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
