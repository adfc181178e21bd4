import { constants } from 'node:os'
import { stringOption } from '../args.js'
import type { Command } from '../command.js'

export const command: Command = {
  name: 'kill',
  summary: 'send a signal to running containers (default SIGKILL)',
  usage: '[-s SIGNAL] CONTAINER…',
  options: [{ name: 'signal', short: 's', value: true, placeholder: 'SIG', description: 'the signal: a name (TERM, SIGHUP) or a number' }],
  positionals: { min: 1, names: 'a CONTAINER (name or id)' },
  async run(ctx, args) {
    const { eachContainer } = await import('../../containers/cli.js')
    const { killContainer } = await import('../../containers/ops.js')
    const signal = signalName(stringOption(args, 'signal') ?? 'SIGKILL')
    return eachContainer(ctx, args.positionals, async (record, query) => {
      await killContainer(record, signal)
      ctx.stdout.write(`${query}\n`)
    })
  },
}

/** TERM, SIGTERM, sigterm or 15 → SIGTERM; anything else is refused here, before any container is touched. */
function signalName(text: string): string {
  const signals = constants.signals as Record<string, number>
  if (/^\d+$/.test(text)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(text))
    if (name) return name
  } else {
    const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`
    if (signals[name] !== undefined) return name
  }
  throw new Error(`invalid signal: ${text} (give a name like SIGTERM or a number)`)
}
