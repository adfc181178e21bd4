import { flag, stringOption } from '../args.js'
import type { Command } from '../command.js'
import { json, table } from '../table.js'

export const command: Command = {
  name: 'history',
  summary: 'show how an image was made: one row per step, newest first',
  usage: 'IMAGE [--no-trunc] [--platform P] [--json]',
  description:
    'Columns as docker history: IMAGE (the image digest on the newest row, <missing> on the others),\n' +
    'CREATED, CREATED BY, SIZE (the layer blob as stored, compressed; 0B for steps without a layer), COMMENT.\n' +
    'A multi-platform image shows its default platform (linux/amd64, linux/386, wasi/wasm) unless --platform.\n' +
    '--json prints an array of {id, created, createdBy, size, comment, emptyLayer, layer}.',
  options: [
    { name: 'no-trunc', description: 'do not shorten digests and CREATED BY' },
    { name: 'platform', value: true, placeholder: 'P', description: 'the platform of a multi-platform image, e.g. linux/386' },
    { name: 'json', description: 'print JSON' },
  ],
  positionals: { min: 1, max: 1, names: 'an IMAGE' },
  async run(ctx, args) {
    const { imageHistory, humanAgo, dockerSize } = await import('../../image/history.js')
    const { parsePlatform } = await import('../../../web/oci/platform.js')
    const store = await ctx.openStore()
    const platform = stringOption(args, 'platform')
    const rows = await imageHistory(store, args.positionals[0]!, platform === undefined ? undefined : parsePlatform(platform))
    if (flag(args, 'json')) {
      ctx.stdout.write(json(rows))
      return 0
    }
    const full = flag(args, 'no-trunc')
    const ellipsis = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s)
    ctx.stdout.write(
      table(
        ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
        rows.map((r) => {
          const by = r.createdBy.replace(/\s*\n\s*/g, ' ').replace(/\t/g, ' ')
          return [
            r.id === null ? '<missing>' : full ? r.id : r.id.slice(7, 19),
            humanAgo(r.created),
            full ? by : ellipsis(by, 45),
            dockerSize(r.size),
            full ? r.comment : ellipsis(r.comment, 45),
          ]
        }),
      ),
    )
    return 0
  },
}
