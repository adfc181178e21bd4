import { listOption, stringOption } from '../args.js'
import type { Command } from '../command.js'

export const command: Command = {
  name: 'commit',
  summary: "make an image from a stopped container's changes",
  usage: "[-c 'INSTRUCTION'] [-m MSG] CONTAINER [NAME[:TAG]]",
  description: [
    "The new image is the container's image with one more layer: its changes, whiteouts included, written",
    'by the same layer writer as builds. -c applies CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE or',
    'STOPSIGNAL to its config. Prints the new manifest digest. A running container is refused: stop it first.',
  ].join('\n'),
  options: [
    { name: 'change', short: 'c', value: true, repeat: true, placeholder: 'INSTR', description: "a Dockerfile instruction for the config, e.g. 'CMD [\"sh\"]'" },
    { name: 'message', short: 'm', value: true, placeholder: 'MSG', description: 'the history comment' },
  ],
  positionals: { min: 1, max: 2, names: 'a CONTAINER (and the NAME[:TAG] of the image)' },
  async run(ctx, args) {
    const [query, name] = args.positionals as [string, string?]
    const { eachContainer } = await import('../../containers/cli.js')
    const { commitContainer } = await import('../../containers/commit.js')
    const store = await ctx.openStore()
    const message = stringOption(args, 'message')
    return eachContainer(ctx, [query], async (record) => {
      const { digest } = await commitContainer(store, record, { ...(name ? { name } : {}), changes: listOption(args, 'change'), ...(message ? { message } : {}) })
      ctx.stdout.write(`${digest}\n`)
    })
  },
}
