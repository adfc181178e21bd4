// Bench (issue 2): building the `python` image's RootFs in memory in Node (fetch blobs from
// the store, decompress, apply every layer), in MB/s of uncompressed layer data, beside
// `gzip -dc` of the same layer blobs: the decompression floor any in-memory build pays.
//   node dist/test/bench/oci-rootfs.js

import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildRootFs } from '../../web/oci/image.js'
import { bundledImagesDir } from '../../server/store/paths.js'
import { Store } from '../../server/store/store.js'
import { type BenchResult, compare, formatTable, skipped } from './framework.js'
import { timed } from './timed.js'
import { decompressBytes } from '../../web/oci/compression.js'

export async function benchOciRootFs(opts: { repeats?: number } = {}): Promise<BenchResult[]> {
  const repeats = opts.repeats ?? 5
  const name = 'build the python image RootFs in memory'
  const bundled = bundledImagesDir()
  const index = join(bundled, 'index.json')
  if (!existsSync(index) || !readFileSync(index, 'utf8').includes('"python:latest"')) {
    return [skipped(name, 'image not built (dist/images has no python:latest; run `npm run setup`)')]
  }
  const home = join(tmpdir(), `boxplay-bench-rootfs-${process.pid}`)
  try {
    const store = await Store.open({ home, bundled })
    const image = await store.runImage('python:latest')
    let bytes = 0
    for (const l of image.layers) bytes += (await decompressBytes(l.mediaType, await image.blob(l.digest))).byteLength
    const mb = bytes / 1e6
    await buildRootFs(image) // warm up (JIT, file cache)
    const seconds: number[] = []
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now()
      await buildRootFs(image)
      seconds.push((performance.now() - t0) / 1000)
    }
    const gunzip: number[] = []
    const blobs = image.layers.map((l) => store.blobPath(l.digest))
    for (let i = 0; i < repeats; i++) gunzip.push((await timed(['sh', '-c', 'for f; do gzip -dc < "$f"; done', 'sh', ...blobs])).wall)
    const what = `${name} (${Math.round(mb)} MB in ${image.layers.length} layer(s))`
    return [
      compare(`${what}: time`, 's', seconds, 'gzip -dc of the layers', gunzip),
      compare(`${what}: throughput`, 'MB/s', seconds.map((s) => mb / s), 'gzip -dc of the layers', gunzip.map((s) => mb / s), 'higher is better'),
    ]
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchOciRootFs()))
}
