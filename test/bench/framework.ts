// The bench framework: each bench returns rows; main.ts runs them and prints a table or JSON.
// A row compares boxplay with the tool people would use instead (the "anchor"):
//   { name, unit, boxplay, anchor, anchorName, ratio }   ratio = boxplay / anchor
// For time units lower is better (ratio ≤ 1 means boxplay is at least as fast); for
// throughput units (…/s) higher is better. Benches written before this framework return
// { name, value, unit, target?, samples? } rows; those are accepted as they are.

export interface BenchResult {
  name: string
  unit: string
  boxplay: number | null
  anchor: number | null
  anchorName: string | null
  ratio: number | null
  /** Per-run values, when the figure is a median. */
  samples?: { boxplay: number[]; anchor?: number[] }
  /** Why a row has no figures (skipped, failed), or a caveat. */
  note?: string
}

/** The older row shape (v86, wasi, native, serve benches). */
export interface ValueRow {
  name: string
  value: number
  unit: string
  target?: string
  samples?: number[]
}

export type AnyRow = BenchResult | ValueRow

export interface BenchEntry {
  /** Short id for `npm run bench -- NAME`. */
  name: string
  run(): Promise<AnyRow[]>
}

export function normalise(row: AnyRow): BenchResult {
  if ('boxplay' in row) return row
  return {
    name: row.name,
    unit: row.unit,
    boxplay: row.value,
    anchor: null,
    anchorName: null,
    ratio: null,
    ...(row.samples ? { samples: { boxplay: row.samples } } : {}),
    ...(row.target ? { note: `target ${row.target}` } : {}),
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** A comparison row from samples (medians), ratio = boxplay / anchor. */
export function compare(name: string, unit: string, boxplay: number[], anchorName: string, anchor: number[], note?: string): BenchResult {
  const b = median(boxplay)
  const a = median(anchor)
  return {
    name,
    unit,
    boxplay: round(b),
    anchor: round(a),
    anchorName,
    ratio: a > 0 ? round(b / a) : null,
    samples: { boxplay: boxplay.map((x) => round(x)), anchor: anchor.map((x) => round(x)) },
    ...(note ? { note } : {}),
  }
}

export function skipped(name: string, reason: string): BenchResult {
  return { name, unit: '', boxplay: null, anchor: null, anchorName: null, ratio: null, note: `skipped: ${reason}` }
}

export function formatTable(rows: readonly BenchResult[]): string {
  const cells = rows.map((r) => [
    r.name,
    r.boxplay === null ? '—' : `${r.boxplay} ${r.unit}`,
    r.anchor === null ? '' : `${r.anchor} ${r.unit} (${r.anchorName})`,
    r.ratio === null ? '' : `${r.ratio}×`,
    r.note ?? '',
  ])
  const header = ['bench', 'boxplay', 'anchor', 'ratio', 'note']
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n'
}
