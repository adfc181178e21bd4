// Deep links name and reopen kept containers: `&name=N` and `&container=N` parse and format
// back, beside the image, runtime and cmd they go with.

import { describe, expect, test } from 'vitest'
import { formatDeepLink, parseDeepLink } from '../../web/ui/deep-link.js'

describe('deep links for kept containers', () => {
  test('name and container parse, trimmed', () => {
    expect(parseDeepLink('?image=busybox&runtime=v86&name=%20work%20&cmd=ls')).toEqual({ image: 'busybox', runtime: 'v86', name: 'work', cmd: ['ls'] })
    expect(parseDeepLink('?container=work&cmd=cat%20%2Froot%2Fa')).toEqual({ container: 'work', cmd: ['cat', '/root/a'] })
    expect(parseDeepLink('?container=&name=')).toEqual({})
  })

  test('format round-trips', () => {
    const link = { container: 'work', cmd: ['sh', '-c', 'echo hi'] }
    expect(parseDeepLink(formatDeepLink(link))).toEqual(link)
    expect(formatDeepLink({ image: 'busybox', runtime: 'v86', name: 'w1' })).toBe('?image=busybox&runtime=v86&name=w1')
  })
})
