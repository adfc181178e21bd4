// What a native run changed in its filesystem, as the server reads it from the overlay's
// upper dir after the run exits (`GET /api/runs/ID/files`), and how those changes land on
// the image's merged tree so the file panel can compare both like for v86 and wasi runs.
// No Node APIs: the browser applies the same changes the server's NativeRun.files() does.

import { RootFs, splitPath, type DirNode, type Meta, type Node } from '../../oci/rootfs.js'

/** Files up to this size travel with their bytes; bigger ones only with their size. */
export const MAX_SENT_FILE_BYTES = 1 << 20
/** All file bytes of one run's changes together stay below this. */
export const MAX_SENT_TOTAL_BYTES = 16 << 20

interface EntryBase extends Meta {
  /** Absolute path inside the container, e.g. `/etc/hosts`. */
  path: string
}

/** One path of the upper dir, in pre-order (a directory before what is in it). */
export type ChangeEntry =
  | (EntryBase & { kind: 'file'; size: number; /** base64; absent when too big to send */ data?: string })
  | (EntryBase & { kind: 'dir'; /** overlayfs hid everything the image had in it */ opaque?: boolean })
  | (EntryBase & { kind: 'symlink'; target: string })
  | { path: string; kind: 'deleted' }

export interface RunChanges {
  entries: ChangeEntry[]
}

/** A run whose runtime kept its changes (the native runtime with `keepChanges`). */
export interface RunWithChanges {
  changes(): Promise<RunChanges>
  /** Drops the kept changes unread (the run is forgotten). */
  discard(): void
}

export function hasChanges(run: object): run is RunWithChanges {
  const r = run as Partial<RunWithChanges>
  return typeof r.changes === 'function' && typeof r.discard === 'function'
}

export function encodeBase64(bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(text)
}

function decodeBase64(text: string): Uint8Array {
  const raw = atob(text)
  const bytes = new Uint8Array(raw.length)
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i)
  return bytes
}

/** The directory `parts` names, walked without following symlinks (upper paths are real). */
function dirAt(fs: RootFs, parts: readonly string[]): DirNode {
  let dir = fs.root
  for (const part of parts) {
    const next: Node | undefined = dir.entries.get(part)
    if (next?.kind === 'dir') dir = next
    else {
      // The upper dir has a directory where the image has nothing or something else.
      const made: DirNode = { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, entries: new Map() }
      dir.entries.set(part, made)
      dir = made
    }
  }
  return dir
}

/** Applies a run's changes to `fs` (the image's merged tree) in place and returns it. */
export function applyChanges(fs: RootFs, changes: RunChanges): RootFs {
  for (const entry of changes.entries) {
    const parts = splitPath(entry.path)
    const name = parts.pop()
    if (name === undefined) continue
    const parent = dirAt(fs, parts)
    if (entry.kind === 'deleted') {
      parent.entries.delete(name)
      continue
    }
    const meta: Meta = { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime }
    if (entry.kind === 'dir') {
      const existing = parent.entries.get(name)
      if (existing?.kind === 'dir') {
        Object.assign(existing, meta)
        if (entry.opaque) existing.entries.clear()
      } else parent.entries.set(name, { kind: 'dir', ...meta, entries: new Map() })
    } else if (entry.kind === 'symlink') {
      parent.entries.set(name, { kind: 'symlink', ...meta, target: entry.target })
    } else {
      const { data, size, path } = entry
      parent.entries.set(name, {
        kind: 'file',
        ...meta,
        data:
          data !== undefined
            ? decodeBase64(data)
            : { size, load: () => Promise.reject(new Error(`${path} is ${size} bytes: too big to send from the server's run`)) },
      })
    }
  }
  return fs
}
