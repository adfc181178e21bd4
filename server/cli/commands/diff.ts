import type { Command } from '../command.js'

export const command: Command = {
  name: 'diff',
  summary: "list what a container changed in its image's files (A added, C changed, D deleted)",
  usage: 'CONTAINER',
  description: "Docker's format: one `A /path`, `C /path` or `D /path` a line; a directory on the way to a change is C.",
  options: [],
  positionals: { min: 1, max: 1, names: 'a CONTAINER (name or id)' },
  async run(ctx, args) {
    const { eachContainer } = await import('../../containers/cli.js')
    const { containerChanges } = await import('../../containers/changes.js')
    const { baseImage } = await import('../../containers/supervisor.js')
    const { buildRootFs } = await import('../../../web/oci/image.js')
    const store = await ctx.openStore()
    return eachContainer(ctx, args.positionals, async (record) => {
      const base = await baseImage(store, record)
      const changes = await containerChanges(base, record.dir, record.state.changes)
      const image = changes.entries.length ? await buildRootFs(base) : undefined
      const lines = changes.entries.map((e) => `${e.kind === 'deleted' ? 'D' : image?.lookup(e.path, false) ? 'C' : 'A'} ${e.path}\n`)
      ctx.stdout.write(lines.join(''))
    })
  },
}
