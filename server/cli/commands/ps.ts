import { flag, stringOption, UsageError } from '../args.js'
import type { Command } from '../command.js'
import { table } from '../table.js'

export const command: Command = {
  name: 'ps',
  summary: 'list containers (running ones; -a: all)',
  usage: '[-a] [-q] [--no-trunc] [--format json]',
  description: "Docker's columns: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES, newest first.\n--format json prints one JSON object a line, with Docker's keys.",
  options: [
    { name: 'all', short: 'a', description: 'show every container, not only running ones' },
    { name: 'quiet', short: 'q', description: 'print only the ids' },
    { name: 'no-trunc', description: 'full ids and commands' },
    { name: 'format', value: true, placeholder: 'json', description: 'json: one JSON object a line' },
  ],
  positionals: { min: 0, max: 0, names: 'no arguments' },
  async run(ctx, args) {
    const { containerStore } = await import('../../containers/cli.js')
    const { psJson, psRow, PS_HEADER } = await import('../../containers/describe.js')
    const format = stringOption(args, 'format')
    if (format !== undefined && format !== 'json') throw new UsageError(`--format takes json (templates are not supported), not "${format}"`, 'ps')
    const trunc = !flag(args, 'no-trunc')
    const all = (await containerStore(ctx).list()).reverse()
    const shown = flag(args, 'all') ? all : all.filter((r) => r.state.status === 'running')
    if (flag(args, 'quiet')) {
      ctx.stdout.write(shown.map((r) => (trunc ? r.config.id.slice(0, 12) : r.config.id) + '\n').join(''))
    } else if (format === 'json') {
      ctx.stdout.write(shown.map((r) => JSON.stringify(psJson(r, trunc)) + '\n').join(''))
    } else {
      ctx.stdout.write(table(PS_HEADER, shown.map((r) => psRow(r, trunc))))
    }
    return 0
  },
}
