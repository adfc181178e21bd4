// Where the playground is running: served by `boxplay serve` (the native runtime and the
// server's store are there), or as a static site (browser runtimes and bundled images only).

export type PageMode = 'served' | 'static'

export interface PageEnv {
  mode: PageMode
  /** Served, and the token cookie is in place. */
  authorized: boolean
  /** Why the server cannot be used, in words, when it cannot. */
  serverProblem?: string
  version?: string
}

export async function detectEnv(base = ''): Promise<PageEnv> {
  let res: Response
  try {
    res = await fetch(`${base}/api/session`, { credentials: 'same-origin', cache: 'no-store' })
  } catch {
    return { mode: 'static', authorized: false, serverProblem: 'no boxplay server behind this page' }
  }
  if (res.status === 401 || res.status === 403) {
    return {
      mode: 'served',
      authorized: false,
      serverProblem: 'this page was opened without the access token: open the URL `boxplay serve` printed (it ends in ?token=…)',
    }
  }
  const type = res.headers.get('content-type') ?? ''
  if (!res.ok || !type.startsWith('application/json')) {
    return { mode: 'static', authorized: false, serverProblem: 'this is the static playground: run `npx boxplay serve` for native containers' }
  }
  const body = (await res.json()) as { version?: string }
  return body.version ? { mode: 'served', authorized: true, version: body.version } : { mode: 'served', authorized: true }
}
