// Bench (issue 2): pulling a large image from a local docker-registry into the store with the
// boxplay CLI, beside `skopeo copy` of the same image into an OCI layout. Both verify digests
// and write every blob to disk. Rounds alternate; each pull starts from an empty directory.
//   node dist/test/bench/store-pull.js

import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageRoot } from '../../server/store/paths.js'
import { pushLayout, startRegistry } from '../helpers/registry.js'
import { benchCache, bigLayout } from './fixtures.js'
import { type BenchResult, compare, formatTable, round } from './framework.js'
import { type Timing, timed } from './timed.js'

export async function benchStorePull(opts: { rounds?: number } = {}): Promise<BenchResult[]> {
  const rounds = opts.rounds ?? 3
  const layout = await bigLayout()
  const registry = await startRegistry()
  const work = join(benchCache(), 'pull-work')
  const cli = join(packageRoot(), 'dist', 'server', 'cli', 'main.js')
  try {
    await pushLayout(registry, layout.dir, layout.tag, 'big:1')
    const ref = `${registry.host}/big:1`
    const boxplay: Timing[] = []
    const skopeo: Timing[] = []
    for (let i = 0; i < rounds; i++) {
      for (const who of i % 2 === 0 ? ['skopeo', 'boxplay'] : ['boxplay', 'skopeo']) {
        rmSync(work, { recursive: true, force: true })
        mkdirSync(work, { recursive: true })
        if (who === 'boxplay') {
          boxplay.push(await timed([process.execPath, cli, '--home', join(work, 'home'), 'pull', '-q', ref], { env: { ...process.env, BOXPLAY_HOME: '' } }))
        } else {
          skopeo.push(await timed(['skopeo', 'copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(work, 'layout')}:big`]))
        }
      }
    }
    const what = `pull a ${round(layout.layerBytes / 1e6, 0)} MB image from a local registry`
    const mb = layout.layerBytes / 1e6
    return [
      compare(`${what}: wall`, 's', boxplay.map((t) => t.wall), 'skopeo copy', skopeo.map((t) => t.wall)),
      compare(`${what}: cpu (user+sys)`, 's', boxplay.map((t) => t.cpu), 'skopeo copy', skopeo.map((t) => t.cpu)),
      compare(`${what}: throughput`, 'MB/s', boxplay.map((t) => mb / t.wall), 'skopeo copy', skopeo.map((t) => mb / t.wall), 'higher is better'),
    ]
  } finally {
    rmSync(work, { recursive: true, force: true })
    await registry.stop()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchStorePull()))
}
