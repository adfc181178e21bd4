// The builder engine: a parsed Dockerfile and a context → an image (config + layers), step
// by step. Each RUN is a Runtime.start() of the image so far; its change set becomes a layer
// through the one layer writer; COPY/ADD make change sets from the context or another
// stage. Every step has a cache key like BuildKit's (parent key + resolved instruction +
// platform + for COPY/ADD the sources' content), which never names the runtime.
// No DOM and no Node APIs: the host gives images, blobs, the runtime and the cache.

import { applyChangeSet, buildChanges, type Change, type ChangeSet } from '../oci/changes.js'
import { buildRootFs } from '../oci/image.js'
import { applyLayer } from '../oci/apply-layer.js'
import { decompressBytes } from '../oci/compression.js'
import { digestOf } from '../oci/digest.js'
import { writeLayer, type WrittenLayer } from '../oci/layer-writer.js'
import type { ImageConfigFile } from '../oci/manifest.js'
import { formatPlatform, type Platform } from '../oci/platform.js'
import { readFile, RootFs, splitPath, type FileData, type Node } from '../oci/rootfs.js'
import { readTarSync } from '../oci/tar.js'
import type { ImageConfig, LayerRef, Run, RunImage, Runtime } from '../runtimes/runtime.js'
import { globRegExp, hasGlob, type BuildContext, type ContextEntry } from './context.js'
import { DockerfileError, type Instruction, type ParsedDockerfile, type Stage } from './dockerfile-model.js'
import { keyValues, processWords, SubstitutionError } from './words.js'

/** The config the builder writes: the runnable part plus what Docker records beside it. */
export interface BuiltConfig extends ImageConfig {
  ExposedPorts?: Record<string, Record<string, never>>
  Labels?: Record<string, string>
  StopSignal?: string
  Volumes?: Record<string, Record<string, never>>
  /** Docker's healthcheck (BuildKit writes it into OCI configs too); durations in ns. */
  Healthcheck?: Healthcheck
  /** ONBUILD triggers, as written: run by a build whose FROM is this image. */
  OnBuild?: string[]
}

export interface Healthcheck {
  Test: string[]
  Interval?: number
  Timeout?: number
  StartPeriod?: number
  StartInterval?: number
  Retries?: number
}

export interface HistoryEntry {
  created: string
  created_by: string
  comment?: string
  empty_layer?: boolean
}

/** An image in the making (and a cache entry: the state after a step). */
export interface ImageState {
  platform: Platform
  config: BuiltConfig
  layers: LayerRef[]
  history: HistoryEntry[]
  /** SOURCE_DATE_EPOCH of this stage: the base image's creation time unless given. */
  epoch: number
  /** Docker's SHELL (not in the OCI config). */
  shell: string[]
  /** MAINTAINER: the config file's `author`. */
  author?: string
}

export interface BaseImage {
  image: RunImage
  configFile: ImageConfigFile
}

export interface BuildHost {
  /** An image from the store for this platform, or its default one (FROM, COPY --from=IMAGE). */
  image(ref: string, platform: Platform | undefined): Promise<BaseImage>
  /** Reads a blob (layers of the base images and those the build wrote). */
  blob(digest: string): Promise<Uint8Array>
  /** Whether a blob is there (a cache entry whose layers were pruned is a miss). */
  hasBlob(digest: string): Promise<boolean>
  /** Makes a written layer's blob readable through blob() (and by the runtime). */
  putLayer(layer: WrittenLayer): Promise<void>
  /** Runs a RUN step's process and returns what it changed from `lower`, the tree it started on. */
  run(runtime: Runtime, spec: Parameters<Runtime['start']>[0], onRun: (run: Run) => void, lower: RootFs): Promise<{ code: number; message?: string; changes: ChangeSet }>
  cache?: {
    get(key: string): Promise<ImageState | undefined>
    put(key: string, state: ImageState): Promise<void>
  }
}

export type BuildEvent =
  | { type: 'step'; n: number; total: number; stage: string; text: string }
  | { type: 'cached'; n: number }
  | { type: 'output'; n: number; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { type: 'done'; n: number; ms: number; layer?: string }

export interface BuildOptions {
  host: BuildHost
  dockerfile: ParsedDockerfile
  context: BuildContext
  runtime: Runtime
  /** Default: each FROM image's own platform (the store's default order), linux/386 for scratch. */
  platform?: Platform
  buildArgs?: ReadonlyMap<string, string>
  target?: string
  noCache?: boolean
  onEvent?: (e: BuildEvent) => void
  /** Clock for step times (injected: no performance API assumed). */
  now?: () => number
}

export interface BuildResult {
  state: ImageState
  /** Steps taken from the cache, of all steps run. */
  cached: number
  steps: number
}

export class BuildError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BuildError'
  }
}

