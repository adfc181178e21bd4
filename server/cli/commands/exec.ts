import { flag, listOption, stringOption } from '../args.js'
import type { Command } from '../command.js'

export const command: Command = {
  name: 'exec',
  summary: 'run a command in a running native container',
  usage: '[-i] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD [ARGS…]',
  description: [
    "The command joins the container's namespaces (user, mount, pid, uts, ipc, net, cgroup) and cgroups,",
    'with the same capabilities, no_new_privs and seccomp filter as its PID 1. Exits with its code.',
    'Not supported yet: exec into v86 or wasi containers, and following terminal resizes with -t.',
  ].join('\n'),
  options: [
    { name: 'interactive', short: 'i', description: 'pass stdin to the command' },
    { name: 'tty', short: 't', description: 'give the command a terminal (a new pty; its size is the one at the start)' },
    { name: 'env', short: 'e', value: true, repeat: true, placeholder: 'K=V', description: 'set an environment variable' },
    { name: 'user', short: 'u', value: true, placeholder: 'USER', description: 'user[:group] (name or id) to run as' },
    { name: 'workdir', short: 'w', value: true, placeholder: 'DIR', description: 'working directory inside the container' },
  ],
  positionals: { min: 2, names: 'a CONTAINER and a CMD' },
  optionsEndAfter: 1,
  async run(ctx, args) {
    const [query, ...argv] = args.positionals as [string, ...string[]]
    const { eachContainer } = await import('../../containers/cli.js')
    const { execIn } = await import('../../containers/exec.js')
    const store = await ctx.openStore()
    const user = stringOption(args, 'user')
    const cwd = stringOption(args, 'workdir')
    let code = 0
    const failed = await eachContainer(ctx, [query], async (record) => {
      code = await execIn(
        store,
        record,
        {
          argv: argv[0] === '--' ? argv.slice(1) : argv,
          env: listOption(args, 'env').map((e) => (e.includes('=') ? e : `${e}=${ctx.env[e] ?? ''}`)),
          ...(user !== undefined ? { user } : {}),
          ...(cwd !== undefined ? { cwd } : {}),
          interactive: flag(args, 'interactive'),
          tty: flag(args, 'tty'),
        },
        ctx,
      )
    })
    return failed || code
  },
}
