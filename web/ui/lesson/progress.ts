// A lesson's progress and its sandbox, kept in the browser (web/store/), per lesson: the
// steps passed and the step open, and the files of the learner's sandbox in each browser
// runtime (v86 and wasi shells: a kept container per lesson and runtime), so a reload or a
// browser restart brings back both. "Start over" forgets both. The native runtime's sandbox
// lives on the server and is not kept here.
//
// A lesson is keyed by the page's path and its `lesson` name, so the same lesson embedded in
// two pages keeps two progresses. The store is opened once per page and shared.

import type { ChangeSet } from '../../oci/changes.js'
import type { RunImage } from '../../runtimes/runtime.js'
import { BrowserStore } from '../../store/browser-store.js'
import type { LessonRuntimeId } from './runtimes.js'

export interface LessonProgress {
  /** Indexes of the steps passed. */
  passed: number[]
  /** The step that was open. */
  active: number
  updatedAt: number
}

let opened: Promise<BrowserStore | undefined> | undefined

/** The page's store, or undefined where the browser keeps nothing (then nothing is kept, silently). */
function store(): Promise<BrowserStore | undefined> {
  opened ??= BrowserStore.open().catch(() => undefined)
  return opened
}

function isProgress(v: unknown): v is LessonProgress {
  const p = v as Partial<LessonProgress> | null
  return typeof p === 'object' && p !== null && Array.isArray(p.passed) && p.passed.every((n) => Number.isInteger(n)) && Number.isInteger(p.active)
}

/** A short stable tag for a lesson key, usable in a container name. */
function tag(key: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0
  return h.toString(16).padStart(8, '0')
}

export class LessonKeeper {
  /** `lesson` is the lesson's name; `page` where it is embedded (location.pathname). */
  constructor(
    private readonly lesson: string,
    private readonly page: string = typeof location === 'undefined' ? '' : location.pathname,
  ) {}

  private get key(): string {
    return `lesson:${this.page}#${this.lesson}`
  }

  /** The kept sandbox of this lesson in one runtime, as a container name. */
  sandboxName(runtime: LessonRuntimeId): string {
    const readable = this.lesson.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40) || 'lesson'
    return `lesson.${readable}.${tag(this.key)}.${runtime}`
  }

  async load(): Promise<LessonProgress | undefined> {
    const s = await store()
    const value = await s?.getValue(this.key).catch(() => undefined)
    return isProgress(value) ? value : undefined
  }

  async save(progress: Omit<LessonProgress, 'updatedAt'>): Promise<void> {
    const s = await store()
    await s?.setValue(this.key, { ...progress, updatedAt: Date.now() })
  }

  /**
   * The sandbox files kept for `runtime`, when they were made from this very image; a kept
   * sandbox of another image (the lesson changed it) is dropped, with the reason returned.
   */
  async sandbox(runtime: LessonRuntimeId, image: RunImage): Promise<{ changes?: ChangeSet; note?: string }> {
    if (runtime === 'native') return {}
    const s = await store()
    if (!s) return {}
    const record = await s.containers.find(this.sandboxName(runtime)).catch(() => undefined)
    if (!record) return {}
    if (record.image.digest !== image.digest) {
      await s.removeContainer(record.id).catch(() => {})
      return { note: 'the lesson’s image changed, so your earlier sandbox files could not be kept' }
    }
    try {
      return { changes: await s.containers.changes(record.id) }
    } catch (e) {
      return { note: `your earlier sandbox files could not be read (${e instanceof Error ? e.message : String(e)}): starting fresh` }
    }
  }

  /** Keeps the sandbox's files now (after a command, when the page is hidden). */
  async keepSandbox(runtime: LessonRuntimeId, image: RunImage, changes: ChangeSet): Promise<void> {
    if (runtime === 'native') return
    const s = await store()
    if (!s) return
    const name = this.sandboxName(runtime)
    let record = await s.containers.find(name)
    if (record && record.image.digest !== image.digest) {
      await s.removeContainer(record.id)
      record = undefined
    }
    record ??= await s.containers.create({
      name,
      image: { name: image.name, digest: image.digest, platform: `${image.platform.os}/${image.platform.architecture}` },
      runtime,
      process: { entrypoint: ['/bin/sh'] },
    })
    await s.containers.saveChanges(record.id, changes)
  }

  /** Forgets the kept sandbox of `runtime` (Reset), or of every runtime. */
  async dropSandbox(runtime?: LessonRuntimeId): Promise<void> {
    const s = await store()
    if (!s) return
    for (const r of runtime ? [runtime] : (['v86', 'wasi'] as const)) {
      const record = await s.containers.find(this.sandboxName(r)).catch(() => undefined)
      if (record) await s.removeContainer(record.id)
    }
  }

  /** Start over: progress and sandboxes gone. */
  async forget(): Promise<void> {
    const s = await store()
    if (!s) return
    await s.deleteValue(this.key)
    await this.dropSandbox()
  }
}
