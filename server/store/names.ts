// How images are named in the store's index.json (the `org.opencontainers.image.ref.name`
// annotation, as skopeo's `oci:DIR:REF` reads and writes it): the familiar form of the
// reference they were pulled by — `busybox:latest`, `127.0.0.1:5000/foo:1`, `me/app:2`.
// Lookups accept the exact stored name, any spelling that normalises to it
// (`docker.io/library/busybox` = `busybox:latest`), or a manifest digest (or a unique
// prefix of its hex of at least 6 digits, like docker image IDs).

import { familiarName, parseReference } from '../../web/oci/reference.js'

/** The name an image pulled/loaded as `ref` gets in index.json. Throws on invalid refs. */
export function storeNameFor(ref: string): string {
  return familiarName(parseReference(ref))
}

/** Normalised form for comparisons, or undefined when `name` is not a valid reference. */
export function normalisedName(name: string): string | undefined {
  try {
    return parseReference(name).toString()
  } catch {
    return undefined
  }
}

/** `repo` and `tag` columns for listings (a digest-pinned name shows its digest as the tag). */
export function splitName(name: string): { repository: string; tag: string } {
  const at = name.indexOf('@')
  if (at >= 0) return { repository: name.slice(0, at), tag: name.slice(at + 1) }
  const colon = name.lastIndexOf(':')
  if (colon > name.lastIndexOf('/')) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) }
  return { repository: name, tag: '' }
}

export function looksLikeDigestQuery(query: string): string | undefined {
  const m = /^(?:sha256:)?([a-f0-9]{6,64})$/.exec(query)
  return m ? m[1] : undefined
}
