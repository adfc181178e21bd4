// Running build tools with errors that say which command failed and what it printed.

import { spawnSync } from 'node:child_process'

export interface ExecOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
}

/** Runs a command to completion; throws with its stderr when it fails. Returns stdout. */
export function exec(command: string, args: readonly string[], opts: ExecOptions = {}): string {
  const res = spawnSync(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (res.error) {
    throw new Error(`could not run ${command}: ${res.error.message} (is the Debian package that provides it installed?)`)
  }
  if (res.status !== 0) {
    const output = `${res.stderr}\n${res.stdout}`.trim().split('\n').slice(-30).join('\n')
    throw new Error(`${command} ${args.join(' ')} failed with ${res.signal ?? `exit code ${res.status}`}:\n${output}`)
  }
  return res.stdout
}
