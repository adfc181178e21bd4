// Asks `boxplay serve` to pull an image into its store, following the NDJSON progress lines
// of POST /api/images/pull; resolves with the name the image is stored under.

import type { PullEvent } from './protocol.js'

export interface PullClientOptions {
  /** The server's base URL; '' for the page's own origin. */
  baseUrl?: string
  token?: string
  platform?: string
  onProgress?: (event: Extract<PullEvent, { type: 'progress' }>) => void
}

export async function pullImage(ref: string, opts: PullClientOptions = {}): Promise<string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  const res = await fetch(`${opts.baseUrl ?? ''}/api/images/pull`, {
    method: 'POST',
    credentials: 'same-origin',
    headers,
    body: JSON.stringify(opts.platform ? { ref, platform: opts.platform } : { ref }),
  })
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: string }
    throw new Error(body.error ?? `the server answered ${res.status} to the pull`)
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let rest = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    rest += value
    const lines = rest.split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) {
      if (!line.trim()) continue
      const event = JSON.parse(line) as PullEvent
      if (event.type === 'progress') opts.onProgress?.(event)
      else if (event.type === 'error') throw new Error(`pulling ${ref} failed: ${event.error}`)
      else return event.image
    }
  }
  throw new Error(`pulling ${ref} ended without an answer from the server`)
}
