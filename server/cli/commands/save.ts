import { flag, stringOption } from '../args.js'
import type { Command } from '../command.js'
import { json } from '../table.js'

export const command: Command = {
  name: 'save',
  summary: 'write images to a docker save tarball or an OCI archive',
  usage: '[-o FILE] [--format docker-archive|oci-archive] [--platform P] [--json] IMAGE…',
  description:
    'docker-archive (default) is docker save\'s layout (manifest.json, repositories, one file per blob, and\n' +
    'the OCI layout Docker 25 adds): docker load, podman load and skopeo docker-archive: read it, and\n' +
    'boxplay load keeps the digests. Its manifest.json holds one platform per image: --platform, else the\n' +
    'first of linux/amd64, linux/386, wasi/wasm in the store. oci-archive is an OCI layout in a tar, each\n' +
    'image named by org.opencontainers.image.ref.name (skopeo oci-archive:FILE:NAME). Layers are kept as\n' +
    'stored (compressed). The same images give the same bytes. Without -o (or with -o -) the tarball goes\n' +
    'to standard output, never to a terminal. --json prints {format, images, blobs, bytes} (with -o only).',
  options: [
    { name: 'output', short: 'o', value: true, placeholder: 'FILE', description: 'write to FILE (- for standard output)' },
    { name: 'format', value: true, placeholder: 'F', description: 'docker-archive (default) or oci-archive' },
    { name: 'platform', value: true, placeholder: 'P', description: 'the platform manifest.json describes, e.g. linux/386' },
    { name: 'json', description: 'print the result as JSON (needs -o FILE)' },
  ],
  positionals: { min: 1, names: 'at least one IMAGE' },
  async run(ctx, args) {
    const { saveToFile, saveToStream, SaveError } = await import('../../image/save.js')
    const { parsePlatform } = await import('../../../web/oci/platform.js')
    const format = stringOption(args, 'format') ?? 'docker-archive'
    if (format !== 'docker-archive' && format !== 'oci-archive') {
      throw new SaveError(`unknown --format "${format}": use docker-archive or oci-archive`)
    }
    const platform = stringOption(args, 'platform')
    const output = stringOption(args, 'output') ?? '-'
    if (output === '-' && flag(args, 'json')) throw new SaveError('--json needs -o FILE: standard output carries the tarball')
    const store = await ctx.openStore()
    const opts = { format, ...(platform === undefined ? {} : { platform: parsePlatform(platform) }) } as const
    const result = output === '-' ? await saveToStream(store, args.positionals, ctx.stdout, opts) : await saveToFile(store, args.positionals, output, opts)
    if (flag(args, 'json')) ctx.stdout.write(json(result))
    return 0
  },
}
