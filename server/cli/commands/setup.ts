import { flag } from '../args.js'
import type { Command } from '../command.js'

export const command: Command = {
  name: 'setup',
  summary: 'build what is missing: Debian packages, the Rust core, the guest, the images, the web app',
  usage: '[--force] [--tests] [STEP…]',
  description: 'npm install and npm test run this. Each step reruns only when its inputs changed or its outputs are missing.',
  options: [
    { name: 'force', description: 'rebuild even what is up to date' },
    { name: 'tests', description: 'also install the tools the tests drive (registry, skopeo, chromium …)' },
  ],
  positionals: { min: 0, names: 'step names' },
  async run(ctx, args) {
    const [{ runSteps }, { steps }, { packageRoot }] = await Promise.all([
      import('../../setup/runner.js'),
      import('../../setup/steps.js'),
      import('../../store/paths.js'),
    ])
    await runSteps(packageRoot(), steps, {
      force: flag(args, 'force'),
      tests: flag(args, 'tests'),
      ...(args.positionals.length ? { only: args.positionals } : {}),
      log: (m) => ctx.stderr.write(`boxplay setup: ${m}\n`),
    })
    return 0
  },
}
