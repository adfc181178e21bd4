// Test page: two v86 guests in one page on one in-page LAN (web/net/), no server involved.
// "web" runs busybox httpd; "client" fetches http://web/ by name with wget. The page also
// reaches web's port itself, through the LAN's host stack. Results go on window.

import { resolveImage } from '../../../web/oci/image.js'
import { parsePlatform } from '../../../web/oci/platform.js'
import { Lan } from '../../../web/net/lan.js'
import { collectOutput } from '../../../web/runtimes/run-base.js'
import { LayoutSource } from '../../../web/runtimes/remote/sources.js'
import { browserV86Runtime } from '../../../web/runtimes/v86/browser-assets.js'

interface LanResult {
  clientStdout: string
  clientStderr: string
  clientCode: number
  fromPage: string
  webIp: string
  clientIp: string
}

declare global {
  interface Window {
    boxplayLan?: LanResult
    boxplayError?: string
  }
}

async function main(): Promise<void> {
  const source = new LayoutSource(new URL('/images', location.href).href)
  const image = await resolveImage(source, 'busybox', parsePlatform('linux/386'))
  const runtime = browserV86Runtime({ guestUrl: '/guest/', database: false })
  const lan = new Lan({ name: 'page' })
  const web = await runtime.start(
    { image, cmd: ['sh', '-c', "mkdir -p /www && echo 'hello from the web guest' > /www/index.html && httpd -p 80 -h /www && echo READY && sleep 600"] },
    { lan, name: 'web' },
  )
  await new Promise<void>((resolve) => {
    let seen = ''
    web.onOutput((c) => {
      seen += new TextDecoder().decode(c.data)
      if (seen.includes('READY')) resolve()
    })
  })
  const client = await runtime.start({ image, cmd: ['sh', '-c', 'wget -qO- http://web/ && ip -o -4 addr show eth0'] }, { lan, name: 'client' })
  const out = await collectOutput(client)

  // The page itself: one HTTP/1.0 request through the host stack into web's port 80.
  const conn = lan.host().connect(web.link!.member.address, 80)
  let response = ''
  const ended = new Promise<void>((resolve) => conn.onClose(() => resolve()))
  conn.onData((d) => (response += new TextDecoder().decode(d)))
  conn.onEnd(() => conn.end())
  await conn.established
  conn.write(new TextEncoder().encode('GET / HTTP/1.0\r\nHost: web\r\n\r\n'))
  await ended
  web.kill('SIGKILL')
  await web.exit

  document.getElementById('out')!.textContent = out.stdout
  window.boxplayLan = {
    clientStdout: out.stdout,
    clientStderr: out.stderr,
    clientCode: out.status.code,
    fromPage: response,
    webIp: String(web.facts.ip),
    clientIp: String(client.facts.ip),
  }
}

main().catch((err: unknown) => {
  window.boxplayError = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err)
})
