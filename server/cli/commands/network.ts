import { flag, stringOption, UsageError } from '../args.js'
import type { Command, CommandContext } from '../command.js'

const VERBS = ['create', 'ls', 'inspect', 'rm'] as const
type Verb = (typeof VERBS)[number]

export const command: Command = {
  name: 'network',
  summary: 'create, list, inspect and remove networks for native containers',
  usage: 'create [--subnet CIDR] NAME | ls [-q] | inspect NAME… | rm NAME…',
  description: [
    'A network is a Linux bridge on this host (root only) with a private /24 that overlaps none of',
    "the host's routes. Containers started with `boxplay run --network NAME` get an address on it and",
    "reach each other by host name and --network-alias; nothing is routed beyond the network's subnet.",
    '`bridge` is the default bridge network, made on first use; `none` means only loopback (the',
    "default of `boxplay run`). rm refuses while containers are attached. Exits 1 on a network error",
    "(unknown network, name in use, network in use), as docker's does.",
  ].join('\n'),
  options: [
    { name: 'subnet', value: true, placeholder: 'CIDR', description: 'create: the subnet to use, e.g. 10.201.0.0/24' },
    { name: 'quiet', short: 'q', description: 'ls: print names only' },
  ],
  positionals: { min: 1, names: 'a verb (create, ls, inspect, rm) and its arguments' },
  async run(ctx, args) {
    const [verbArg, ...names] = args.positionals as [string, ...string[]]
    if (!(VERBS as readonly string[]).includes(verbArg)) throw new UsageError(`unknown network verb ${JSON.stringify(verbArg)}: use ${VERBS.join(', ')}`, 'network')
    const verb = verbArg as Verb
    const want = (n: number | 'many') => {
      if (n === 'many' ? names.length === 0 : names.length !== n) throw new UsageError(`network ${verb} takes ${n === 0 ? 'no' : n === 'many' ? 'one or more' : 'one'} NAME`, 'network')
    }
    const { defaultStateRoot } = await import('../../native/paths.js')
    const { NetworkError } = await import('../../net/errors.js')
    const net = await import('../../net/networks.js')
    const stateRoot = defaultStateRoot()
    try {
      if (verb === 'create') {
        want(1)
        const subnet = stringOption(args, 'subnet')
        const record = await net.createNetwork(stateRoot, names[0]!, subnet ? { subnet } : {})
        ctx.stdout.write(`${record.id}\n`)
      } else if (verb === 'ls') {
        want(0)
        list(ctx, await net.listNetworks(stateRoot), flag(args, 'quiet'))
      } else if (verb === 'inspect') {
        want('many')
        const { inspectJson } = await import('../../net/inspect.js')
        const records = []
        for (const name of names) records.push(await net.inspectNetwork(stateRoot, name))
        ctx.stdout.write(JSON.stringify(records.map(inspectJson), null, 4) + '\n')
      } else {
        want('many')
        let failed = false
        for (const name of names) {
          try {
            await net.removeNetwork(stateRoot, name)
            ctx.stdout.write(`${name}\n`)
          } catch (err) {
            if (!(err instanceof NetworkError)) throw err
            ctx.stderr.write(`boxplay: ${err.message}\n`)
            failed = true
          }
        }
        return failed ? 1 : 0
      }
      return 0
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err
      ctx.stderr.write(`boxplay: ${err.message}\n`)
      return 1
    }
  },
}

function list(ctx: CommandContext, records: { id: string; name: string; driver: string; subnet: string; leases: unknown[] }[], quiet: boolean): void {
  if (quiet) {
    for (const r of records) ctx.stdout.write(`${r.name}\n`)
    return
  }
  const rows = [['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'CONTAINERS'], ...records.map((r) => [r.id.slice(0, 12), r.name, r.driver, r.subnet, String(r.leases.length)]), ['-', 'none', 'null', '-', '-']]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  for (const row of rows) ctx.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('') + '\n')
}
