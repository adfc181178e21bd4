import { stringOption } from '../args.js'
import type { Command } from '../command.js'
import { parsePositiveNumber } from '../units.js'

export const command: Command = {
  name: 'stop',
  summary: "stop running containers: the image's stop signal (SIGTERM), then SIGKILL",
  usage: '[-t SECS] CONTAINER…',
  description: 'Prints each container as named once it has stopped. A container that is not running is left as it is.',
  options: [{ name: 'time', short: 't', value: true, placeholder: 'SECS', description: 'seconds to wait before SIGKILL (default 10)' }],
  positionals: { min: 1, names: 'a CONTAINER (name or id)' },
  async run(ctx, args) {
    const { eachContainer } = await import('../../containers/cli.js')
    const { stopContainer } = await import('../../containers/ops.js')
    const t = stringOption(args, 'time')
    const seconds = t === undefined ? 10 : t === '0' ? 0 : parsePositiveNumber(t, 'time', false)
    return eachContainer(ctx, args.positionals, async (record, query) => {
      await stopContainer(record, seconds)
      ctx.stdout.write(`${query}\n`)
    })
  },
}
