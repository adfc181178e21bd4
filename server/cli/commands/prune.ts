import { flag } from '../args.js'
import type { Command } from '../command.js'
import { json } from '../table.js'

export const command: Command = {
  name: 'prune',
  summary: 'remove blobs, unpacked layers and v86 trees no image uses',
  usage: '[--json]',
  description: '--json prints {blobs, layers, bytes}: what was removed and the bytes freed.',
  options: [{ name: 'json', description: 'print JSON' }],
  positionals: { min: 0, max: 0, names: 'no arguments' },
  async run(ctx, args) {
    const { humanBytes } = await import('../../image/describe.js')
    const store = await ctx.openStore()
    const result = await store.prune()
    if (flag(args, 'json')) ctx.stdout.write(json(result))
    else ctx.stdout.write(`Removed ${result.blobs} blob(s) and ${result.layers} unpacked layer(s); freed ${humanBytes(result.bytes)}\n`)
    return 0
  },
}
