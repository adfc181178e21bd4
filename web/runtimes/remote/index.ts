// The `remote` runtime: the server's native runtime, seen from a browser (or any client)
// through `boxplay serve`'s API and attach socket, behind the common Runtime interface.

import { buildRootFs } from '../../oci/image.js'
import { formatPlatform, parsePlatform, platformMatches, type Platform } from '../../oci/platform.js'
import type { RootFs } from '../../oci/rootfs.js'
import { RunBase } from '../run-base.js'
import type { Availability, Run, RunImage, Runtime, RunSpec } from '../runtime.js'
import { applyChanges, type RunChanges } from './changes.js'
import {
  MAX_MESSAGE_BYTES,
  STREAM_STDIN,
  STREAM_STDOUT,
  TOKEN_QUERY,
  attachPath,
  decodeStdio,
  encodeStdio,
  parseServerMessage,
  type ClientMessage,
  type CreateRunRequest,
  type RunInfo,
  type RuntimeInfo,
} from './protocol.js'

/** The WebSocket constructor the client uses: the browser's, or `ws` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocket

export interface RemoteOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:4173`; '' for the page's own origin. */
  baseUrl: string
  /** The access token; a same-origin page has the cookie and needs none. */
  token?: string
  /** Which of the server's runtimes to use. */
  target?: string
  fetch?: typeof fetch
  WebSocket?: WebSocketConstructor
}

export class RemoteRuntime implements Runtime {
  readonly kind = 'remote' as const
  private info: RuntimeInfo | undefined

  constructor(private opts: RemoteOptions) {}

  get target(): string {
    return this.opts.target ?? 'native'
  }

  private headers(json = false): Record<string, string> {
    const h: Record<string, string> = {}
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`
    if (json) h['content-type'] = 'application/json'
    return h
  }

  private async call<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const doFetch = this.opts.fetch ?? globalThis.fetch
    let res: Response
    try {
      res = await doFetch(`${this.opts.baseUrl}${path}`, {
        method: init.method ?? 'GET',
        headers: this.headers(init.body !== undefined),
        credentials: 'same-origin',
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      })
    } catch {
      throw new Error(`no boxplay server answers at ${this.opts.baseUrl || 'this address'}: start one with \`npx boxplay serve\``)
    }
    const text = await res.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new Error(`the address ${this.opts.baseUrl || 'of this page'} is not a boxplay server (it answered ${res.status} with something other than JSON)`)
    }
    if (!res.ok) throw Object.assign(new Error((body as { error?: string }).error ?? `the server answered ${res.status}`), { status: res.status })
    return body as T
  }

  async available(): Promise<Availability> {
    try {
      const all = await this.call<RuntimeInfo[]>('/api/runtimes')
      this.info = all.find((r) => r.kind === this.target)
      if (!this.info) return { ok: false, reason: `the boxplay server has no ${this.target} runtime` }
      return this.info.ok ? { ok: true } : { ok: false, reason: `on the server: ${this.info.reason ?? 'unavailable'}` }
    } catch (e) {
      return { ok: false, reason: (e as Error).message }
    }
  }

  supports(platform: Platform): boolean {
    const platforms = this.info?.platforms ?? ['linux/386', 'linux/amd64']
    return platforms.some((p) => platformMatches(parsePlatform(p), platform))
  }

  async start(spec: RunSpec): Promise<Run> {
    const req: CreateRunRequest = { image: spec.image.name, platform: formatPlatform(spec.image.platform), runtime: this.target }
    if (spec.cmd) req.cmd = spec.cmd
    if (spec.entrypoint) req.entrypoint = spec.entrypoint
    if (spec.env) req.env = spec.env
    if (spec.cwd) req.cwd = spec.cwd
    if (spec.user) req.user = spec.user
    if (spec.hostname) req.hostname = spec.hostname
    if (spec.tty) req.tty = spec.tty
    if (spec.stdin !== undefined) req.stdin = spec.stdin
    if (spec.limits) req.limits = spec.limits
    const started = globalThis.performance.now()
    const info = await this.call<RunInfo>('/api/runs', { method: 'POST', body: req })
    const serverMs = info.timings.reduce((sum, p) => sum + p.ms, 0)
    const run = new RemoteRun(info.id, globalThis.performance.now() - started, serverMs, spec.image, () =>
      this.call<RunChanges>(`/api/runs/${encodeURIComponent(info.id)}/files`),
    )
    await run.connect(info, this.socketUrl(info.id), this.opts.WebSocket ?? globalThis.WebSocket)
    return run
  }

  private socketUrl(id: string): string {
    const base = this.opts.baseUrl || globalThis.location.origin
    const url = new URL(attachPath(id), base)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    // Browsers cannot set headers on a WebSocket: the token rides in the query.
    if (this.opts.token) url.searchParams.set(TOKEN_QUERY, this.opts.token)
    return url.toString()
  }
}