const DEFAULT_SHELL = ['/bin/sh', '-c']
/** What `FROM scratch` builds for when no platform is asked: both native and v86 run it. */
const SCRATCH_PLATFORM: Platform = { os: 'linux', architecture: '386' }
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** Build args Docker predefines: usable without an ARG, kept out of the cache key unless used. */
const PREDEFINED_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy']
const encoder = new TextEncoder()
/** What commands print when they need the network a build step does not have. */
const NETWORK_FAILURE = /bad address|could not resolve|name resolution|network is unreachable|temporary failure in name|connection refused|no route to host/i

async function keyOf(parts: readonly unknown[]): Promise<string> {
  return digestOf(encoder.encode(JSON.stringify(parts)))
}

function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const map = new Map<string, string>()
  for (const e of env ?? []) {
    const eq = e.indexOf('=')
    map.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1))
  }
  return map
}

function configEnv(env: Map<string, string>): string[] {
  return [...env].map(([k, v]) => `${k}=${v}`)
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  const { dockerfile, platform } = opts
  const file = dockerfile.file
  const buildArgs = opts.buildArgs ?? new Map<string, string>()
  const now = opts.now ?? (() => Date.now())
  const fail = (inst: Instruction, what: string): never => {
    throw new DockerfileError(file, inst.line, inst.keyword, what)
  }
  const words = (inst: Instruction, text: string, vars: ReadonlyMap<string, string>): string[] => {
    try {
      return processWords(text, vars, dockerfile.escape)
    } catch (e) {
      if (e instanceof SubstitutionError) fail(inst, e.message)
      throw e
    }
  }

  // Global ARGs: in scope for FROM lines only (and, re-declared, inside a stage).
  const globals = new Map<string, string>()
  for (const inst of dockerfile.globalArgs) {
    for (const [k, v] of argPairs(inst, globals)) globals.set(k, buildArgs.get(k) ?? v ?? '')
  }
  function argPairs(inst: Instruction, vars: ReadonlyMap<string, string>): [string, string | undefined][] {
    return words(inst, inst.args, vars).map((w) => {
      const eq = w.indexOf('=')
      return eq < 0 ? [w, undefined] : [w.slice(0, eq), w.slice(eq + 1)]
    })
  }

  // Which stages the target needs (Docker builds only those).
  const stages = dockerfile.stages
  const stageByName = (name: string): Stage | undefined => {
    const lower = name.toLowerCase()
    return stages.find((s) => s.name === lower) ?? (/^\d+$/.test(name) ? stages[Number(name)] : undefined)
  }
  let target = stages.at(-1)!
  if (opts.target !== undefined) {
    const t = stageByName(opts.target)
    if (!t) throw new BuildError(`no stage named "${opts.target}" in ${file}: its stages are ${stages.map((s, i) => s.name ?? String(i)).join(', ')}`)
    target = t
  }
  const baseOf = (s: Stage) => words(s.from, s.base, globals)[0] ?? fail(s.from, 'needs an image')
  const needed = new Set<number>()
  const need = (s: Stage): void => {
    if (needed.has(s.index)) return
    needed.add(s.index)
    const base = stageByName(baseOf(s))
    if (base && base.index < s.index) need(base)
    for (const step of s.steps) {
      const from = step.flags.get('from')
      if (from === undefined) continue
      const src = stageByName(from)
      if (src && src.index < s.index) need(src)
      else if (src) fail(step, `--from=${from} names a stage that comes later`)
    }
  }
  need(target)
  const order = stages.filter((s) => needed.has(s.index))
  // ONBUILD triggers of a base image add steps once it is known.
  let total = order.reduce((n, s) => n + 1 + s.steps.length, 0)

  const results = new Map<number, { state: ImageState; key: string }>()
  const trees = new Map<string, Promise<RootFs>>()
  const treeOf = (state: ImageState): Promise<RootFs> => {
    const id = state.layers.map((l) => l.digest).join(',')
    let tree = trees.get(id)
    if (!tree) {
      tree = buildRootFs(runImage(state, 'build'))
      trees.set(id, tree)
    }
    return tree
  }
  const runImage = (state: ImageState, name: string): RunImage => ({
    name,
    digest: '',
    platform: state.platform,
    config: state.config,
    layers: state.layers,
    blob: (d) => host.blob(d),
  })
  const host = opts.host
  let n = 0
  let cachedSteps = 0

  for (const stage of order) {
    const stageLabel = `${stage.name ?? `stage-${stage.index}`} ${order.indexOf(stage) + 1}/${order.length}`
    const step = async (inst: Instruction, text: string, key: string, make: () => Promise<ImageState>): Promise<ImageState> => {
      n++
      opts.onEvent?.({ type: 'step', n, total, stage: stageLabel, text })
      const started = now()
      if (!opts.noCache && host.cache) {
        const hit = await host.cache.get(key)
        if (hit && (await layersPresent(hit))) {
          cachedSteps++
          opts.onEvent?.({ type: 'cached', n })
          return hit
        }
      }
      const made = await make()
      await host.cache?.put(key, made)
      opts.onEvent?.({ type: 'done', n, ms: now() - started, ...(made.layers.length ? { layer: made.layers.at(-1)!.digest } : {}) })
      return made
    }
    const layersPresent = async (s: ImageState): Promise<boolean> => {
      for (const l of s.layers) if (!(await host.hasBlob(l.digest))) return false
      return true
    }

    // FROM
    const baseName = baseOf(stage)
    const fromPlatform = stage.from.flags.get('platform')
    const stagePlatform = fromPlatform ? parsePlatformIn(stage.from, words(stage.from, fromPlatform, globals)[0] ?? '') : platform
    let state: ImageState
    let key: string
    const baseStage = stageByName(baseName)
    if (baseStage && baseStage.index < stage.index) {
      const r = results.get(baseStage.index)!
      state = r.state
      key = r.key
      n++
      opts.onEvent?.({ type: 'step', n, total, stage: stageLabel, text: `FROM ${baseName}` })
      opts.onEvent?.({ type: 'done', n, ms: 0 })
    } else if (baseName === 'scratch') {
      state = { platform: stagePlatform ?? SCRATCH_PLATFORM, config: {}, layers: [], history: [], epoch: 0, shell: DEFAULT_SHELL }
      key = await keyOf(['FROM', 'scratch', formatPlatform(state.platform)])
      n++
      opts.onEvent?.({ type: 'step', n, total, stage: stageLabel, text: 'FROM scratch' })
      opts.onEvent?.({ type: 'done', n, ms: 0 })
    } else {
      n++
      opts.onEvent?.({ type: 'step', n, total, stage: stageLabel, text: `FROM ${baseName}` })
      const t0 = now()
      let base: BaseImage
      try {
        base = await host.image(baseName, stagePlatform)
      } catch (e) {
        fail(stage.from, (e as Error).message)
        throw e
      }
      const created = base.configFile.created ? Math.floor(Date.parse(base.configFile.created) / 1000) : 0
      state = {
        platform: base.image.platform,
        config: { ...inheritedConfig(base.configFile.rawConfig), ...(base.configFile.config ?? {}) },
        layers: [...base.image.layers],
        history: [...((base.configFile.history ?? []) as HistoryEntry[])],
        epoch: Number.isFinite(created) && created > 0 ? created : 0,
        shell: DEFAULT_SHELL,
      }
      key = await keyOf(['FROM', base.image.digest, formatPlatform(state.platform)])
      opts.onEvent?.({ type: 'done', n, ms: now() - t0 })
    }
    const sourceEpoch = buildArgs.get('SOURCE_DATE_EPOCH')
    if (sourceEpoch !== undefined) {
      if (!/^\d+$/.test(sourceEpoch)) throw new BuildError(`--build-arg SOURCE_DATE_EPOCH=${sourceEpoch}: give seconds since 1970`)
      state = { ...state, epoch: Number(sourceEpoch) }
      // Layers are clamped to the epoch: another epoch is another chain of keys.
      key = await keyOf([key, 'SOURCE_DATE_EPOCH', state.epoch])
    }

    // The base's ONBUILD triggers run first, as if written after FROM; the new image does not
    // keep them (Docker: triggers are not inherited by grandchildren).
    const triggers = await onBuildSteps(stage.from, state.config.OnBuild ?? [], file)
    if (state.config.OnBuild) {
      const { OnBuild: _triggers, ...rest } = state.config
      state = { ...state, config: rest }
    }
    total += triggers.length
    const steps = [...triggers, ...stage.steps]

    // Stage-scoped ARGs: declared in this stage (a global one re-declared takes its value).
    const args = new Map<string, string>()
    const usedArgs = new Set<string>()
    for (const inst of steps) {
      const env = envMap(state.config.Env)
      // Substitution sees the stage's ARGs, then ENV (ENV wins, as Docker's rules say).
      const vars = new Map<string, string>([...args, ...env])
      const created = new Date(state.epoch * 1000).toISOString()
      const withHistory = (s: ImageState, createdBy: string, empty: boolean): ImageState => ({
        ...s,
        history: [...s.history, { created, created_by: createdBy, comment: 'boxplay build', ...(empty ? { empty_layer: true } : {}) }],
      })
      const configStep = async (text: string, change: (c: BuiltConfig) => BuiltConfig, extra: Partial<ImageState> = {}) => {
        const k = await keyOf([key, text])
        const next = await step(inst, text, k, async () => withHistory({ ...state, ...extra, config: change({ ...state.config }) }, text, true))
        return { next, k }
      }
      let result: { next: ImageState; k: string }
      switch (inst.keyword) {
        case 'ARG': {
          for (const [k, v] of argPairs(inst, vars)) {
            const value = buildArgs.get(k) ?? v ?? globals.get(k)
            if (value !== undefined) args.set(k, value)
            else args.delete(k)
            usedArgs.add(k)
          }
          // ARG changes no config; it enters the keys of the steps that see it.
          n++
          opts.onEvent?.({ type: 'step', n, total, stage: stageLabel, text: inst.text })
          opts.onEvent?.({ type: 'done', n, ms: 0 })
          continue
        }
        case 'ENV': {
          const pairs = keyValues(inst.args, vars, dockerfile.escape, true)
          const text = `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`
          result = await configStep(text, (c) => {
            const e = envMap(c.Env)
            for (const [k, v] of pairs) e.set(k, v)
            return { ...c, Env: configEnv(e) }
          })
          break
        }
        case 'LABEL': {
          const pairs = keyValues(inst.args, vars, dockerfile.escape, false)
          const text = `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`
          result = await configStep(text, (c) => ({ ...c, Labels: { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) } }))
          break
        }
        case 'WORKDIR': {
          const dir = words(inst, inst.args, vars).join(' ')
          const abs = dir.startsWith('/') ? dir : `${(state.config.WorkingDir || '/').replace(/\/$/, '')}/${dir}`
          const clean = `/${splitPath(abs).join('/')}`
          const text = `WORKDIR ${clean}`
          const k = await keyOf([key, text])
          // WORKDIR makes the directory when the image lacks it (a layer only then).
          const next = await step(inst, text, k, async () => {
            const tree = await treeOf(state)
            const missing = missingDirs(tree, clean, state.epoch)
            let s: ImageState = { ...state, config: { ...state.config, WorkingDir: clean } }
            if (missing.length > 0) s = await addLayer(s, { entries: missing })
            return withHistory(s, text, missing.length === 0)
          })
          result = { next, k }
          break
        }
        case 'USER': {
          const user = words(inst, inst.args, vars).join(' ')
          result = await configStep(`USER ${user}`, (c) => ({ ...c, User: user }))
          break
        }
        case 'EXPOSE': {
          const ports = words(inst, inst.args, vars).map((p) => (p.includes('/') ? p : `${p}/tcp`))
          for (const p of ports) if (!/^\d+(-\d+)?\/(tcp|udp|sctp)$/.test(p)) fail(inst, `"${p}" is not a port (PORT[/tcp|udp])`)
          result = await configStep(`EXPOSE ${ports.join(' ')}`, (c) => ({ ...c, ExposedPorts: { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(ports.map((p) => [p, {}])) } }))
          break
        }
        case 'STOPSIGNAL': {
          const sig = words(inst, inst.args, vars).join(' ')
          if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/.test(sig)) fail(inst, `"${sig}" is not a signal`)
          result = await configStep(`STOPSIGNAL ${sig}`, (c) => ({ ...c, StopSignal: sig }))
          break
        }
        case 'VOLUME': {
          const paths = inst.json ?? words(inst, inst.args, vars)
          if (paths.length === 0 || paths.some((v) => v.trim() === '')) fail(inst, 'needs at least one path')
          const text = `VOLUME ${JSON.stringify(paths)}`
          result = await configStep(text, (c) => ({ ...c, Volumes: { ...(c.Volumes ?? {}), ...Object.fromEntries(paths.map((v) => [v, {}])) } }))
          break
        }
        case 'HEALTHCHECK': {
          // Not in Docker's list of instructions that substitute variables: taken as written.
          const check = healthcheck(inst, fail)
          const text = `HEALTHCHECK ${JSON.stringify(check)}`
          result = await configStep(text, (c) => ({ ...c, Healthcheck: check }))
          break
        }
        case 'ONBUILD': {
          // Kept as written: variables are substituted when the trigger runs, in the child.
          const text = `ONBUILD ${inst.args}`
          result = await configStep(text, (c) => ({ ...c, OnBuild: [...(c.OnBuild ?? []), inst.args] }))
          break
        }
        case 'MAINTAINER': {
          const author = words(inst, inst.args, vars).join(' ')
          result = await configStep(`MAINTAINER ${author}`, (c) => c, { author })
          break
        }
        case 'SHELL': {
          const shell = inst.json!
          if (shell.length === 0) fail(inst, 'needs a shell, e.g. SHELL ["/bin/sh", "-c"]')
          result = await configStep(`SHELL ${JSON.stringify(shell)}`, (c) => c, { shell })
          break
        }
        case 'CMD':
        case 'ENTRYPOINT': {
          const argv = inst.json ?? [...state.shell, inst.args]
          const text = `${inst.keyword} ${JSON.stringify(argv)}`
          result = await configStep(text, (c) => {
            if (inst.keyword === 'CMD') return { ...c, Cmd: argv }
            // A new ENTRYPOINT drops a Cmd inherited from the base image, as Docker does.
            const { Cmd: _inherited, ...rest } = c
            return { ...rest, Entrypoint: argv }
          })
          break
        }
        case 'RUN': {
          const argv = inst.json ?? [...state.shell, inst.args]
          // ARGs are in a RUN's environment (not in the image's config) and in its key.
          const runArgs = new Map([...args].filter(([k]) => !env.has(k)))
          for (const k of PREDEFINED_ARGS) if (buildArgs.has(k) && !runArgs.has(k)) runArgs.set(k, buildArgs.get(k)!)
          const text = `RUN ${inst.json ? JSON.stringify(argv) : argv.join(' ')}`
          const k = await keyOf([key, text, [...runArgs].sort(), state.config.Env ?? [], state.config.User ?? '', state.config.WorkingDir ?? '', formatPlatform(state.platform)])
          const next = await step(inst, text, k, async () => {
            const lower = await treeOf(state)
            // Runtimes reuse a merged tree per image digest: name this one by its layers.
            const image = { ...runImage(state, `build step ${n}`), digest: await keyOf(state.layers.map((l) => l.digest)) }
            const spec = {
              image,
              entrypoint: argv,
              cmd: [],
              env: [...configEnv(runArgs), ...(env.has('PATH') ? [] : [`PATH=${DEFAULT_PATH}`])],
              cwd: state.config.WorkingDir || '/',
              user: state.config.User || '',
              hostname: 'buildkitsandbox',
            }
            const current = n
            let tail = ''
            const res = await host.run(opts.runtime, spec, (run) => {
              run.onOutput((chunk) => {
                tail = (tail + new TextDecoder().decode(chunk.data)).slice(-4096)
                opts.onEvent?.({ type: 'output', n: current, stream: chunk.stream, data: chunk.data })
              })
            }, lower)
            if (res.code !== 0) {
              const why = res.message ? ` (${res.message})` : ''
              const network = NETWORK_FAILURE.test(tail) ? ': a build\'s RUN has no network (only loopback)' : ''
              fail(inst, `${text.slice(0, 80)} returned a non-zero code: ${res.code}${why}${network}`)
            }
            const changes = await buildChanges(res.changes, lower)
            const s = changes.entries.length > 0 ? await addLayer(state, changes) : state
            return withHistory(s, text, changes.entries.length === 0)
          })
          result = { next, k }
          break
        }
        case 'COPY':
        case 'ADD': {
          const srcWords = inst.json ?? words(inst, inst.args, vars)
          const dest = srcWords.at(-1)!
          const sources = srcWords.slice(0, -1)
          for (const s of sources) if (/^[a-z]+:\/\//i.test(s)) fail(inst, `${s}: ADD of a URL is not supported (a build has no network); download it into the context and COPY it`)
          const chown = inst.flags.get('chown')
          const chmod = inst.flags.get('chmod')
          if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) fail(inst, `--chmod=${chmod}: give octal permissions, e.g. 0755`)
          const from = inst.flags.get('from')
          const picked = await pickSources(inst, sources, from, state.platform)
          const destAbs = dest.startsWith('/') ? dest : `${(state.config.WorkingDir || '/').replace(/\/$/, '')}/${dest}`
          const contentKey = await keyOf(await Promise.all(picked.map(async (p) => [p.rel, p.kind, p.mode, p.target ?? '', p.data ? await digestOf(await dataBytes(p.data)) : ''])))
          const flagText = [...inst.flags].map(([f, v]) => `--${f}=${v}`).join(' ')
          const text = `${inst.keyword} ${flagText ? `${flagText} ` : ''}${sources.join(' ')} ${dest}`
          const k = await keyOf([key, text, contentKey, formatPlatform(state.platform)])
          const next = await step(inst, text, k, async () => {
            const tree = await treeOf(state)
            const owner = chown === undefined ? { uid: 0, gid: 0 } : await resolveOwner(inst, tree, chown)
            const changes = await copyChanges(inst, tree, picked, destAbs, sources.length > 1 || dest.endsWith('/'), {
              ...owner,
              mode: chmod === undefined ? undefined : parseInt(chmod, 8),
              epoch: state.epoch,
              unpackTars: inst.keyword === 'ADD' && from === undefined,
            })
            return withHistory(await addLayer(state, changes), text, false)
          })
          result = { next, k }
          break
        }
        default:
          fail(inst, 'not supported')
          throw new Error('unreachable')
      }
      state = result.next
      key = result.k
      void usedArgs
    }
    results.set(stage.index, { state, key })
  }

  return { state: results.get(target.index)!.state, cached: cachedSteps, steps: n }

  // --- helpers that need the build's scope -------------------------------------------

  async function addLayer(s: ImageState, changes: ChangeSet): Promise<ImageState> {
    const layer = await writeLayer(changes, { epoch: s.epoch })
    await host.putLayer(layer)
    const ref: LayerRef = { digest: layer.digest, diffId: layer.diffId, mediaType: layer.mediaType, size: layer.size }
    // The next step's tree: this one's with the changes applied (no re-read of the layer).
    const before = await treeOf(s)
    const after = cloneTree(before)
    applyChangeSet(after, changes)
    const next = { ...s, layers: [...s.layers, ref] }
    trees.set(next.layers.map((l) => l.digest).join(','), Promise.resolve(after))
    return next
  }

  interface Picked {
    /** Path relative to the source root that lands under the destination. */
    rel: string
    /** Whether the source named this entry itself (not something inside a named dir). */
    top: boolean
    kind: 'file' | 'dir' | 'symlink'
    mode: number
    uid: number
    gid: number
    data?: FileData
    target?: string
  }

  async function pickSources(inst: Instruction, sources: readonly string[], from: string | undefined, forPlatform: Platform): Promise<Picked[]> {
    let entries: { path: string; node: Pick<Picked, 'kind' | 'mode' | 'uid' | 'gid' | 'data' | 'target'> }[]
    if (from === undefined) {
      entries = opts.context.entries.map((e: ContextEntry) => ({ path: e.path, node: { kind: e.kind, mode: e.mode, uid: 0, gid: 0, ...(e.data ? { data: e.data } : {}), ...(e.target !== undefined ? { target: e.target } : {}) } }))
    } else {
      const fromStage = stageByName(from)
      let tree: RootFs
      if (fromStage) {
        const r = results.get(fromStage.index)
        if (!r) fail(inst, `--from=${from}: that stage is not built before this one`)
        tree = await treeOf(r!.state)
      } else {
        let base: BaseImage
        try {
          base = await host.image(from, forPlatform)
        } catch (e) {
          fail(inst, `--from=${from}: ${(e as Error).message}`)
          throw e
        }
        tree = await buildRootFs(base.image)
      }
      entries = [...tree.walk()].map(([p, node]) => ({ path: p.slice(1), node: nodeInfo(node) }))
    }
    const picked: Picked[] = []
    for (const source of sources) {
      const clean = splitPath(source).join('/')
      const matcher = hasGlob(clean) ? globRegExp(clean) : undefined
      const roots = entries.filter((e) => (matcher ? matcher.test(e.path) : e.path === clean) || (clean === '' && e.path !== ''))
      if (clean === '') {
        // `COPY . dest`: the context's contents.
        for (const e of roots) picked.push({ rel: e.path, top: false, ...e.node })
        continue
      }
      if (roots.length === 0) fail(inst, `${source}: no such file or directory in the ${from === undefined ? 'build context' : `stage or image ${from}`}${from === undefined ? ' (or .dockerignore excludes it)' : ''}`)
      for (const root of roots) {
        const name = root.path.split('/').pop()!
        if (root.node.kind === 'dir') {
          // A directory's contents are copied, not the directory itself.
          for (const e of entries) if (e.path.startsWith(`${root.path}/`)) picked.push({ rel: e.path.slice(root.path.length + 1), top: false, ...e.node })
        } else picked.push({ rel: name, top: true, ...root.node })
      }
    }
    return picked
  }
}

