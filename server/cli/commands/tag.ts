import type { Command } from '../command.js'

export const command: Command = {
  name: 'tag',
  summary: 'give a stored image another name',
  usage: 'SOURCE TARGET',
  description:
    'SOURCE is a stored name or digest; TARGET a name such as app:1 or 127.0.0.1:5000/app:1 (the tag\n' +
    'defaults to latest), stored in its familiar form. An existing TARGET is moved to SOURCE\'s image,\n' +
    'as docker tag does. The blobs are shared: nothing is copied.',
  options: [],
  positionals: { min: 2, max: 2, names: 'a SOURCE image and a TARGET name' },
  async run(ctx, args) {
    const { tagImage } = await import('../../image/tag.js')
    const store = await ctx.openStore()
    await tagImage(store, args.positionals[0]!, args.positionals[1]!)
    return 0
  },
}