class RemoteRun extends RunBase {
  private socket: WebSocket | undefined
  private queue: (Uint8Array | string)[] = []
  private localPhases: number

  constructor(
    serverId: string,
    createMs: number,
    serverMs: number,
    private readonly image: RunImage,
    private readonly fetchChanges: () => Promise<RunChanges>,
  ) {
    super('remote')
    // The server's id, so a run can be found again through the API.
    ;(this as { id: string }).id = serverId
    // The request's own cost: its round trip minus the server phases it waited for.
    this.timings.push({ name: 'request', ms: Math.round(Math.max(0, createMs - serverMs) * 1000) / 1000 })
    this.localPhases = this.timings.length
  }

  connect(info: RunInfo, url: string, Ctor: WebSocketConstructor): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new Ctor(url)
      ws.binaryType = 'arraybuffer'
      this.socket = ws
      let opened = false
      ws.onopen = () => {
        opened = true
        for (const m of this.queue) ws.send(m)
        this.queue = []
        resolve()
      }
      ws.onmessage = (event: MessageEvent) => {
        if (typeof event.data === 'string') this.control(event.data)
        else {
          const { tag, data } = decodeStdio(new Uint8Array(event.data as ArrayBuffer))
          this.emit(tag === STREAM_STDOUT ? 'stdout' : 'stderr', data)
        }
      }
      ws.onclose = (event: CloseEvent) => {
        const why = event.reason ? `: ${event.reason}` : ''
        if (!opened) reject(new Error(`could not attach to run ${info.id} on the server (closed with ${event.code}${why})`))
        this.finish({ code: 255, reason: 'error', message: `the connection to the boxplay server closed before the run ended (${event.code}${why})` })
      }
      ws.onerror = () => {
        if (!opened) reject(new Error(`could not attach to run ${info.id}: the WebSocket failed (is the server still running?)`))
      }
    })
  }

  private control(text: string): void {
    const m = parseServerMessage(text)
    if (m.type === 'hello') this.adopt(m.run.timings, m.run.facts)
    else if (m.type === 'timings') this.adopt(m.timings, m.facts)
    else if (m.type === 'exit') {
      this.adopt(m.timings, m.facts)
      this.finish(m.status)
    } else if (m.type === 'error') this.emit('stderr', new TextEncoder().encode(`boxplay server: ${m.error}\r\n`))
  }

  /** Server phases follow the client's own (create), so the chart shows the whole path. */
  private adopt(timings: RunInfo['timings'], facts: RunInfo['facts']): void {
    this.timings.splice(this.localPhases, this.timings.length - this.localPhases, ...timings)
    Object.assign(this.facts, facts)
  }

  private send(message: Uint8Array | string): void {
    if (this.socket?.readyState === 1) this.socket.send(message)
    else this.queue.push(message)
  }

  private sendControl(m: ClientMessage): void {
    this.send(JSON.stringify(m))
  }

  write(data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    for (let at = 0; at < bytes.byteLength; at += MAX_MESSAGE_BYTES - 1) {
      this.send(encodeStdio(STREAM_STDIN, bytes.subarray(at, at + MAX_MESSAGE_BYTES - 1)))
    }
  }

  closeStdin(): void {
    this.sendControl({ type: 'close-stdin' })
  }

  resize(cols: number, rows: number): void {
    this.sendControl({ type: 'resize', cols, rows })
  }

  kill(signal?: string): void {
    this.sendControl(signal ? { type: 'kill', signal } : { type: 'kill' })
  }

  /** After exit: the image's tree with what the run changed on the server applied. */
  async files(): Promise<RootFs> {
    await this.exit
    const [tree, changes] = await Promise.all([buildRootFs(this.image), this.fetchChanges()])
    return applyChanges(tree, changes)
  }
}
