import { describe, expect, test } from 'vitest'
import { ImageReferenceError, familiarName, parseReference } from '../../web/oci/reference.js'

const D = `sha256:${'a'.repeat(64)}`

describe('parseReference normalises like docker and podman', () => {
  const table: [input: string, canonical: string, familiar: string, parts: { registry: string; repository: string; tag?: string; digest?: string }][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['busybox:1.35', 'docker.io/library/busybox:1.35', 'busybox:1.35', { registry: 'docker.io', repository: 'library/busybox', tag: '1.35' }],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest', { registry: 'docker.io', repository: 'library/busybox' }],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest', { registry: 'docker.io', repository: 'library/busybox' }],
    ['index.docker.io/library/busybox:musl', 'docker.io/library/busybox:musl', 'busybox:musl', { registry: 'docker.io', repository: 'library/busybox', tag: 'musl' }],
    ['me/app', 'docker.io/me/app:latest', 'me/app:latest', { registry: 'docker.io', repository: 'me/app' }],
    ['me/app/part:v1.2-rc_3', 'docker.io/me/app/part:v1.2-rc_3', 'me/app/part:v1.2-rc_3', { registry: 'docker.io', repository: 'me/app/part', tag: 'v1.2-rc_3' }],
    ['127.0.0.1:5000/team/app:dev', '127.0.0.1:5000/team/app:dev', '127.0.0.1:5000/team/app:dev', { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'dev' }],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['localhost:8080/a/b', 'localhost:8080/a/b:latest', 'localhost:8080/a/b:latest', { registry: 'localhost:8080', repository: 'a/b' }],
    ['ghcr.io/owner/img:tag', 'ghcr.io/owner/img:tag', 'ghcr.io/owner/img:tag', { registry: 'ghcr.io', repository: 'owner/img' }],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`, { registry: 'docker.io', repository: 'library/busybox', digest: D }],
    [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`, `busybox:1.36@${D}`, { registry: 'docker.io', repository: 'library/busybox', tag: '1.36', digest: D }],
    [`host:5000/x@${D}`, `host:5000/x@${D}`, `host:5000/x@${D}`, { registry: 'host:5000', repository: 'x', digest: D }],
    ['Registry.Example.com/app', 'Registry.Example.com/app:latest', 'Registry.Example.com/app:latest', { registry: 'Registry.Example.com', repository: 'app' }],
    ['a__b/c.d-e', 'docker.io/a__b/c.d-e:latest', 'a__b/c.d-e:latest', { registry: 'docker.io', repository: 'a__b/c.d-e' }],
  ]
  for (const [input, canonical, familiar, parts] of table) {
    test(`${input} → ${canonical}`, () => {
      const ref = parseReference(input)
      expect(ref.toString()).toBe(canonical)
      expect(ref.familiar).toBe(familiar)
      expect(familiarName(input)).toBe(familiar)
      expect(ref).toMatchObject(parts)
      if (parts.digest === undefined) expect(ref.digest).toBeUndefined()
      expect(ref.reference).toBe(ref.digest ?? ref.tag)
      // canonical forms are fixed points
      expect(parseReference(canonical).toString()).toBe(canonical)
    })
  }

  test('a digest-only reference invents no tag', () => {
    expect(parseReference(`busybox@${D}`).tag).toBeUndefined()
  })
})

describe('invalid references get clear errors', () => {
  const bad: [string, RegExp][] = [
    ['', /empty image reference/],
    ['   ', /empty image reference/],
    ['Busybox', /must be lowercase/],
    ['me/App:1', /must be lowercase/],
    ['busybox:', /tag ""/],
    ['busybox:-bad', /tag "-bad"/],
    [`busybox:${'t'.repeat(129)}`, /tag/],
    ['busybox@sha256:abc', /not a valid digest/],
    [`busybox@sha512:${'a'.repeat(128)}`, /only sha256/],
    ['a//b', /not a valid repository path component/],
    ['a/b-', /not a valid repository path component/],
    ['-host:5000/x', /registry host/],
    ['host:99999/x', /port 99999/],
    [':tag', /repository name is missing/],
    ['a'.repeat(64), /looks like an image ID/],
    [`x/${'a'.repeat(260)}`, /longer than 255/],
  ]
  for (const [input, message] of bad) {
    test(JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input), () => {
      expect(() => parseReference(input)).toThrow(ImageReferenceError)
      expect(() => parseReference(input)).toThrow(message)
    })
  }
})
