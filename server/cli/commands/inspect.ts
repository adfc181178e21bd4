import { flag, stringOption } from '../args.js'
import type { Command } from '../command.js'
import { json } from '../table.js'

export const command: Command = {
  name: 'inspect',
  summary: 'show a container (as JSON) or an image: index, manifests, config, layers, platforms',
  usage: 'CONTAINER | IMAGE [--platform P] [--json]',
  description:
    "A container's name or id is looked up first, as Docker does; its record prints as docker inspect's JSON.\n" +
    'IMAGE is a stored name (busybox, busybox:latest, 127.0.0.1:5000/app:1) or a digest (prefix).\n' +
    '--json prints {name, repository, tag, digest, mediaType, platforms, pulledPlatforms, size,\n' +
    'index?, manifests: [{digest, platform, present, manifest?, config?, layers: [...]}]}.',
  options: [
    { name: 'json', description: 'print JSON' },
    { name: 'platform', value: true, placeholder: 'P', description: 'show only this platform, e.g. linux/386' },
  ],
  positionals: { min: 1, max: 1, names: 'an IMAGE' },
  async run(ctx, args) {
    // A container of that name or id first, as Docker looks (its JSON, always).
    const { containerStore } = await import('../../containers/cli.js')
    const container = await containerStore(ctx).find(args.positionals[0]!).catch(() => undefined)
    if (container) {
      const { inspectJson } = await import('../../containers/describe.js')
      ctx.stdout.write(json([inspectJson(container)]))
      return 0
    }
    const { inspectImage, humanBytes } = await import('../../image/describe.js')
    const { parsePlatform, formatPlatform } = await import('../../../web/oci/platform.js')
    const store = await ctx.openStore()
    const details = await inspectImage(store, await store.get(args.positionals[0]!))
    const want = stringOption(args, 'platform')
    if (want !== undefined) {
      const p = formatPlatform(parsePlatform(want))
      const matching = details.manifests.filter((m) => m.platform === p || m.platform?.startsWith(`${p}/`))
      if (matching.length === 0) throw new Error(`image ${details.name ?? details.digest} has no ${p} variant; it offers: ${details.platforms.join(', ')}`)
      details.manifests = matching
    }
    if (flag(args, 'json')) {
      ctx.stdout.write(json(details))
      return 0
    }
    const out: string[] = []
    out.push(`Name:       ${details.name ?? '<none>'}`)
    out.push(`Digest:     ${details.digest}`)
    out.push(`Media type: ${details.mediaType}`)
    out.push(`Platforms:  ${details.platforms.join(', ')}  (layers stored: ${details.pulledPlatforms.join(', ') || 'none'})`)
    out.push(`Size:       ${humanBytes(details.size)}`)
    for (const m of details.manifests) {
      out.push('', `Manifest ${m.digest}${m.platform ? ` (${m.platform})` : ''}${m.present ? '' : ': not in the store'}`)
      const c = m.config
      if (c) {
        const cfg = c.config ?? {}
        if (cfg.Entrypoint) out.push(`  Entrypoint: ${JSON.stringify(cfg.Entrypoint)}`)
        if (cfg.Cmd) out.push(`  Cmd:        ${JSON.stringify(cfg.Cmd)}`)
        if (cfg.Env?.length) out.push(`  Env:        ${cfg.Env.join(' ')}`)
        if (cfg.WorkingDir) out.push(`  WorkingDir: ${cfg.WorkingDir}`)
        if (cfg.User) out.push(`  User:       ${cfg.User}`)
        if (c.created) out.push(`  Created:    ${c.created}`)
      }
      for (const [i, l] of m.layers.entries()) {
        const state = l.unpacked ? 'unpacked' : l.present ? 'stored' : 'missing'
        out.push(`  Layer ${i}: ${l.digest.slice(0, 19)}  ${humanBytes(l.size).padStart(9)}  ${l.mediaType}  [${state}]`)
      }
    }
    ctx.stdout.write(out.join('\n') + '\n')
    return 0
  },
}
