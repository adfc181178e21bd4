// Image references, normalised the way docker and podman do it, so `busybox`,
// `docker.io/library/busybox:latest` and `index.docker.io/library/busybox` are one image.
//   busybox                        → docker.io/library/busybox:latest
//   me/app:1.0                     → docker.io/me/app:1.0
//   127.0.0.1:5000/team/app        → 127.0.0.1:5000/team/app:latest
//   localhost/app@sha256:…         → localhost/app@sha256:… (no tag invented)
// The first path component is a registry when it has a '.' or ':' or is `localhost`.

import { DigestError, parseDigest } from './digest.js'

export const DEFAULT_REGISTRY = 'docker.io'
export const DEFAULT_TAG = 'latest'
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io'
const MAX_NAME_LENGTH = 255

export class ImageReferenceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ImageReferenceError'
  }
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const HOST_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/

export class ImageReference {
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly tag: string | undefined,
    readonly digest: string | undefined,
  ) {}

  /** registry/repository without tag or digest, e.g. docker.io/library/busybox. */
  get name(): string {
    return `${this.registry}/${this.repository}`
  }

  /** Canonical and complete: docker.io/library/busybox:latest (plus @digest when pinned). */
  toString(): string {
    return this.name + (this.tag !== undefined ? `:${this.tag}` : '') + (this.digest !== undefined ? `@${this.digest}` : '')
  }

  /** The short form people type and listings show: busybox:latest, me/app:1.0, host:5000/x:y. */
  get familiar(): string {
    return familiarName(this)
  }

  /** What to ask the registry for: the digest when pinned, else the tag. */
  get reference(): string {
    return this.digest ?? this.tag ?? DEFAULT_TAG
  }
}

function splitDomain(name: string): { registry: string; path: string } {
  const slash = name.indexOf('/')
  const first = slash < 0 ? '' : name.slice(0, slash)
  const isDomain =
    slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first)
  let registry = isDomain ? first : DEFAULT_REGISTRY
  let path = isDomain ? name.slice(slash + 1) : name
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY
  if (registry === DEFAULT_REGISTRY && !path.includes('/')) path = `library/${path}`
  return { registry, path }
}

function validateRegistry(registry: string, text: string): void {
  let host = registry
  let port: string | undefined
  const m = /^(.*?)(?::(\d+))?$/.exec(registry)!
  host = m[1]!
  port = m[2]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new ImageReferenceError(`invalid image reference "${text}": port ${port} is out of range`)
  }
  const ok = IPV6_HOST.test(host) || (host !== '' && host.split('.').every((c) => HOST_COMPONENT.test(c)))
  if (!ok) throw new ImageReferenceError(`invalid image reference "${text}": "${registry}" is not a valid registry host[:port]`)
}

export function parseReference(text: string): ImageReference {
  const input = text.trim()
  if (input === '') throw new ImageReferenceError('empty image reference: give an image name such as busybox or busybox:1.36')
  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    try {
      parseDigest(digest)
    } catch (e) {
      if (e instanceof DigestError) throw new ImageReferenceError(`invalid image reference "${text}": ${e.message}`)
      throw e
    }
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) {
      throw new ImageReferenceError(
        `invalid image reference "${text}": tag "${tag}" must be 1–128 letters, digits, '_', '.' or '-' and not start with '.' or '-'`,
      )
    }
  }
  if (rest === '') throw new ImageReferenceError(`invalid image reference "${text}": the repository name is missing`)
  if (/^[a-f0-9]{64}$/.test(rest) && tag === undefined && digest === undefined) {
    throw new ImageReferenceError(`"${text}" looks like an image ID, not a name: use name@sha256:${rest} to pin by digest`)
  }
  const { registry, path } = splitDomain(rest)
  validateRegistry(registry, text)
  for (const component of path.split('/')) {
    if (PATH_COMPONENT.test(component)) continue
    if (component.toLowerCase() !== component && PATH_COMPONENT.test(component.toLowerCase())) {
      throw new ImageReferenceError(`invalid image reference "${text}": repository names must be lowercase ("${component}")`)
    }
    throw new ImageReferenceError(
      `invalid image reference "${text}": "${component}" is not a valid repository path component ` +
        `(lowercase letters, digits and single '.', '_', '__' or '-' separators)`,
    )
  }
  if (registry.length + 1 + path.length > MAX_NAME_LENGTH) {
    throw new ImageReferenceError(`invalid image reference "${text}": the name is longer than ${MAX_NAME_LENGTH} characters`)
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG
  return new ImageReference(registry, path, tag, digest)
}

/** busybox:latest for docker.io/library/busybox:latest; the registry stays for others. */
export function familiarName(ref: ImageReference | string): string {
  const r = typeof ref === 'string' ? parseReference(ref) : ref
  let name = r.name
  if (r.registry === DEFAULT_REGISTRY) {
    name = r.repository.startsWith('library/') && r.repository.split('/').length === 2 ? r.repository.slice(8) : r.repository
  }
  return name + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '')
}