function nodeInfo(node: Node): { kind: 'file' | 'dir' | 'symlink'; mode: number; uid: number; gid: number; data?: FileData; target?: string } {
  const base = { kind: node.kind, mode: node.mode, uid: node.uid, gid: node.gid }
  if (node.kind === 'file') return { ...base, data: node.data }
  if (node.kind === 'symlink') return { ...base, target: node.target }
  return base
}

async function dataBytes(data: FileData): Promise<Uint8Array> {
  return data instanceof Uint8Array ? data : data.load()
}

function parsePlatformIn(inst: Instruction, text: string): Platform {
  const parts = text.split('/')
  if (parts.length < 2 || parts.some((p) => p === '')) throw new DockerfileError('Dockerfile', inst.line, inst.keyword, `--platform=${text}: give os/arch, e.g. linux/386`)
  return parts[2] ? { os: parts[0]!, architecture: parts[1]!, variant: parts[2] } : { os: parts[0]!, architecture: parts[1]! }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((w) => typeof w === 'string')
const emptyObjects = (v: Record<string, unknown>): Record<string, Record<string, never>> => Object.fromEntries(Object.keys(v).map((k) => [k, {}]))

/** What a child inherits of its base's config beyond the runnable part; malformed fields are dropped. */
function inheritedConfig(raw: Record<string, unknown> | undefined): BuiltConfig {
  const out: BuiltConfig = {}
  if (!raw) return out
  if (isRecord(raw.ExposedPorts)) out.ExposedPorts = emptyObjects(raw.ExposedPorts)
  if (isRecord(raw.Volumes)) out.Volumes = emptyObjects(raw.Volumes)
  if (isRecord(raw.Labels) && Object.values(raw.Labels).every((v) => typeof v === 'string')) out.Labels = raw.Labels as Record<string, string>
  if (typeof raw.StopSignal === 'string') out.StopSignal = raw.StopSignal
  if (isRecord(raw.Healthcheck) && isStrings(raw.Healthcheck.Test)) out.Healthcheck = raw.Healthcheck as unknown as Healthcheck
  if (isStrings(raw.OnBuild)) out.OnBuild = raw.OnBuild
  return out
}

/** A base image's ONBUILD triggers as steps of the stage that builds on it (on its FROM line). */
async function onBuildSteps(from: Instruction, triggers: readonly string[], file: string): Promise<Instruction[]> {
  if (triggers.length === 0) return []
  const { parseDockerfile } = await import('./dockerfile.js')
  try {
    return parseDockerfile(`FROM scratch\n${triggers.join('\n')}\n`, file).stages[0]!.steps.map((s) => ({ ...s, line: from.line }))
  } catch (e) {
    if (e instanceof DockerfileError) throw new DockerfileError(file, from.line, 'FROM', `an ONBUILD trigger of the base image: ${e.message.replace(/^.*?:\d+: /, '')}`)
    throw e
  }
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }

/** A Go duration (`30s`, `1m30s`, `500ms`), as Docker reads HEALTHCHECK's flags, in ns. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy
  let total = 0
  let at = 0
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!
    at = re.lastIndex
  }
  return at === text.length && text.length > 0 ? Math.round(total) : undefined
}

/** HEALTHCHECK NONE | [--interval=D --timeout=D --start-period=D --start-interval=D --retries=N] CMD …, as Docker stores it. */
function healthcheck(inst: Instruction, fail: (inst: Instruction, what: string) => never): Healthcheck {
  if (/^NONE$/i.test(inst.args)) return { Test: ['NONE'] }
  const command = inst.args.replace(/^CMD\s+/i, '')
  let test: string[]
  const json = command.startsWith('[') ? (() => { try { return JSON.parse(command) as unknown } catch { return undefined } })() : undefined
  if (Array.isArray(json) && json.every((w) => typeof w === 'string')) {
    if (json.length === 0) fail(inst, 'CMD needs a command')
    test = ['CMD', ...(json as string[])]
  } else {
    // Run by the container's runtime with /bin/sh -c, whatever SHELL says (as Docker does).
    test = ['CMD-SHELL', command]
  }
  const check: Healthcheck = { Test: test }
  const durations: [string, 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval'][] = [
    ['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval'],
  ]
  for (const [flag, field] of durations) {
    const value = inst.flags.get(flag)
    if (value === undefined) continue
    const ns = parseGoDuration(value)
    if (ns === undefined) fail(inst, `--${flag}=${value} is not a duration (e.g. 30s, 1m30s, 500ms)`)
    if (ns !== 0 && ns! < 1e6) fail(inst, `--${flag}=${value}: the least is 1ms`)
    check[field] = ns!
  }
  const retries = inst.flags.get('retries')
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) fail(inst, `--retries=${retries} is not a whole number`)
    check.Retries = Number(retries)
  }
  return check
}

