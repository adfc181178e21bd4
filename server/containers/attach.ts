// The CLI's end of an attach: the container's output to this terminal, this stdin to the
// container, through the monitor's control socket (control.ts). Returns the exit code.

import type { CommandContext } from '../cli/command.js'
import { connectControl, onMessages, send, type ControlMessage } from './control.js'
import { readRecord, type ContainerRecord } from './record.js'

export async function attachTo(ctx: CommandContext, record: ContainerRecord, io: { stdin: boolean; tty: boolean }): Promise<number> {
  const socket = await connectControl(record.dir)
  const stdin = process.stdin
  const cleanups: Array<() => void> = []
  if (io.stdin) {
    if (io.tty) {
      stdin.setRawMode(true)
      cleanups.push(() => stdin.setRawMode(false))
      const onResize = () => send(socket, { op: 'resize', cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 })
      process.stdout.on('resize', onResize)
      cleanups.push(() => process.stdout.off('resize', onResize))
    }
    const onData = (data: Buffer) => send(socket, { op: 'stdin', d: data.toString('base64') })
    const onEnd = () => send(socket, { op: 'close-stdin' })
    stdin.on('data', onData).on('end', onEnd)
    cleanups.push(() => {
      stdin.off('data', onData).off('end', onEnd)
      stdin.pause()
    })
  }
  try {
    const code = await new Promise<number | undefined>((resolve) => {
      onMessages<ControlMessage>(socket, (m) => {
        if ('out' in m) (m.out === 'stdout' ? ctx.stdout : ctx.stderr).write(Buffer.from(m.d, 'base64'))
        else if ('exit' in m) resolve(m.exit)
      })
      socket.once('close', () => resolve(undefined))
      send(socket, { op: 'attach' })
    })
    if (code !== undefined) return code
    // The monitor went away without a word: the record says how it ended.
    return (await readRecord(record.dir).catch(() => record)).state.exitCode ?? 125
  } finally {
    for (const cleanup of cleanups) cleanup()
    socket.destroy()
  }
}
