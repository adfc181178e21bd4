// Joining byte chunks, which blob downloads, decompression, tar writing and run output all do.

/** One array holding `parts` in order; a single part comes back as is, without a copy. */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!
  let size = total ?? 0
  if (total === undefined) for (const p of parts) size += p.byteLength
  const out = new Uint8Array(size)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}
