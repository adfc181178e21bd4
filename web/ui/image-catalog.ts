// The images the playground can offer: the server's store when served (bundled and pulled
// images alike), the bundled OCI layout shipped with the static site otherwise, plus any
// archive dropped onto the page.

import { resolveImage, type ContentSource, type ResolvedImage } from '../oci/image.js'
import type { Platform } from '../oci/platform.js'
import { LayoutSource, ServerSource, type Progress } from '../runtimes/remote/sources.js'
import { openArchive } from './dropped-archive.js'
import type { PageEnv } from './page-env.js'

/** Where an image is: the server's store, the static site's layout, or only in this page (dropped in, built here, or kept in the browser's store). */
export type ImageOrigin = 'store' | 'bundled' | 'dropped' | 'built' | 'kept'

export interface CatalogEntry {
  name: string
  origin: ImageOrigin
  source: ContentSource
}

/** Names in the shape the store's listing gives them, whichever fields it uses. */
function nameOf(item: unknown): string | undefined {
  if (typeof item === 'string') return item
  if (typeof item !== 'object' || item === null) return undefined
  const i = item as Record<string, unknown>
  if (typeof i.name === 'string') return i.name
  if (typeof i.ref === 'string') return i.ref
  if (typeof i.repository === 'string') return typeof i.tag === 'string' ? `${i.repository}:${i.tag}` : i.repository
  return undefined
}

export class ImageCatalog {
  entries: CatalogEntry[] = []
  private progress: Progress = () => {}

  constructor(
    private env: PageEnv,
    private base = '',
  ) {}

  onProgress(listener: Progress): void {
    this.progress = listener
  }

  private report: Progress = (p) => this.progress(p)

  async refresh(): Promise<void> {
    const dropped = this.entries.filter((e) => e.origin === 'dropped' || e.origin === 'built' || e.origin === 'kept')
    if (this.env.mode === 'served' && this.env.authorized) {
      const res = await fetch(`${this.base}/api/images?brief`, { credentials: 'same-origin', cache: 'no-store' })
      if (!res.ok) throw new Error(`the server could not list its images: ${((await res.json()) as { error?: string }).error ?? res.status}`)
      const source = new ServerSource(this.base, { onProgress: this.report })
      const names = ((await res.json()) as unknown[]).map(nameOf).filter((n): n is string => n !== undefined)
      // A name the server now has (an image built or loaded there) means the server's image.
      this.entries = [...names.map((name) => ({ name, origin: 'store' as const, source })), ...dropped.filter((e) => !names.includes(e.name))]
    } else {
      // Relative to the page, so the static site works from any path on its host.
      const source = new LayoutSource(this.base ? `${this.base}/images` : new URL('images', document.baseURI).href.replace(/\/$/, ''), { onProgress: this.report })
      const names = await source.names().catch(() => [] as string[])
      this.entries = [...names.map((name) => ({ name, origin: 'bundled' as const, source })), ...dropped]
    }
  }

  /** Finds an entry by exact name, by `name:latest`, or by the name without its tag. */
  find(name: string): CatalogEntry | undefined {
    return (
      this.entries.find((e) => e.name === name) ??
      this.entries.find((e) => e.name === `${name}:latest`) ??
      this.entries.find((e) => e.name.replace(/:[^:/]+$/, '') === name)
    )
  }

  async resolve(name: string, platform?: Platform): Promise<ResolvedImage> {
    const entry = this.find(name)
    if (!entry) {
      const known = this.entries.map((e) => e.name).join(', ') || 'none'
      throw new Error(`there is no image ${name} here (images: ${known})`)
    }
    return resolveImage(entry.source, entry.name, platform)
  }

  /** An image built in this page (page-build.ts), under `name`, replacing one of that name. */
  addBuilt(name: string, source: ContentSource): void {
    this.entries = [...this.entries.filter((e) => e.name !== name), { name, origin: 'built', source }]
  }

  /** Images kept in the browser's store (committed there) join the list, after the others. */
  setKept(names: readonly string[], source: ContentSource): void {
    this.entries = [...this.entries.filter((e) => e.origin !== 'kept'), ...names.map((name) => ({ name, origin: 'kept' as const, source }))]
  }

  async addArchive(file: File): Promise<string[]> {
    const bytes = new Uint8Array(await file.arrayBuffer())
    const fallback = file.name.replace(/\.(tar|tar\.gz|tgz)$/i, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-') || 'dropped'
    const opened = await openArchive(bytes, `${fallback}:latest`)
    for (const name of opened.names) {
      this.entries = this.entries.filter((e) => e.name !== name)
      this.entries.push({ name, origin: 'dropped', source: opened.source })
    }
    return opened.names
  }
}
