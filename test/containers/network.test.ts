// Detached containers on a user network (server/net/ + server/containers/): a service started
// with `run -d --name` is reached by that name from another container and through its
// published port, `ps` shows the port as Docker does, and rm takes the network's entry away.

import { afterAll, describe, expect, it } from 'vitest'
import { Sandbox, until } from './helpers.js'

const box = new Sandbox()
const net = `bxn${process.pid % 100000}`
afterAll(() => {
  box.cleanup()
  box.run(['network', 'rm', net])
})

const SERVE = 'mkdir /www && echo served-by-name > /www/index.html && exec httpd -f -p 80 -h /www'

describe.runIf(process.getuid?.() === 0)('containers on a network', () => {
  it('answer to their --name on the network and on a published port; ps shows the port', async () => {
    expect(box.run(['network', 'create', net]).code).toBe(0)
    const started = box.run(['run', '-d', '--name', 'web', '--network', net, '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', SERVE])
    expect(started.code, started.stderr).toBe(0)

    let ports = ''
    await until(() => {
      const line = box.run(['ps']).stdout.split('\n').find((l) => l.endsWith(' web')) ?? ''
      ports = /127\.0\.0\.1:(\d+)->80\/tcp/.exec(line)?.[0] ?? ''
      return ports !== ''
    }, 'ps to show the published port')
    const hostPort = Number(/:(\d+)->/.exec(ports)![1])

    let fetched = ''
    await until(() => {
      fetched = box.run(['run', '--rm', '--network', net, 'busybox', 'wget', '-qO-', 'http://web/']).stdout
      return fetched !== ''
    }, 'a second container to fetch http://web/')
    expect(fetched).toBe('served-by-name\n')
    const res = await fetch(`http://127.0.0.1:${hostPort}/`)
    expect(await res.text()).toBe('served-by-name\n')

    expect(box.run(['rm', '-f', 'web']).code).toBe(0)
    // The name leaves the network's hosts file (busybox-static's wget may crash on an unknown
    // name rather than say so, so the file is what is checked).
    const hosts = box.run(['run', '--rm', '--network', net, 'busybox', 'cat', '/etc/hosts'])
    expect(hosts.code).toBe(0)
    expect(hosts.stdout).toContain(`boxplay network ${net}`)
    expect(hosts.stdout).not.toMatch(/\sweb(\s|$)/m)
    await expect(fetch(`http://127.0.0.1:${hostPort}/`)).rejects.toThrow()
  }, 180_000)
})
