// Download progress on stderr. On a terminal: one line per blob, redrawn in place (at most
// ~10 times a second). Otherwise: one quiet line per blob when it finishes, for logs.

import type { Writable } from 'node:stream'
import { humanBytes } from './describe.js'

export interface Progress {
  start(id: string, label: string, total: number | undefined): void
  advance(id: string, bytes: number): void
  done(id: string, note: string): void
  finish(): void
}

interface Line {
  label: string
  total: number | undefined
  received: number
  status: string | undefined
}

export function createProgress(out: Writable & { isTTY?: boolean; columns?: number }, enabled = true): Progress {
  if (!enabled) return { start() {}, advance() {}, done() {}, finish() {} }
  if (!out.isTTY) {
    const lines = new Map<string, Line>()
    return {
      start(id, label, total) {
        lines.set(id, { label, total, received: 0, status: undefined })
      },
      advance(id, bytes) {
        const l = lines.get(id)
        if (l) l.received += bytes
      },
      done(id, note) {
        const l = lines.get(id)
        out.write(`${l?.label ?? id}: ${note}\n`)
      },
      finish() {},
    }
  }
  const lines = new Map<string, Line>()
  let drawn = 0
  let last = 0
  const draw = (force: boolean): void => {
    const now = Date.now()
    if (!force && now - last < 100) return
    last = now
    let text = drawn > 0 ? `\x1b[${drawn}A` : ''
    const width = out.columns && out.columns > 20 ? out.columns - 1 : 200
    for (const l of lines.values()) {
      const state = l.status ?? (l.total ? `${humanBytes(l.received)} / ${humanBytes(l.total)} ${Math.floor((100 * l.received) / l.total)}%` : humanBytes(l.received))
      text += `\x1b[2K${`${l.label}: ${state}`.slice(0, width)}\n`
    }
    drawn = lines.size
    out.write(text)
  }
  return {
    start(id, label, total) {
      lines.set(id, { label, total, received: 0, status: undefined })
      draw(true)
    },
    advance(id, bytes) {
      const l = lines.get(id)
      if (l) l.received += bytes
      draw(false)
    },
    done(id, note) {
      const l = lines.get(id)
      if (l) l.status = note
      draw(true)
    },
    finish() {
      draw(true)
    },
  }
}
