// Runs a command as a child process and reports wall-clock and CPU seconds (user + system,
// the command's children included), using bash's `time` so no extra tool is needed.

import { spawn } from 'node:child_process'

export interface Timing {
  wall: number
  cpu: number
}

export function timed(argv: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Timing> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const script = `TIMEFORMAT='@@time %3R %3U %3S'; time ( ${quoted} >/dev/null 2>/tmp/boxplay-bench-stderr-$$ || { cat /tmp/boxplay-bench-stderr-$$ >&2; rm -f /tmp/boxplay-bench-stderr-$$; exit 1; }; rm -f /tmp/boxplay-bench-stderr-$$ )`
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const m = /@@time ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr)
      if (code !== 0 || !m) {
        reject(new Error(`${argv.join(' ')} failed (exit ${code}): ${stderr.replace(/@@time.*\n?/, '').trim().slice(0, 500)}`))
        return
      }
      resolve({ wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) })
    })
  })
}
