import type { Command } from '../command.js'

export const command: Command = {
  name: 'rmi',
  summary: 'forget image names (blobs stay until prune)',
  usage: 'IMAGE…',
  description: 'Removes the names from the store index. Run `boxplay prune` to free the disk space.\nRemoved bundled images are not re-added later.',
  options: [],
  positionals: { min: 1, names: 'at least one IMAGE' },
  async run(ctx, args) {
    const store = await ctx.openStore()
    const removed = await store.removeNames(args.positionals)
    for (const name of removed) ctx.stdout.write(`Untagged: ${name}\n`)
    return 0
  },
}
