// What `POST /api/builds` takes besides its tar body: `docker build`'s options as query
// parameters, checked here so a bad one is a 400 in words before anything runs.
//   t=NAME:TAG (repeatable)   dockerfile=PATH (in the context, default Dockerfile)
//   build-arg=K=V (repeatable)   target=STAGE   platform=os/arch   runtime=native|v86   no-cache=1

import { parsePlatform, type Platform } from '../../web/oci/platform.js'
import { badRequest } from './errors.js'

export interface BuildRequest {
  tags: string[]
  dockerfile: string
  buildArgs: Map<string, string>
  target?: string
  platform?: Platform
  runtime: string
  noCache: boolean
}

const KNOWN = new Set(['t', 'dockerfile', 'build-arg', 'target', 'platform', 'runtime', 'no-cache'])
const TAG = /^[a-z0-9][a-z0-9._\-/:]{0,254}$/

export function parseBuildRequest(query: URLSearchParams): BuildRequest {
  for (const key of query.keys()) {
    if (!KNOWN.has(key)) throw badRequest(`unknown build option "${key}": use t, dockerfile, build-arg, target, platform, runtime or no-cache`)
  }
  const tags = query.getAll('t')
  for (const t of tags) if (!TAG.test(t)) throw badRequest(`"${t}" is not an image name: use NAME or NAME:TAG in lower case`)
  const dockerfile = query.get('dockerfile') ?? 'Dockerfile'
  if (dockerfile === '' || dockerfile.startsWith('/') || dockerfile.split('/').includes('..')) {
    throw badRequest(`dockerfile "${dockerfile}" must be a path inside the context, such as Dockerfile or docker/app.Dockerfile`)
  }
  const buildArgs = new Map<string, string>()
  for (const a of query.getAll('build-arg')) {
    const eq = a.indexOf('=')
    if (eq <= 0) throw badRequest(`build-arg "${a}" must be NAME=VALUE`)
    buildArgs.set(a.slice(0, eq), a.slice(eq + 1))
  }
  const request: BuildRequest = { tags, dockerfile: dockerfile.replace(/^\.\//, ''), buildArgs, runtime: query.get('runtime') ?? 'native', noCache: ['1', 'true', ''].includes(query.get('no-cache') ?? 'no') }
  const target = query.get('target')
  if (target !== null) request.target = target
  const platform = query.get('platform')
  if (platform !== null) {
    try {
      request.platform = parsePlatform(platform)
    } catch {
      throw badRequest(`platform "${platform}" is not os/arch[/variant], e.g. linux/386`)
    }
  }
  return request
}
