// Platforms as OCI names them: os/architecture[/variant]. `wasi/wasm` is the
// Docker+Wasm convention for WebAssembly images.

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/')
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new Error(`invalid platform "${text}": expected os/architecture[/variant], e.g. linux/386 or wasi/wasm`)
  }
  const [os, architecture, variant] = parts as [string, string, string?]
  return variant === undefined ? { os, architecture } : { os, architecture, variant }
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`
}

/** True when `have` satisfies `want`; a `want` without a variant accepts any variant. */
export function platformMatches(want: Platform, have: Platform): boolean {
  if (want.os !== have.os || want.architecture !== have.architecture) return false
  return want.variant === undefined || want.variant === have.variant
}
