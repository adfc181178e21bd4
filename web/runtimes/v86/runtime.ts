// The v86 runtime: linux/386 images in an emulated i686 PC booting boxplay's own kernel,
// in a browser or in Node. Assets (wasm, BIOS, kernel, saved states) come from an injected
// adapter, so this file knows no paths, URLs or Node APIs.

import { buildRootFs } from '../../oci/image.js'
import { buildLazyRootFs } from '../../oci/layer-index.js'
import { type Platform, formatPlatform } from '../../oci/platform.js'
import type { RootFs } from '../../oci/rootfs.js'
import { type Availability, type Run, type RunImage, type RunSpec, type Runtime, resolveProcess } from '../runtime.js'
import type { V86Assets } from './assets.js'
import { ContentMemo, MAX_RECORDED_FILES, type ReadRecorder, memoryRecorder, prefetch, recordKey } from './file-prefetch.js'
import { DEFAULT_MEMORY_BYTES, machineStateKey } from './machine.js'
import type { V86RunNetwork } from './network.js'
import { V86Run } from './run.js'
import { treeWithChanges } from '../writable-layer.js'

const MIN_MEMORY = 16 * 2 ** 20
const MAX_MEMORY = 2 * 2 ** 30
/** Merged trees of recently run images, reused: runs never modify them (see filesystem.ts). */
const ROOTFS_CACHE_SIZE = 4

export interface V86RuntimeOptions {
  assets: V86Assets
  /**
   * How an image becomes a tree; default: from the layer indexes its source publishes, so
   * only the files the guest reads are fetched (web/oci buildLazyRootFs), else by fetching
   * and merging whole layers (buildRootFs).
   */
  rootFs?: (image: RunImage) => Promise<RootFs>
  /**
   * Where the files each command read are recorded, so its next run fetches them ahead
   * (file-prefetch.ts); default: in memory. A page passes localStorageRecorder().
   */
  recorder?: ReadRecorder
  /** Bytes of lazily-loaded file contents kept across runs (default DEFAULT_MEMO_BYTES). */
  memoBytes?: number
  log?: (message: string) => void
}

/** A guest reads a few files of its image: fetch those, not whole layers, when the source can. */
function defaultTree(image: RunImage): Promise<RootFs> {
  return image.layerIndexes ? buildLazyRootFs(image, image.layerIndexes) : buildRootFs(image)
}

export class V86Runtime implements Runtime {
  readonly kind = 'v86' as const
  private readonly trees = new Map<string, Promise<RootFs>>()
  private readonly memo: ContentMemo
  private readonly recorder: ReadRecorder

  constructor(private readonly options: V86RuntimeOptions) {
    this.memo = new ContentMemo(options.memoBytes)
    this.recorder = options.recorder ?? memoryRecorder()
  }

  async available(): Promise<Availability> {
    if (typeof WebAssembly === 'undefined') return { ok: false, reason: 'this JavaScript engine has no WebAssembly' }
    try {
      await Promise.all([this.options.assets.wasm(), this.options.assets.bios(), this.options.assets.kernel()])
      return { ok: true }
    } catch (err) {
      return { ok: false, reason: `the v86 guest assets are missing: ${err instanceof Error ? err.message : String(err)}` }
    }
  }

  supports(platform: Platform): boolean {
    return platform.os === 'linux' && platform.architecture === '386'
  }

  /** `network`: a LAN for the guest to join (web/net/); without it the guest has only lo. */
  async start(spec: RunSpec, network?: V86RunNetwork): Promise<V86Run & Run> {
    if (!this.supports(spec.image.platform)) {
      throw new Error(
        `the v86 runtime runs linux/386 images (an emulated i686 PC); ${spec.image.name} is ${formatPlatform(spec.image.platform)}`,
      )
    }
    if (spec.mounts?.length) throw new Error('the v86 runtime cannot map host directories into the VM: drop the mounts')
    const memoryBytes = spec.limits?.memoryBytes ?? DEFAULT_MEMORY_BYTES
    if (memoryBytes < MIN_MEMORY || memoryBytes > MAX_MEMORY) {
      throw new Error(`v86 memory must be between 16 MiB and 2 GiB, not ${Math.round(memoryBytes / 2 ** 20)} MiB`)
    }
    const process = resolveProcess(spec)
    // Compiling v86's wasm and reading the kernel and the saved state take a while: under
    // way while the tree loads. Failures surface in boot, which asks again.
    const { assets } = this.options
    for (const load of [assets.wasm, assets.bios]) load().catch(() => {})
    if (spec.options?.cold !== true) {
      assets
        .kernel()
        .then((kernel) => machineStateKey(kernel, memoryBytes, network !== undefined))
        .then((key) => assets.loadState(key))
        .catch(() => {})
    }
    const record = recordKey(spec.image.digest, process.argv)
    const recorded = this.recorder.get(record).catch(() => undefined)
    const treeStart = performance.now()
    const imageFs = await this.tree(spec.image)
    // A container's kept files go over a copy: the cached image tree is shared by every run.
    const rootFs = treeWithChanges(imageFs, spec.changes)
    const treeMs = performance.now() - treeStart
    // What this command read last time, fetched while the machine restores.
    void recorded.then((paths) => paths && prefetch(rootFs, paths, this.memo)).catch(() => {})
    const run = new V86Run({
      assets: this.options.assets,
      rootFs,
      imageFs,
      spec,
      process,
      memoryBytes,
      cold: spec.options?.cold === true,
      jit: spec.options?.jit !== false,
      memo: this.memo,
      ...(network ? { network } : {}),
      ...(this.options.log ? { log: this.options.log } : {}),
    })
    void run.boot()
    void run.exit.then(() => {
      // Where the time went, for BOXPLAY_DEBUG and the page's console (test/bench/v86-debian-page.ts reads it).
      const phases = [{ name: 'tree', ms: treeMs }, ...run.timings]
      this.options.log?.(`${process.argv[0] ?? ''} ran in ${phases.map((t) => `${t.name} ${Math.round(t.ms)}`).join(', ')} ms`)
      const paths = run.readPaths()
      if (paths.length > 0 && paths.length <= MAX_RECORDED_FILES) return this.recorder.set(record, paths)
    }).catch(() => {})
    return run
  }

  private tree(image: RunImage): Promise<RootFs> {
    let tree = this.trees.get(image.digest)
    if (!tree) {
      tree = (this.options.rootFs ?? defaultTree)(image)
      tree.catch(() => this.trees.delete(image.digest))
      this.trees.set(image.digest, tree)
      if (this.trees.size > ROOTFS_CACHE_SIZE) this.trees.delete(this.trees.keys().next().value!)
    }
    return tree
  }
}
