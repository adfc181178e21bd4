// The per-container monitor process (conmon's model, no daemon): `boxplay run -d` and
// `boxplay start` spawn it detached, in its own session, with stdout/stderr going to
// monitor.log in the container's directory and fd 3 a pipe back to the CLI. It runs the
// container (supervisor.ts), writes one JSON line to fd 3 once the container runs (or why
// it could not start), and leaves when the container's exit is recorded.
//   node monitor-main.js CONTAINER_DIR STORE_HOME [--hold-output] [COLS ROWS]

import { closeSync, writeSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { Store } from '../store/store.js'
import { readRecord } from './record.js'
import { ContainerStore } from './store.js'
import { supervise } from './supervisor.js'

const READY_FD = 3

function tell(message: { ok: true; id: string } | { error: string }): void {
  try {
    writeSync(READY_FD, JSON.stringify(message) + '\n')
    closeSync(READY_FD)
  } catch {
    // The CLI went away before reading: the container runs on regardless.
  }
}

async function main(argv: string[]): Promise<number> {
  const [dir, home, ...rest] = argv
  if (!dir || !home) throw new Error('usage: monitor-main CONTAINER_DIR STORE_HOME [--hold-output] [COLS ROWS]')
  const hold = rest[0] === '--hold-output'
  const [cols, rows] = rest.filter((a) => /^\d+$/.test(a)).map(Number)
  // A stop or kill reaches the container through the socket; a signal to the monitor itself
  // (a shutdown, a kill of its session) must not leave the container unrecorded.
  const containers = new ContainerStore(dirname(dirname(dir)))
  const record = await readRecord(dir)
  if (basename(dir) !== record.config.id) throw new Error(`${dir} holds container ${record.config.id}, not its own`)
  const images = await Store.open({ home })
  let supervised
  try {
    supervised = await supervise({ containers, images, record, holdOutput: hold, ...(cols && rows ? { size: { cols, rows } } : {}) })
  } catch (e) {
    // supervise() recorded the failure in state.json; the CLI waiting on fd 3 hears it too.
    tell({ error: e instanceof Error ? e.message : String(e) })
    return 125
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => supervised.run.kill(signal === 'SIGTERM' ? 'SIGTERM' : 'SIGKILL'))
  tell({ ok: true, id: record.config.id })
  const { code } = await supervised.finished
  return code
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e)
    process.stderr.write(`boxplay monitor: ${message}\n`)
    tell({ error: message })
    process.exit(125)
  },
)
