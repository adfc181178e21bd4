// The wire form of a native run's changes, as the server reads them from the overlay's
// upper dir after the run exits (`GET /api/runs/ID/files`): the image model's change set
// (web/oci/changes.ts) with file bytes as base64 and big files by size only. The browser
// applies them to the image's tree as the server's NativeRun.files() does.

import { applyChangeSet, type Change, type ChangeSet } from '../../oci/changes.js'
import type { Meta, RootFs } from '../../oci/rootfs.js'

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

/** The wire form as the image model's change set (web/oci/changes.ts). */
export function toChangeSet(changes: RunChanges): ChangeSet {
  return {
    entries: changes.entries.map((entry): Change => {
      if (entry.kind !== 'file') return entry
      const { data, size, ...rest } = entry
      return {
        ...rest,
        data:
          data !== undefined
            ? decodeBase64(data)
            : { size, load: () => Promise.reject(new Error(`${entry.path} is ${size} bytes: too big to send from the server's run`)) },
      }
    }),
  }
}

/** Applies a run's changes to `fs` (the image's merged tree) in place and returns it. */
export function applyChanges(fs: RootFs, changes: RunChanges): RootFs {
  return applyChangeSet(fs, toChangeSet(changes))
}
