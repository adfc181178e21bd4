import { flag, stringOption, UsageError } from '../args.js'
import type { Command } from '../command.js'

export const command: Command = {
  name: 'logs',
  summary: "show a container's output (-f: follow it while it runs)",
  usage: '[-f] [-t] [--tail N] CONTAINER',
  description: 'stdout goes to stdout and stderr to stderr, as the program wrote them (a -t container: all to stdout).',
  options: [
    { name: 'follow', short: 'f', description: 'keep printing new output until the container stops' },
    { name: 'timestamps', short: 't', description: 'start each line with the time it was written (RFC 3339, nanoseconds)' },
    { name: 'tail', short: 'n', value: true, placeholder: 'N', description: 'only the last N lines (default all)' },
  ],
  positionals: { min: 1, max: 1, names: 'a CONTAINER (name or id)' },
  async run(ctx, args) {
    const { eachContainer } = await import('../../containers/cli.js')
    const { LineSplitter, nanoTime, readChunks } = await import('../../containers/log.js')
    const { LOG_FILE } = await import('../../containers/record.js')
    const { waitStopped } = await import('../../containers/ops.js')
    const { join } = await import('node:path')
    const tailText = stringOption(args, 'tail') ?? 'all'
    if (tailText !== 'all' && !/^\d+$/.test(tailText)) throw new UsageError(`--tail takes a number of lines or "all", not "${tailText}"`, 'logs')
    const tail = tailText === 'all' ? Infinity : Number(tailText)
    const stamps = flag(args, 'timestamps')
    return eachContainer(ctx, args.positionals, async (record) => {
      const path = join(record.dir, LOG_FILE)
      const splitter = new LineSplitter()
      const print = (lines: { time: string; stream: 'stdout' | 'stderr'; data: Buffer }[]) => {
        for (const line of lines) {
          const out = line.stream === 'stdout' ? ctx.stdout : ctx.stderr
          if (stamps) out.write(`${nanoTime(line.time)} `)
          out.write(line.data)
        }
      }
      let { chunks, next } = await readChunks(path, 0)
      const first = chunks.flatMap((c) => splitter.push(c))
      const follow = flag(args, 'follow')
      if (!follow) first.push(...splitter.flush())
      print(tail === Infinity ? first : tail === 0 ? [] : first.slice(-tail))
      if (!follow) return
      for (;;) {
        const stopped = await waitStopped(record, 100)
        ;({ chunks, next } = await readChunks(path, next))
        print(chunks.flatMap((c) => splitter.push(c)))
        if (stopped && chunks.length === 0) break
      }
      print(splitter.flush())
    })
  },
}
