import type { Command } from '../command.js'

export const command: Command = {
  name: 'wait',
  summary: 'wait until containers stop, then print their exit codes',
  usage: 'CONTAINER…',
  options: [],
  positionals: { min: 1, names: 'a CONTAINER (name or id)' },
  async run(ctx, args) {
    const { eachContainer } = await import('../../containers/cli.js')
    const { waitStopped } = await import('../../containers/ops.js')
    return eachContainer(ctx, args.positionals, async (record) => {
      await waitStopped(record)
      ctx.stdout.write(`${record.state.exitCode ?? 0}\n`)
    })
  },
}
