// The remote runtime (web/runtimes/remote) against a real `boxplay serve` server: the same
// Runtime interface the browser uses, here with Node's fetch and the `ws` WebSocket.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startServer, type RunningServer } from '../../server/http/server.js'
import { RemoteRuntime, type WebSocketConstructor } from '../../web/runtimes/remote/index.js'
import { collectOutput } from '../../web/runtimes/run-base.js'
import { HostProcessRuntime, fixtureImages } from './fixtures.js'

let server: RunningServer
let images: Awaited<ReturnType<typeof fixtureImages>>

beforeAll(async () => {
  images = await fixtureImages()
  server = await startServer({ port: 0, images, runtimes: [new HostProcessRuntime()] })
})
afterAll(async () => {
  await server?.close()
})

const remote = (token?: string) =>
  new RemoteRuntime({ baseUrl: server.origin, ...(token ? { token } : {}), WebSocket: WebSocket as unknown as WebSocketConstructor })

describe('RemoteRuntime', () => {
  it('reports availability, and why not', async () => {
    const rt = remote(server.token)
    expect(await rt.available()).toEqual({ ok: true })
    expect(rt.supports({ os: 'linux', architecture: 'amd64' })).toBe(true)
    expect(rt.supports({ os: 'wasi', architecture: 'wasm' })).toBe(false)
    const noToken = await remote().available()
    expect(noToken).toMatchObject({ ok: false })
    expect((noToken as { reason: string }).reason).toMatch(/access token/)
    const nobody = await new RemoteRuntime({ baseUrl: 'http://127.0.0.1:9' }).available()
    expect((nobody as { reason: string }).reason).toMatch(/no boxplay server answers .*npx boxplay serve/)
  })

  it('runs a command and returns its output, exit code and the server timings', async () => {
    const rt = remote(server.token)
    const image = await images.runImage('sh:latest')
    const run = await rt.start({ image, cmd: ['sh', '-c', 'echo hi; echo oops >&2; exit 4'] })
    expect(run.kind).toBe('remote')
    expect(server.runs.get(run.id).image).toBe('sh:latest')
    const { stdout, stderr, status } = await collectOutput(run)
    expect(stdout).toBe('hi\n')
    expect(stderr).toBe('oops\n')
    expect(status).toEqual({ code: 4, reason: 'exited' })
    expect(run.timings.map((p) => p.name)).toEqual(['request', 'start', 'run'])
    expect(run.facts.pid1).toBe('sh')
    // This runtime keeps no files: the endpoint and the Run's files() say so in words.
    const files = await fetch(`${server.origin}/api/runs/${run.id}/files`, { headers: { authorization: `Bearer ${server.token}` } })
    expect(files.status).toBe(404)
    expect(((await files.json()) as { error: string }).error).toMatch(/does not keep its files/)
    await expect((run as typeof run & { files(): Promise<unknown> }).files()).rejects.toThrow(/does not keep its files/)
  })

  it('writes stdin (also before the socket is open) and kills', async () => {
    const rt = remote(server.token)
    const image = await images.runImage('sh:latest')
    const cat = await rt.start({ image, cmd: ['cat'], stdin: true })
    cat.write('one ')
    cat.write(new TextEncoder().encode('two\n'))
    cat.closeStdin()
    expect((await collectOutput(cat)).stdout).toBe('one two\n')
    const sleeper = await rt.start({ image, cmd: ['sleep', '30'] })
    sleeper.kill('SIGTERM')
    expect(await sleeper.exit).toMatchObject({ reason: 'killed', signal: 'SIGTERM' })
  })

  it('turns a refused run into an error with the server\'s words', async () => {
    const rt = remote(server.token)
    const image = { ...(await images.runImage('sh:latest')), name: 'gone:latest' }
    await expect(rt.start({ image })).rejects.toThrow(/image gone:latest not found/)
  })
})