/** Directories along `path` the tree lacks, as change entries (root-owned 0755). */
function missingDirs(tree: RootFs, path: string, epoch: number): Change[] {
  const out: Change[] = []
  const parts = splitPath(path)
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`
    const node = tree.lookup(p)
    if (node?.kind === 'dir') continue
    if (node) throw new BuildError(`${p} exists in the image and is not a directory`)
    out.push({ path: p, kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: epoch })
  }
  return out
}

function cloneTree(fs: RootFs): RootFs {
  const copy = (node: Node): Node => (node.kind === 'dir' ? { ...node, entries: new Map([...node.entries].map(([k, v]) => [k, copy(v)])) } : { ...node })
  return new RootFs(copy(fs.root) as RootFs['root'])
}

/** `--chown=USER[:GROUP]` with names looked up in the image's /etc/passwd and /etc/group. */
async function resolveOwner(inst: Instruction, tree: RootFs, spec: string): Promise<{ uid: number; gid: number }> {
  const [user, group] = spec.split(':', 2) as [string, string?]
  const table = async (path: string): Promise<string[][]> => {
    const node = tree.lookup(path)
    if (node?.kind !== 'file') return []
    return new TextDecoder().decode(await readFile(node)).split('\n').map((l) => l.split(':'))
  }
  const lookup = async (name: string, path: string, field: number): Promise<number> => {
    if (/^\d+$/.test(name)) return Number(name)
    const row = (await table(path)).find((r) => r[0] === name)
    if (!row) throw new DockerfileError('Dockerfile', inst.line, inst.keyword, `--chown=${spec}: no ${path === '/etc/passwd' ? 'user' : 'group'} "${name}" in the image's ${path}`)
    return Number(row[field])
  }
  const uid = await lookup(user, '/etc/passwd', 2)
  let gid: number
  if (group !== undefined) gid = await lookup(group, '/etc/group', 2)
  else if (/^\d+$/.test(user)) gid = uid
  else gid = Number((await table('/etc/passwd')).find((r) => r[0] === user)?.[3] ?? uid)
  return { uid, gid }
}

