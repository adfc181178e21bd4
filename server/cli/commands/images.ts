import { flag } from '../args.js'
import type { Command } from '../command.js'
import { json, table } from '../table.js'

export const command: Command = {
  name: 'images',
  summary: 'list stored images: name, tag, platforms, size',
  usage: '[--json]',
  description:
    'PLATFORMS lists what each image offers; a platform in parentheses has no layers in the store\n' +
    '(pulled for another platform). SIZE counts the blobs stored for the image.\n' +
    '--json prints an array of {name, repository, tag, digest, mediaType, platforms, pulledPlatforms, size}.',
  options: [{ name: 'json', description: 'print JSON instead of a table' }],
  positionals: { min: 0, max: 0, names: 'no arguments' },
  async run(ctx, args) {
    const { summarizeImage, humanBytes } = await import('../../image/describe.js')
    const store = await ctx.openStore()
    const images = []
    for (const entry of await store.entries()) images.push(await summarizeImage(store, entry))
    images.sort((a, b) => (a.name ?? '~').localeCompare(b.name ?? '~'))
    if (flag(args, 'json')) {
      ctx.stdout.write(json(images))
      return 0
    }
    ctx.stdout.write(
      table(
        ['REPOSITORY', 'TAG', 'DIGEST', 'PLATFORMS', 'SIZE'],
        images.map((i) => [
          i.repository,
          i.tag.startsWith('sha256:') ? i.tag.slice(7, 19) : i.tag,
          i.digest.slice(7, 19),
          i.platforms.map((p) => (i.pulledPlatforms.includes(p) ? p : `(${p})`)).join(','),
          humanBytes(i.size),
        ]),
      ),
    )
    return 0
  },
}
