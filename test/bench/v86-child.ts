// Child process for the v86 start-up benchmark: runs `echo ready` in the busybox image and
// copies the guest's output to stdout as it arrives. The parent times process start → first
// byte. `--cold` boots from scratch instead of restoring the saved state. The image's tree
// comes from a tree cache beside the state cache, as `boxplay run --runtime v86` gets it
// (server/runtimes.ts), so the row times the start, not inflating busybox's layer each time.

import { resolveImage } from '../../web/oci/image.js'
import { V86Runtime } from '../../web/runtimes/v86/runtime.js'
import { join } from 'node:path'
import { nodeV86Assets, stateWritesSettled, tuneV8ForV86 } from '../../server/v86/node-assets.js'
import { TreeCache } from '../../server/v86/tree-cache.js'
import { layoutSource } from '../v86/helpers-layout.js'
import { bundledImagesDir } from '../../server/store/paths.js'

// As `boxplay run --runtime v86` should: see tuneV8ForV86.
if (!process.argv.includes('--v8-defaults')) tuneV8ForV86()
const cold = process.argv.includes('--cold')
const cacheDir = process.argv[process.argv.indexOf('--cache') + 1]
const image = await resolveImage(layoutSource(bundledImagesDir()), 'busybox', { os: 'linux', architecture: '386' })
const trees = cacheDir ? new TreeCache(join(cacheDir, 'trees')) : undefined
const runtime = new V86Runtime({ assets: nodeV86Assets(cacheDir ? { cacheDir } : {}), ...(trees ? { rootFs: (img) => trees.rootFs(img) } : {}) })
const run = await runtime.start({ image, cmd: ['echo', 'ready'], options: { cold } })
run.onOutput((c) => process.stdout.write(c.data))
const status = await run.exit
process.stderr.write(JSON.stringify({ status, timings: run.timings }) + '\n')
await stateWritesSettled()
process.exit(status.code)
