// Content digests. Only sha256 is accepted: it is what every registry and image uses, and
// accepting an algorithm we cannot verify would mean trusting content blindly.
// Hashing uses WebCrypto (globalThis.crypto.subtle), present in browsers and Node 20.

export class DigestError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DigestError'
  }
}

/** Content does not match the digest (or size) it was asked for by. */
export class DigestMismatch extends DigestError {
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(message)
    this.name = 'DigestMismatch'
  }
}

const SHA256_RE = /^sha256:[a-f0-9]{64}$/
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

export function isDigest(text: string): boolean {
  return SHA256_RE.test(text)
}

/** Splits and validates `sha256:<64 hex>`; other algorithms are refused by name. */
export function parseDigest(digest: string): { algorithm: 'sha256'; hex: string } {
  if (SHA256_RE.test(digest)) return { algorithm: 'sha256', hex: digest.slice(7) }
  if (ANY_DIGEST_RE.test(digest)) {
    const algorithm = digest.slice(0, digest.indexOf(':'))
    if (algorithm !== 'sha256') {
      throw new DigestError(`digest "${digest}" uses ${algorithm}; only sha256 digests are supported`)
    }
  }
  throw new DigestError(`"${digest}" is not a valid digest: expected sha256: followed by 64 lowercase hex digits`)
}

function toHex(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer)
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0')
  return out
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // WebCrypto refuses views of a SharedArrayBuffer; copy those (rare) ones.
  const view = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes)
  return toHex(await globalThis.crypto.subtle.digest('SHA-256', view))
}

export async function digestOf(bytes: Uint8Array): Promise<string> {
  return `sha256:${await sha256Hex(bytes)}`
}

/** Throws DigestMismatch unless `bytes` has this digest (and this size, when given). */
export async function verifyDigest(bytes: Uint8Array, digest: string, size?: number): Promise<void> {
  parseDigest(digest)
  if (size !== undefined && bytes.byteLength !== size) {
    throw new DigestMismatch(
      `content for ${digest} is ${bytes.byteLength} bytes but ${size} were expected: it is truncated or corrupt; fetch it again`,
      `${size} bytes`,
      `${bytes.byteLength} bytes`,
    )
  }
  const actual = await digestOf(bytes)
  if (actual !== digest) {
    throw new DigestMismatch(
      `content does not match its digest: expected ${digest}, got ${actual}; it is corrupt or was tampered with, fetch it again`,
      digest,
      actual,
    )
  }
}
