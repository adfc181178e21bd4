import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { RegistryClient, RegistryError } from '../../web/oci/registry.js'
import { buildRootFs, resolveImage } from '../../web/oci/image.js'
import { readFile } from '../../web/oci/rootfs.js'
import { type LocalRegistry, pushImage, startRegistry, tarTree } from '../helpers/registry.js'

describe('registry client against a real docker-registry', () => {
  let registry: LocalRegistry
  beforeAll(async () => {
    registry = await startRegistry()
  })
  afterAll(async () => {
    await registry?.stop()
  })

  test('pulls a single-platform OCI image pushed by skopeo and builds its rootfs', async () => {
    const base = await tarTree({ 'bin/hello': { file: '#!/bin/sh\necho hi\n', mode: 0o755 }, 'etc/os-release': 'ID=test\n' })
    const top = await tarTree({ 'etc/os-release': 'ID=top\n' })
    const pushed = await pushImage(registry, 'test/single:1.0', [{ platform: { os: 'linux', architecture: '386' }, layers: [base, top], config: { Cmd: ['/bin/hello'] } }])
    const client = new RegistryClient({ registry: registry.host, insecure: true })
    const image = await resolveImage(client.source(`${registry.host}/test/single:1.0`), `${registry.host}/test/single:1.0`)
    expect(image.digest).toBe(pushed.top.digest)
    expect(image.platform).toEqual({ os: 'linux', architecture: '386' })
    expect(image.config.Cmd).toEqual(['/bin/hello'])
    expect(image.layers).toHaveLength(2)
    const fs = await buildRootFs(image)
    const node = fs.get('/etc/os-release')
    expect(node.kind).toBe('file')
    if (node.kind === 'file') expect(new TextDecoder().decode(await readFile(node))).toBe('ID=top\n')
    const hello = fs.get('/bin/hello')
    expect(hello.mode).toBe(0o755)
  })

  test('unknown tag says the image was not found', async () => {
    const client = new RegistryClient({ registry: registry.host, insecure: true })
    const err = await client.getManifest('test/nothing', 'latest').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RegistryError)
    expect((err as RegistryError).code).toBe('NOT_FOUND')
    expect((err as Error).message).toMatch(/not found/)
  })
})
