import { flag } from '../args.js'
import type { Command } from '../command.js'
import { json } from '../table.js'

export const command: Command = {
  name: 'load',
  summary: 'add images from a docker save tarball, an OCI archive or an OCI layout',
  usage: 'FILE|DIR [--json]',
  description:
    'FILE: a `docker save` tarball (optionally gzipped) or an OCI archive (`skopeo copy … oci-archive:FILE`).\n' +
    'DIR: an OCI image layout; every image in its index.json is loaded under its\n' +
    'org.opencontainers.image.ref.name (familiar form when it is a full reference).\n' +
    '--json prints {format, images: [{name, digest}]}.',
  options: [{ name: 'json', description: 'print the result as JSON' }],
  positionals: { min: 1, max: 1, names: 'a FILE or DIR' },
  async run(ctx, args) {
    const { load } = await import('../../image/load.js')
    const store = await ctx.openStore()
    const result = await load(store, args.positionals[0]!)
    if (flag(args, 'json')) {
      ctx.stdout.write(json(result))
      return 0
    }
    for (const i of result.images) ctx.stdout.write(`Loaded image: ${i.name ?? i.digest}\n`)
    return 0
  },
}