interface CopyOptions {
  uid: number
  gid: number
  mode: number | undefined
  epoch: number
  unpackTars: boolean
}

function isTar(bytes: Uint8Array): boolean {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return true
  return bytes.length >= 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar'
}

/** The change set of a COPY/ADD: parents made as needed, sources under the destination. */
async function copyChanges(
  inst: Instruction,
  tree: RootFs,
  picked: readonly { rel: string; top: boolean; kind: 'file' | 'dir' | 'symlink'; mode: number; data?: FileData; target?: string }[],
  destAbs: string,
  destIsDir: boolean,
  o: CopyOptions,
): Promise<ChangeSet> {
  const byPath = new Map<string, Change>()
  const parentsOf = (path: string) => {
    const parts = splitPath(path)
    for (let i = 1; i < parts.length; i++) {
      const p = `/${parts.slice(0, i).join('/')}`
      if (byPath.has(p)) continue
      const existing = tree.lookup(p, false)
      // A parent the image has appears with its own metadata (as a copy-up would show it).
      if (existing?.kind === 'dir') byPath.set(p, { path: p, kind: 'dir', mode: existing.mode, uid: existing.uid, gid: existing.gid, mtime: existing.mtime })
      else byPath.set(p, { path: p, kind: 'dir', mode: 0o755, uid: o.uid, gid: o.gid, mtime: o.epoch })
    }
  }
  const single = picked.length === 1 && picked[0]!.top && !destIsDir && tree.lookup(destAbs)?.kind !== 'dir'
  for (const p of picked) {
    const path = single ? `/${splitPath(destAbs).join('/')}` : `/${splitPath(`${destAbs}/${p.rel}`).join('/')}`
    if (o.unpackTars && p.kind === 'file' && p.top && p.data) {
      const bytes = await dataBytes(p.data)
      if (isTar(bytes)) {
        // ADD of a local tar archive: its entries land under the destination directory.
        const tar = bytes[0] === 0x1f ? await decompressBytes('application/vnd.oci.image.layer.v1.tar+gzip', bytes) : bytes
        const unpacked = new RootFs()
        applyLayer(unpacked, readTarSync(tar))
        for (const [rel, node] of unpacked.walk()) {
          const at = `/${splitPath(`${destAbs}/${rel}`).join('/')}`
          parentsOf(at)
          byPath.set(at, toChange(at, nodeInfo(node), { ...o, uid: node.uid, gid: node.gid, mode: undefined }))
        }
        continue
      }
    }
    parentsOf(path)
    byPath.set(path, toChange(path, p, o))
  }
  if (!single) {
    const d = `/${splitPath(destAbs).join('/')}`
    if (d !== '/' && tree.lookup(d)?.kind !== 'dir' && !byPath.has(d)) {
      parentsOf(`${d}/x`)
    }
  }
  void inst
  const entries = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { entries }
}

function toChange(path: string, p: { kind: 'file' | 'dir' | 'symlink'; mode: number; data?: FileData; target?: string }, o: CopyOptions): Change {
  const meta = { uid: o.uid, gid: o.gid, mtime: o.epoch }
  if (p.kind === 'dir') return { path, kind: 'dir', mode: o.mode ?? p.mode, ...meta }
  if (p.kind === 'symlink') return { path, kind: 'symlink', mode: 0o777, ...meta, target: p.target ?? '' }
  return { path, kind: 'file', mode: o.mode ?? p.mode, ...meta, data: p.data ?? new Uint8Array(0) }
}
