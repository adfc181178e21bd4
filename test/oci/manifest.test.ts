import { describe, expect, test } from 'vitest'
import { DigestError, DigestMismatch, digestOf, parseDigest, sha256Hex, verifyDigest } from '../../web/oci/digest.js'
import {
  ManifestError,
  imagePlatforms,
  isIndexMediaType,
  isManifestMediaType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  selectPlatform,
  sniffManifestMediaType,
} from '../../web/oci/manifest.js'
import * as MT from '../../web/oci/media-types.js'

const d = (c: string): string => `sha256:${c.repeat(64)}`
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))

const ociManifest = {
  schemaVersion: 2,
  mediaType: MT.OCI_MANIFEST,
  config: { mediaType: MT.OCI_CONFIG, digest: d('c'), size: 100 },
  layers: [
    { mediaType: MT.OCI_LAYER_GZIP, digest: d('1'), size: 1000, annotations: { a: 'b' } },
    { mediaType: MT.OCI_LAYER_TAR, digest: d('2'), size: 0, urls: ['https://example/x'] },
  ],
  annotations: { 'org.opencontainers.image.created': '2024-01-01' },
}

const dockerList = {
  schemaVersion: 2,
  mediaType: MT.DOCKER_MANIFEST_LIST,
  manifests: [
    { mediaType: MT.DOCKER_MANIFEST, digest: d('a'), size: 500, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MT.DOCKER_MANIFEST, digest: d('b'), size: 500, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { mediaType: MT.DOCKER_MANIFEST, digest: d('e'), size: 500, platform: { os: 'linux', architecture: '386' } },
    {
      mediaType: MT.OCI_MANIFEST,
      digest: d('f'),
      size: 500,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
    },
  ],
}

describe('digests', () => {
  test('sha256 of known input, and verification', async () => {
    const abc = new TextEncoder().encode('abc')
    expect(await sha256Hex(abc)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(await digestOf(abc)).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    await verifyDigest(abc, await digestOf(abc), 3)
    await expect(verifyDigest(abc, d('0'))).rejects.toThrow(DigestMismatch)
    await expect(verifyDigest(abc, d('0'))).rejects.toThrow(/expected sha256:0+, got sha256:ba78/)
    await expect(verifyDigest(abc, await digestOf(abc), 4)).rejects.toThrow(/3 bytes but 4 were expected/)
  })

  test('parseDigest accepts sha256 only', () => {
    expect(parseDigest(d('f'))).toEqual({ algorithm: 'sha256', hex: 'f'.repeat(64) })
    expect(() => parseDigest(`sha512:${'a'.repeat(128)}`)).toThrow(/uses sha512; only sha256/)
    expect(() => parseDigest('sha256:ABC')).toThrow(DigestError)
    expect(() => parseDigest(`sha256:${'A'.repeat(64)}`)).toThrow(/not a valid digest/)
    expect(() => parseDigest('nonsense')).toThrow(/not a valid digest/)
  })
})

describe('manifests and indexes', () => {
  test('parses an OCI manifest, keeping descriptors exactly', () => {
    const m = parseManifest(enc(ociManifest))
    expect(m).toEqual(ociManifest)
    expect(parseManifest(JSON.stringify(ociManifest), MT.OCI_MANIFEST).layers[0]!.annotations).toEqual({ a: 'b' })
  })

  test('parses Docker v2 schema 2 manifests and manifest lists', () => {
    const docker = { ...ociManifest, mediaType: MT.DOCKER_MANIFEST, config: { ...ociManifest.config, mediaType: MT.DOCKER_CONFIG } }
    expect(parseManifest(enc(docker)).mediaType).toBe(MT.DOCKER_MANIFEST)
    const list = parseIndex(enc(dockerList))
    expect(list.manifests).toHaveLength(4)
    expect(list.manifests[1]!.platform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' })
    expect(isIndexMediaType(MT.DOCKER_MANIFEST_LIST) && isIndexMediaType(MT.OCI_INDEX)).toBe(true)
    expect(isManifestMediaType(MT.DOCKER_MANIFEST) && isManifestMediaType(MT.OCI_MANIFEST)).toBe(true)
    expect(isManifestMediaType(MT.OCI_INDEX)).toBe(false)
  })

  test('media type from the transport is used when the document has none, parameters stripped', () => {
    const { mediaType: _, ...bare } = ociManifest
    expect(parseManifest(enc(bare), `${MT.OCI_MANIFEST}; charset=utf-8`).mediaType).toBe(MT.OCI_MANIFEST)
    expect(parseManifest(enc(bare)).mediaType).toBeUndefined()
    expect(sniffManifestMediaType(enc(bare))).toBe(MT.OCI_MANIFEST)
    const { mediaType: __, ...bareIndex } = dockerList
    expect(sniffManifestMediaType(enc(bareIndex))).toBe(MT.OCI_INDEX)
  })

  test('schema 1 is refused with advice', () => {
    const schema1 = { schemaVersion: 1, name: 'x', tag: 'latest', fsLayers: [], history: [] }
    expect(() => parseManifest(enc(schema1), MT.DOCKER_SCHEMA1_SIGNED_MANIFEST)).toThrow(/schema 1 .* re-push/)
    expect(() => parseManifest(enc(schema1))).toThrow(/schema 1/)
    expect(() => parseIndex(enc(schema1))).toThrow(/schema 1/)
  })

  test('wrong kinds and unknown media types are refused', () => {
    expect(() => parseManifest(enc(dockerList))).toThrow(/got media type .*manifest\.list.* pick a platform/)
    expect(() => parseIndex(enc(ociManifest))).toThrow(/expected an image index .* use parseManifest/)
    expect(() => parseManifest(enc({ ...ociManifest, mediaType: 'application/vnd.cncf.helm.chart' }))).toThrow(/expected an image manifest but got media type "application\/vnd.cncf.helm.chart"/)
    expect(() => parseManifest(enc({ ...ociManifest, schemaVersion: 3 }))).toThrow(/schemaVersion 3/)
    expect(() => parseManifest('{not json')).toThrow(/not valid JSON/)
    expect(() => parseManifest('[]')).toThrow(/JSON object/)
  })

  test('bad digests and sizes in descriptors are refused', () => {
    const withLayer = (layer: object) => enc({ ...ociManifest, layers: [layer] })
    expect(() => parseManifest(withLayer({ mediaType: MT.OCI_LAYER_GZIP, digest: 'sha256:1234', size: 1 }))).toThrow(/layers\[0\]\.digest: .*not a valid digest/)
    expect(() => parseManifest(withLayer({ mediaType: MT.OCI_LAYER_GZIP, digest: `sha512:${'a'.repeat(128)}`, size: 1 }))).toThrow(/only sha256/)
    expect(() => parseManifest(withLayer({ mediaType: MT.OCI_LAYER_GZIP, digest: d('1'), size: -1 }))).toThrow(/size must be a non-negative integer/)
    expect(() => parseManifest(withLayer({ mediaType: MT.OCI_LAYER_GZIP, digest: d('1'), size: 1.5 }))).toThrow(/size/)
    expect(() => parseManifest(withLayer({ mediaType: MT.OCI_LAYER_GZIP, digest: d('1'), size: '1' }))).toThrow(/size/)
    expect(() => parseManifest(withLayer({ digest: d('1'), size: 1 }))).toThrow(/mediaType must be a non-empty string/)
    expect(() => parseManifest(enc({ ...ociManifest, config: undefined }))).toThrow(/config must be an object/)
  })
})

describe('platform selection', () => {
  const index = parseIndex(enc(dockerList))

  test('picks the matching entry; a want without variant accepts any variant', () => {
    expect(selectPlatform(index, { os: 'linux', architecture: '386' }, 'busybox:latest').digest).toBe(d('e'))
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm' }, 'busybox:latest').digest).toBe(d('b'))
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'x').digest).toBe(d('b'))
  })

  test('no match: the error lists the real platforms (attestations left out)', () => {
    expect(imagePlatforms(index).map((p) => `${p.os}/${p.architecture}`)).toEqual(['linux/amd64', 'linux/arm', 'linux/386'])
    const run = () => selectPlatform(index, { os: 'wasi', architecture: 'wasm' }, 'busybox:latest')
    expect(run).toThrow(ManifestError)
    expect(run).toThrow('image busybox:latest has no wasi/wasm variant; it is available for: linux/amd64, linux/arm/v7, linux/386')
    expect(() => selectPlatform(index, { os: 'unknown', architecture: 'unknown' }, 'x')).toThrow(/no unknown\/unknown variant/)
  })
})

describe('image config files', () => {
  const config = {
    architecture: '386',
    os: 'linux',
    config: { Entrypoint: null, Cmd: ['/bin/sh'], Env: ['PATH=/bin'], WorkingDir: '/root', User: '1000', Labels: { x: 'y' } },
    rootfs: { type: 'layers', diff_ids: [d('1'), d('2')] },
    history: [{ created_by: 'x' }],
    created: '2024-01-01T00:00:00Z',
  }

  test('parses the runnable fields', () => {
    const c = parseImageConfig(enc(config))
    expect(c.config).toEqual({ Entrypoint: null, Cmd: ['/bin/sh'], Env: ['PATH=/bin'], WorkingDir: '/root', User: '1000' })
    expect(c.rootfs.diff_ids).toEqual([d('1'), d('2')])
    expect(c).toMatchObject({ architecture: '386', os: 'linux', created: '2024-01-01T00:00:00Z' })
  })

  test('refuses configs that are not image configs or have bad fields', () => {
    expect(() => parseImageConfig(enc({ ...config, rootfs: undefined }))).toThrow(/no valid rootfs/)
    expect(() => parseImageConfig(enc({ ...config, rootfs: { type: 'layers', diff_ids: ['md5:x'] } }))).toThrow(/diff_ids\[0\]/)
    expect(() => parseImageConfig(enc({ ...config, os: 7 }))).toThrow(/os must be a non-empty string/)
    expect(() => parseImageConfig(enc({ ...config, config: { Cmd: 'sh' } }))).toThrow(/config.Cmd must be an array of strings/)
  })
})
