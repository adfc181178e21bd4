// `boxplay history`: an image's config history, newest first, as `docker history` shows it.
// Each history entry that is not `empty_layer` owns the next layer of the manifest; a config
// without history (or whose history does not add up to its layers) gets one row per layer.
// SIZE is the layer as stored (the compressed blob): the uncompressed size Docker shows would
// mean reading every layer, and a history should not cost a decompression.

import { resolveImage } from '../../web/oci/image.js'
import type { Platform } from '../../web/oci/platform.js'
import type { Store } from '../store/store.js'

export interface HistoryRow {
  /** The image's digest on the newest row, null (`<missing>`) on the others, as docker does. */
  id: string | null
  created: string | null
  createdBy: string
  /** Bytes of the layer this step made (0 for steps that made none). */
  size: number
  comment: string
  emptyLayer: boolean
  /** The layer blob this step made. */
  layer: string | null
}

interface HistoryEntry {
  created?: unknown
  created_by?: unknown
  comment?: unknown
  empty_layer?: unknown
}

export async function imageHistory(store: Store, query: string, platform?: Platform): Promise<HistoryRow[]> {
  const entry = await store.get(query)
  const image = await resolveImage(store.contentSource(), entry.name ?? entry.descriptor.digest, platform)
  const layers = image.manifest.layers
  const history = (image.configFile.history ?? []).filter((h): h is HistoryEntry => typeof h === 'object' && h !== null)
  const nonEmpty = history.filter((h) => h.empty_layer !== true).length
  const rows: HistoryRow[] = []
  if (history.length > 0 && nonEmpty === layers.length) {
    let next = 0
    for (const h of history) {
      const empty = h.empty_layer === true
      const layer = empty ? undefined : layers[next++]
      rows.push({
        id: null,
        created: typeof h.created === 'string' ? h.created : null,
        createdBy: typeof h.created_by === 'string' ? h.created_by : '',
        size: layer?.size ?? 0,
        comment: typeof h.comment === 'string' ? h.comment : '',
        emptyLayer: empty,
        layer: layer?.digest ?? null,
      })
    }
  } else {
    for (const l of layers) rows.push({ id: null, created: image.configFile.created ?? null, createdBy: '', size: l.size, comment: '', emptyLayer: false, layer: l.digest })
  }
  rows.reverse()
  if (rows[0]) rows[0].id = entry.descriptor.digest
  return rows
}

/** Docker's units.HumanDuration: "3 hours ago", "About a minute ago". */
export function humanAgo(created: string | null, now = Date.now()): string {
  if (created === null) return 'N/A'
  const t = Date.parse(created)
  if (!Number.isFinite(t)) return 'N/A'
  const s = Math.max(0, (now - t) / 1000)
  const m = s / 60
  const h = m / 60
  let text: string
  if (s < 1) text = 'Less than a second'
  else if (s < 60) text = `${Math.floor(s)} seconds`
  else if (Math.round(m) === 1) text = 'About a minute'
  else if (m < 60) text = `${Math.floor(m)} minutes`
  else if (Math.round(h) === 1) text = 'About an hour'
  else if (h < 48) text = `${Math.floor(h)} hours`
  else if (h < 24 * 7 * 2) text = `${Math.floor(h / 24)} days`
  else if (h < 24 * 30 * 2) text = `${Math.floor(h / 24 / 7)} weeks`
  else if (h < 24 * 365 * 2) text = `${Math.floor(h / 24 / 30)} months`
  else text = `${Math.floor(h / 24 / 365)} years`
  return `${text} ago`
}

/** Docker's units.HumanSizeWithPrecision(n, 3): 0B, 512B, 13.3kB, 4.26MB. */
export function dockerSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let v = n
  let u = 0
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000
    u++
  }
  return `${Number(v.toPrecision(3))}${units[u]}`
}
