// Bench (issue 2): unpacking a large gzip layer into the layer cache, beside `tar -xzf` and
// `umoci raw unpack` on the same blob. Each contestant is a child process (startup included),
// timed by wall clock and CPU (user + system); rounds alternate so load drift hits both.
//   node dist/test/bench/store-unpack.js

import { mkdirSync, rmSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageRoot } from '../../server/store/paths.js'
import { BIG_LAYER, benchCache, bigLayer, bigLayerDiffId, bigLayout } from './fixtures.js'
import { type BenchResult, compare, formatTable, round } from './framework.js'
import { type Timing, timed } from './timed.js'

function freeBytes(path: string): number {
  try {
    const st = statfsSync(path)
    return st.bavail * st.bsize
  } catch {
    return 0
  }
}

export async function benchStoreUnpack(opts: { rounds?: number; umoci?: boolean } = {}): Promise<BenchResult[]> {
  const rounds = opts.rounds ?? 3
  const layer = await bigLayer()
  const diffId = await bigLayerDiffId(layer.path)
  // On tmpfs when there is room: the comparison is then about the unpackers, not about how
  // busy the disk is (on a shared machine, writeback stalls swamp both).
  const onTmpfs = !process.env.BOXPLAY_BENCH_ON_DISK && freeBytes('/dev/shm') > 4 * layer.tarBytes
  const work = onTmpfs ? join('/dev/shm', `boxplay-bench-unpack-${process.pid}`) : join(benchCache(), 'unpack-work')
  const where = onTmpfs ? 'on tmpfs' : 'on disk'
  const child = join(packageRoot(), 'dist', 'test', 'bench', 'unpack-child.js')
  const fresh = (name: string): string => {
    const dir = join(work, name)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    return dir
  }
  const boxplay: Timing[] = []
  const tar: Timing[] = []
  try {
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? ['tar', 'boxplay'] : ['boxplay', 'tar']
      for (const who of order) {
        if (who === 'tar') {
          tar.push(await timed(['tar', '-xzf', layer.path, '-C', fresh('tar')]))
          rmSync(join(work, 'tar'), { recursive: true, force: true })
        } else {
          const root = fresh('boxplay')
          mkdirSync(join(root, 'layers'))
          mkdirSync(join(root, 'tmp'))
          boxplay.push(await timed([process.execPath, child, layer.path, diffId, join(root, 'layers'), join(root, 'tmp')]))
          rmSync(root, { recursive: true, force: true })
        }
      }
    }
    const what = `unpack a ${round(layer.gzBytes / 1e6, 0)} MB gzip layer (${round(layer.tarBytes / 1e6, 0)} MB tar, ~${BIG_LAYER.files} files) ${where}`
    const mb = layer.tarBytes / 1e6
    const rows: BenchResult[] = [
      compare(`${what}: wall`, 's', boxplay.map((t) => t.wall), 'tar -xzf', tar.map((t) => t.wall)),
      compare(`${what}: cpu (user+sys)`, 's', boxplay.map((t) => t.cpu), 'tar -xzf', tar.map((t) => t.cpu)),
      compare(`${what}: throughput`, 'MB/s', boxplay.map((t) => mb / t.wall), 'tar -xzf', tar.map((t) => mb / t.wall), 'higher is better'),
    ]
    if (opts.umoci ?? true) {
      const layout = await bigLayout()
      const dest = join(work, 'umoci')
      rmSync(dest, { recursive: true, force: true })
      const u = await timed(['umoci', 'raw', 'unpack', '--image', `${layout.dir}:${layout.tag}`, dest])
      rmSync(dest, { recursive: true, force: true })
      rows.push(compare(`${what}: wall`, 's', boxplay.map((t) => t.wall), 'umoci raw unpack', [u.wall], 'umoci: one run'))
    }
    return rows
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchStoreUnpack()))
}
