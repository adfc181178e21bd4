// `boxplay commit`: a container's changes layer (changes.ts, written by the same layer
// writer as builds) on top of its image's layers, a config with the --change instructions
// applied and one more history entry, stored like a build's result. A running container is
// refused (Docker pauses it; boxplay asks for a stop, so the layer is the one on disk).

import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { parseDockerfile } from '../../web/build/dockerfile.js'
import { imageDocuments } from '../../web/build/image-documents.js'
import type { BuiltConfig, HistoryEntry } from '../../web/build/builder.js'
import { OCI_LAYER_GZIP, OCI_MANIFEST } from '../../web/oci/media-types.js'
import { storeNameFor } from '../store/names.js'
import type { Store } from '../store/store.js'
import { commandText } from './describe.js'
import { ContainerError } from './ids.js'
import { CHANGES_FILE, type ContainerRecord } from './record.js'
import { baseImage } from './supervisor.js'

export interface CommitOptions {
  /** NAME[:TAG]; none leaves the image unnamed (found by digest). */
  name?: string
  /** Dockerfile instructions: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL. */
  changes: readonly string[]
  message?: string
}

/** Applies `--change` instructions to a copy of the config. */
export function applyConfigChanges(config: BuiltConfig, changes: readonly string[]): BuiltConfig {
  const out: BuiltConfig = { ...config }
  for (const change of changes) {
    const parsed = parseDockerfile(`FROM scratch\n${change}\n`, '--change')
    for (const step of parsed.stages[0]?.steps ?? []) {
      const shellForm = () => ['/bin/sh', '-c', step.args]
      switch (step.keyword) {
        case 'CMD':
          out.Cmd = step.json ?? shellForm()
          break
        case 'ENTRYPOINT':
          out.Entrypoint = step.json ?? shellForm()
          break
        case 'WORKDIR':
          out.WorkingDir = step.args
          break
        case 'USER':
          out.User = step.args
          break
        case 'STOPSIGNAL':
          out.StopSignal = step.args
          break
        case 'ENV': {
          const env = new Map((out.Env ?? []).map((e) => [e.split('=')[0]!, e]))
          const pairs = step.args.includes('=') ? step.args.split(/\s+/).filter(Boolean) : [step.args.replace(/\s+/, '=')]
          for (const pair of pairs) env.set(pair.split('=')[0]!, pair)
          out.Env = [...env.values()]
          break
        }
        case 'LABEL': {
          const labels = { ...(out.Labels ?? {}) }
          for (const pair of step.args.split(/\s+/).filter(Boolean)) {
            const [k, ...v] = pair.split('=')
            labels[k!] = v.join('=').replace(/^"(.*)"$/, '$1')
          }
          out.Labels = labels
          break
        }
        case 'EXPOSE': {
          const ports = { ...(out.ExposedPorts ?? {}) }
          for (const p of step.args.split(/\s+/).filter(Boolean)) ports[p.includes('/') ? p : `${p}/tcp`] = {}
          out.ExposedPorts = ports
          break
        }
        default:
          throw new ContainerError('invalid', `--change ${step.keyword} is not supported: commit takes CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE and STOPSIGNAL`)
      }
    }
  }
  return out
}

export async function commitContainer(store: Store, record: ContainerRecord, opts: CommitOptions): Promise<{ digest: string; name?: string }> {
  if (record.state.status === 'running') {
    throw new ContainerError('running', `container ${record.config.name} is running: stop it first (boxplay commits a stopped container's files; it does not pause a running one)`)
  }
  const base = await baseImage(store, record)
  const config = applyConfigChanges((base.configFile.config ?? {}) as BuiltConfig, opts.changes)
  const now = Math.floor(Date.now() / 1000)
  const kept = record.state.changes
  const history: HistoryEntry[] = [
    ...((base.configFile.history ?? []) as HistoryEntry[]),
    {
      created: new Date(now * 1000).toISOString(),
      created_by: commandText(record),
      ...(opts.message ? { comment: opts.message } : {}),
      ...(kept ? {} : { empty_layer: true }),
    },
  ]
  const layers = [...base.layers, ...(kept ? [{ digest: kept.digest, diffId: kept.diffId, mediaType: OCI_LAYER_GZIP, size: kept.size }] : [])]
  const docs = await imageDocuments({ platform: base.platform, config, layers, history, epoch: now, shell: [] })
  const name = opts.name === undefined ? undefined : storeNameFor(opts.name.includes(':') || opts.name.includes('@') ? opts.name : `${opts.name}:latest`)
  await store.withTemp(async (tmp) => {
    if (kept) await store.putBytes(tmp, new Uint8Array(await fsp.readFile(join(record.dir, CHANGES_FILE))), { digest: kept.digest, size: kept.size })
    await store.putBytes(tmp, docs.config.bytes, { digest: docs.config.digest })
    await store.putBytes(tmp, docs.manifest.bytes, { digest: docs.manifest.digest })
    const descriptor = { mediaType: OCI_MANIFEST, digest: docs.manifest.digest, size: docs.manifest.bytes.byteLength, platform: base.platform }
    await store.setNames([{ name, descriptor }], [docs.manifest.digest, docs.config.digest, ...layers.map((l) => l.digest)])
  })
  return { digest: docs.manifest.digest, ...(name ? { name } : {}) }
}
