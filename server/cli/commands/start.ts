import { flag } from '../args.js'
import type { Command } from '../command.js'

export const command: Command = {
  name: 'start',
  summary: 'start stopped containers again, on the files they left',
  usage: '[-a] [-i] CONTAINER…',
  description: [
    'The container runs its command again on its image plus the changes it made before (native: its',
    'writable layer is kept; v86 and wasi: the files the VM or module left). Without -a it runs in the',
    'background and its name is printed; with -a its output is shown and boxplay exits with its code.',
  ].join('\n'),
  options: [
    { name: 'attach', short: 'a', description: "show the container's output and exit with its code" },
    { name: 'interactive', short: 'i', description: "pass stdin to the container (one made with -i)" },
  ],
  positionals: { min: 1, names: 'a CONTAINER (name or id)' },
  async run(ctx, args) {
    const { eachContainer, EXIT_CONTAINER_ERROR } = await import('../../containers/cli.js')
    const { launchMonitor } = await import('../../containers/launch.js')
    const { attachTo } = await import('../../containers/attach.js')
    const { monitorAlive } = await import('../../containers/store.js')
    const attach = flag(args, 'attach') || flag(args, 'interactive')
    if (attach && args.positionals.length > 1) {
      ctx.stderr.write('Error: you cannot start and attach multiple containers at once\n')
      return EXIT_CONTAINER_ERROR
    }
    const store = await ctx.openStore()
    let exit = 0
    const code = await eachContainer(ctx, args.positionals, async (record, query) => {
      const alive = record.state.status === 'running' && monitorAlive(record.state.monitorPid, record.state.monitorStart)
      const tty = record.config.tty && process.stdin.isTTY === true
      const size = tty ? { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 } : undefined
      if (!alive) await launchMonitor(record, { home: store.home, holdOutput: attach, ...(size ? { size } : {}) })
      if (!attach) {
        ctx.stdout.write(`${query}\n`)
        return
      }
      exit = await attachTo(ctx, record, { stdin: flag(args, 'interactive') && record.config.openStdin, tty })
    })
    return code || exit
  },
}
