import { flag, stringOption } from '../args.js'
import type { Command } from '../command.js'
import { json } from '../table.js'

export const command: Command = {
  name: 'pull',
  summary: 'fetch an image from a registry into the store',
  usage: 'REF [--platform P|all] [--insecure] [--creds USER:PASS] [--json]',
  description:
    'REF is a reference as docker takes it: busybox, busybox:1.36, 127.0.0.1:5000/app:1, name@sha256:….\n' +
    'The image is stored under its familiar name (busybox:latest, 127.0.0.1:5000/app:1).\n' +
    'Without --platform, layers are fetched for every platform boxplay runs that the image offers\n' +
    '(linux/amd64, linux/386, wasi/wasm); index manifests for all platforms are kept.\n' +
    'Credentials: --creds, else ~/.docker/config.json (auths.<host>.auth).\n' +
    'Plain http is used for 127.0.0.1/localhost registries, or anywhere with --insecure.',
  options: [
    { name: 'platform', value: true, placeholder: 'P', description: 'fetch layers only for this platform (os/arch[/variant]), or "all"' },
    { name: 'insecure', description: 'use plain http' },
    { name: 'creds', value: true, placeholder: 'USER:PASS', description: 'registry credentials' },
    { name: 'quiet', short: 'q', description: 'no progress output' },
    { name: 'json', description: 'print the result as JSON' },
  ],
  positionals: { min: 1, max: 1, names: 'an image REF' },
  async run(ctx, args) {
    const { pull, createProgress } = await import('../../image/pull.js')
    const { parseCreds } = await import('../../image/docker-config.js')
    const { parsePlatform } = await import('../../../web/oci/platform.js')
    const store = await ctx.openStore()
    const platform = stringOption(args, 'platform')
    const creds = stringOption(args, 'creds')
    const result = await pull(store, args.positionals[0]!, {
      ...(platform === undefined ? {} : { platform: platform === 'all' ? 'all' : parsePlatform(platform) }),
      ...(flag(args, 'insecure') ? { insecure: true } : {}),
      ...(creds === undefined ? {} : { creds: parseCreds(creds) }),
      progress: createProgress(ctx.stderr, !flag(args, 'quiet')),
      env: ctx.env,
    })
    if (flag(args, 'json')) ctx.stdout.write(json(result))
    else ctx.stdout.write(`Pulled ${result.name} (${result.digest}) for ${result.platforms.join(', ') || 'its platform'}\n`)
    return 0
  },
}
