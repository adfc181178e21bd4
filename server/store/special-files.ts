// What Node's fs cannot do: extended attributes and device nodes/fifos. Both are rare in
// layers, so they are collected while unpacking and applied at the end in one batch —
// one `setfattr --restore` for every xattr, one `sh` loop for every mknod — instead of
// a process per file. Paths are relative to `cwd` (the layer directory) and are only ever
// paths the unpacker already resolved inside it.

import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface XattrItem {
  path: string
  name: string
  value: Uint8Array
}

/** getfattr's dump format escapes with \ooo octal; setfattr --restore undoes exactly that. */
function quote(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte <= 0x20 || byte >= 0x7f || byte === 0x5c || byte === 0x3d || byte === 0x22
      ? '\\' + byte.toString(8).padStart(3, '0')
      : String.fromCharCode(byte)
  }
  return out
}

/** Sets xattrs without following symlinks; returns how many could not be set. */
export function applyXattrs(cwd: string, items: readonly XattrItem[], scratchFile: string): { set: number; failed: number } {
  if (items.length === 0) return { set: 0, failed: 0 }
  const lines: string[] = []
  for (const { path, name, value } of items) {
    lines.push(`# file: ${quote(path)}`, `${quote(name)}=0x${Buffer.from(value).toString('hex')}`, '')
  }
  writeFileSync(scratchFile, lines.join('\n') + '\n')
  const res = spawnSync('setfattr', ['-h', `--restore=${scratchFile}`], { cwd, encoding: 'utf8' })
  if (res.error) {
    if ((res.error as NodeJS.ErrnoException).code === 'ENOENT') {
      // Without the tool nothing can be set: count every one as failed (recorded in the layer's JSON).
      return { set: 0, failed: items.length }
    }
    throw res.error
  }
  const failed = res.stderr.split('\n').filter((l) => l.trim() !== '').length
  return { set: items.length - Math.min(failed, items.length), failed: Math.min(failed, items.length) }
}

export interface NodeItem {
  path: string
  type: 'c' | 'b' | 'p'
  major: number
  minor: number
  mode: number
}

const BATCH = 500

/** Creates device nodes and fifos; throws with the tool's message when one fails. */
export function makeNodes(cwd: string, items: readonly NodeItem[]): void {
  for (let i = 0; i < items.length; i += BATCH) {
    const args: string[] = []
    for (const it of items.slice(i, i + BATCH)) {
      args.push(it.path, it.type, String(it.major), String(it.minor), (it.mode & 0o7777).toString(8).padStart(4, '0'))
    }
    // Paths travel as argv, never through the shell's parser.
    const script =
      'while [ $# -gt 0 ]; do ' +
      'if [ "$2" = p ]; then mknod -m "$5" -- "$1" p || exit 1; else mknod -m "$5" -- "$1" "$2" "$3" "$4" || exit 1; fi; ' +
      'shift 5; done'
    const res = spawnSync('sh', ['-c', script, 'sh', ...args], { cwd, encoding: 'utf8' })
    if (res.error) throw res.error
    if (res.status !== 0) throw new Error(`could not create device nodes/fifos in ${cwd}: ${res.stderr.trim()}`)
  }
}

/** Whether this process may create overlayfs whiteouts (char 0/0): probed once per directory. */
export function canMakeWhiteout(dir: string): boolean {
  const probe = join(dir, `.boxplay-whiteout-probe-${process.pid}`)
  const res = spawnSync('sh', ['-c', 'mknod -- "$1" c 0 0 && rm -f -- "$1"', 'sh', probe], { encoding: 'utf8' })
  return res.status === 0
}
