import { UsageError } from '../args.js'
import type { Command } from '../command.js'

export const command: Command = {
  name: 'cp',
  summary: 'copy files between a stopped container and this machine',
  usage: 'CONTAINER:SRC HOSTDEST | HOSTSRC CONTAINER:DEST',
  description: [
    "Docker's rules: a file onto a directory lands inside it, a directory onto a missing path becomes it,",
    'SRC/. copies the contents of SRC, a DEST ending in / must be a directory. Files copied in are owned',
    'by root. The container must be stopped (copying with a running one is not supported yet).',
  ].join('\n'),
  options: [],
  positionals: { min: 2, max: 2, names: 'a SOURCE and a DESTINATION, one of them CONTAINER:PATH' },
  async run(ctx, args) {
    const [src, dest] = args.positionals as [string, string]
    const split = (arg: string) => {
      const at = arg.indexOf(':')
      // A path with a slash before the colon is a host path (./a:b), as Docker decides.
      if (at <= 0 || arg.slice(0, at).includes('/')) return undefined
      return { container: arg.slice(0, at), path: arg.slice(at + 1) }
    }
    const from = split(src)
    const to = split(dest)
    if ((from && to) || (!from && !to)) throw new UsageError('copying between containers, or between two host paths, is not supported: name one CONTAINER:PATH', 'cp')
    const { eachContainer } = await import('../../containers/cli.js')
    const { ContainerError } = await import('../../containers/ids.js')
    const { containerTree, saveTree } = await import('../../containers/changes.js')
    const { copyIn, copyOut } = await import('../../containers/copy.js')
    const { baseImage } = await import('../../containers/supervisor.js')
    const store = await ctx.openStore()
    const side = (from ?? to)!
    if (!side.path.startsWith('/')) side.path = `/${side.path}`
    return eachContainer(ctx, [side.container], async (record, _q, containers) => {
      if (record.state.status === 'running') {
        throw new ContainerError('running', `container ${record.config.name} is running: stop it first (boxplay cp works on stopped containers only, for now)`)
      }
      const base = await baseImage(store, record)
      const tree = await containerTree(base, record.dir, record.state.changes)
      if (from) return copyOut(tree, from.path, dest, record.config.name)
      await copyIn(tree, src, to!.path)
      const kept = await saveTree(base, record.dir, tree)
      await containers.update(record, (s) => {
        const next = { ...s }
        if (kept) next.changes = kept
        else delete next.changes
        return next
      })
    })
  },
}
