import { flag } from '../args.js'
import type { Command } from '../command.js'

export const command: Command = {
  name: 'rm',
  summary: 'remove containers (-f: running ones too, killed first)',
  usage: '[-f] CONTAINER…',
  options: [{ name: 'force', short: 'f', description: 'kill a running container first' }],
  positionals: { min: 1, names: 'a CONTAINER (name or id)' },
  async run(ctx, args) {
    const { eachContainer } = await import('../../containers/cli.js')
    const { removeContainer } = await import('../../containers/ops.js')
    return eachContainer(ctx, args.positionals, async (record, query, containers) => {
      await removeContainer(containers, record, flag(args, 'force'))
      ctx.stdout.write(`${query}\n`)
    })
  },
}
