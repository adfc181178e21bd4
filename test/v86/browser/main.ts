// Test page: resolves an image from the OCI layout served at /images/, runs it in the v86
// runtime with the guest assets served at /guest/, and publishes the result on window.

import { type ContentSource, resolveImage } from '../../../web/oci/image.js'
import { collectOutput } from '../../../web/runtimes/run-base.js'
import { browserV86Runtime } from '../../../web/runtimes/v86/browser-assets.js'

interface Result {
  stdout: string
  stderr: string
  code: number
  reason: string
  boot: string
  kernel: string
  timings: { name: string; ms: number }[]
  firstOutputMs: number
}

declare global {
  interface Window {
    boxplayResult?: Result
    boxplayError?: string
  }
}

function layoutOverHttp(base: string): ContentSource {
  const blob = async (digest: string): Promise<Uint8Array> => {
    const hex = digest.replace(/^sha256:/, '')
    const res = await fetch(`${base}blobs/sha256/${hex}`)
    if (!res.ok) throw new Error(`blob ${digest}: HTTP ${res.status}`)
    const bytes = new Uint8Array(await res.arrayBuffer())
    const actual = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('')
    if (actual !== hex) throw new Error(`blob ${digest} is corrupt`)
    return bytes
  }
  return {
    async manifest(ref) {
      if (ref.startsWith('sha256:')) {
        const bytes = await blob(ref)
        return { mediaType: (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType: string }).mediaType, bytes, digest: ref }
      }
      const index = (await (await fetch(`${base}index.json`)).json()) as {
        manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[]
      }
      const want = ref.includes(':') ? ref : `${ref}:latest`
      const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === want)
      if (!d) throw new Error(`${ref} is not served at ${base}`)
      return { mediaType: d.mediaType, bytes: await blob(d.digest), digest: d.digest }
    },
    blob,
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search)
  const image = await resolveImage(layoutOverHttp('/images/'), params.get('image') ?? 'busybox', { os: 'linux', architecture: '386' })
  // The wasm comes from the bundler's asset handling (the runtime's default), the guest from /guest/.
  const runtime = browserV86Runtime({ guestUrl: '/guest/' })
  const cmd = JSON.parse(params.get('cmd') ?? '["uname","-a"]') as string[]
  const run = await runtime.start({ image, cmd, options: { cold: params.has('cold') } })
  let firstOutputMs = -1
  run.onOutput(() => {
    if (firstOutputMs < 0) firstOutputMs = performance.now() // from navigation start
  })
  const out = await collectOutput(run)
  document.getElementById('out')!.textContent = out.stdout
  window.boxplayResult = {
    stdout: out.stdout,
    stderr: out.stderr,
    code: out.status.code,
    reason: out.status.reason,
    boot: String(run.facts.boot),
    kernel: String(run.facts.kernel),
    timings: [...run.timings],
    firstOutputMs,
  }
}

main().catch((err: unknown) => {
  window.boxplayError = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err)
})
