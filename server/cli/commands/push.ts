import { flag, stringOption } from '../args.js'
import type { Command } from '../command.js'
import { json } from '../table.js'

export const command: Command = {
  name: 'push',
  summary: 'upload a stored image to a registry',
  usage: 'IMAGE [DEST] [--insecure] [--creds USER:PASS] [--quiet] [--json]',
  description:
    'IMAGE is a stored name such as 127.0.0.1:5000/app:1 (name it first with boxplay tag); it is pushed\n' +
    'to its own name, or to DEST when given. An index goes up with every platform manifest it lists.\n' +
    'Blobs the repository has are skipped (HEAD first); blobs another repository of the same registry has\n' +
    '(by the store\'s names) are mounted from it; big blobs go up in chunks.\n' +
    'Credentials: --creds, else ~/.docker/config.json (auths.<host>.auth), as for pull.\n' +
    'Plain http is used for 127.0.0.1/localhost registries, or anywhere with --insecure.\n' +
    '--json prints {name, digest, mediaType, size, manifests, blobsPushed, bytesPushed, blobsSkipped, blobsMounted}.',
  options: [
    { name: 'insecure', description: 'use plain http' },
    { name: 'creds', value: true, placeholder: 'USER:PASS', description: 'registry credentials' },
    { name: 'quiet', short: 'q', description: 'no progress output' },
    { name: 'json', description: 'print the result as JSON' },
  ],
  positionals: { min: 1, max: 2, names: 'an IMAGE and an optional DEST' },
  async run(ctx, args) {
    const { push } = await import('../../image/push.js')
    const { createProgress } = await import('../../image/progress.js')
    const { parseCreds } = await import('../../image/docker-config.js')
    const store = await ctx.openStore()
    const creds = stringOption(args, 'creds')
    const result = await push(store, args.positionals[0]!, args.positionals[1], {
      ...(flag(args, 'insecure') ? { insecure: true } : {}),
      ...(creds === undefined ? {} : { creds: parseCreds(creds) }),
      progress: createProgress(ctx.stderr, !flag(args, 'quiet')),
      env: ctx.env,
    })
    if (flag(args, 'json')) ctx.stdout.write(json(result))
    else ctx.stdout.write(`${result.name}: digest: ${result.digest} size: ${result.size}\n`)
    return 0
  },
}
