// Sizes and durations as people type them: `64m`, `1.5g`, `10s`, `500ms`.

import { UsageError } from './args.js'

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim())
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined
  if (!m || unit === undefined || Number(m[1]) <= 0) {
    throw new UsageError(`--${option} takes a size like 64m, 512k or 1g, not "${text}"`)
  }
  return Math.round(Number(m[1]) * unit)
}

/** Milliseconds; a bare number means seconds, as `timeout(1)` reads it. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text.trim())
  if (!m || Number(m[1]) <= 0) throw new UsageError(`--${option} takes a duration like 10s, 500ms or 2m, not "${text}"`)
  return Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? 's').toLowerCase()]!)
}

export function parsePositiveNumber(text: string, option: string, integer: boolean): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${option} takes a positive ${integer ? 'whole ' : ''}number, not "${text}"`)
  }
  return n
}
