// Builds on the boxplay server (RUN in its native runtime): the context goes up as a tar to
// `POST /api/builds`, and the log comes back on the build's attach socket, the same protocol
// as a run's (web/runtimes/remote/protocol.ts). The image lands in the server's store.

import { contextToTar } from '../build/context-tar.js'
import type { BuildContext } from '../build/context.js'
import { attachPath, decodeStdio, parseServerMessage, STREAM_STDERR, type RunInfo } from '../runtimes/remote/protocol.js'

export interface ServerBuildOptions {
  context: BuildContext
  /** Where the Dockerfile is in the context. */
  dockerfile: string
  tags: readonly string[]
  platform?: string
  buildArgs?: ReadonlyMap<string, string>
  noCache?: boolean
  /** Each log line as it comes (stderr lines are flagged). */
  onLine(line: string, stream: 'stdout' | 'stderr'): void
  /** Called with a function that stops the build. */
  onStop?(stop: () => void): void
  base?: string
}

export interface ServerBuildResult {
  digest: string
  names: string[]
}

export async function buildOnServer(opts: ServerBuildOptions): Promise<ServerBuildResult> {
  const q = new URLSearchParams()
  for (const t of opts.tags) q.append('t', t)
  q.set('dockerfile', opts.dockerfile)
  if (opts.platform) q.set('platform', opts.platform)
  for (const [k, v] of opts.buildArgs ?? []) q.append('build-arg', `${k}=${v}`)
  if (opts.noCache) q.set('no-cache', '1')
  const base = opts.base ?? ''
  const tar = await contextToTar(opts.context)
  const res = await fetch(`${base}/api/builds?${q}`, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/x-tar' }, body: new Blob([tar as Uint8Array<ArrayBuffer>]) })
  const body = (await res.json().catch(() => ({}))) as RunInfo & { error?: string }
  if (!res.ok) throw new Error(body.error ?? `the server refused the build (${res.status})`)
  const url = new URL(attachPath(body.id), base || location.origin)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() }
    const partial = { stdout: '', stderr: '' }
    let settled = false
    opts.onStop?.(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'kill' })))
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') {
        const { tag, data } = decodeStdio(new Uint8Array(event.data as ArrayBuffer))
        const stream = tag === STREAM_STDERR ? 'stderr' : 'stdout'
        const lines = (partial[stream] + decoders[stream].decode(data, { stream: true })).split('\n')
        partial[stream] = lines.pop() ?? ''
        for (const line of lines) opts.onLine(line, stream)
        return
      }
      const m = parseServerMessage(event.data)
      if (m.type === 'exit') {
        settled = true
        if (m.status.code === 0 && typeof m.facts.digest === 'string') {
          resolve({ digest: m.facts.digest, names: String(m.facts.names ?? '').split(' ').filter(Boolean) })
        } else reject(new Error(m.status.message ?? `the build failed with code ${m.status.code}`))
      } else if (m.type === 'error') opts.onLine(`boxplay server: ${m.error}`, 'stderr')
    }
    ws.onclose = () => {
      if (!settled) reject(new Error('the connection to the boxplay server closed before the build ended'))
    }
  })
}
