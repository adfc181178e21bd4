// `POST /api/builds`: a build context as an uncompressed tar body (Content-Type
// application/x-tar), `docker build`'s options in the query (build-request.ts). The Dockerfile
// is parsed before anything runs, so a bad one is a 400 naming its line; then the build is
// registered as a run (build-run.ts) and the answer is its RunInfo (201), whose log the client
// follows on the run's attach socket (WS /api/runs/ID/attach), as for any run. The image
// lands in the server's store; the exit's facts hold its digest and names.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { tarToContext } from '../../web/build/context-tar.js'
import { applyDockerignore } from '../../web/build/context.js'
import { DockerfileError, parseDockerfile } from '../../web/build/dockerfile.js'
import { formatPlatform } from '../../web/oci/platform.js'
import type { ApiContext } from './api.js'
import { sendJson } from './api.js'
import { parseBuildRequest } from './build-request.js'
import { BuildRun } from './build-run.js'
import { HttpError, badRequest, messageOf } from './errors.js'

async function readTarBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? 0)
  const tooLarge = new HttpError(413, `the build context is larger than the server's limit of ${limit} bytes: leave out what the build does not need (.dockerignore)`)
  if (declared > limit) throw tooLarge
  const parts: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > limit) {
      req.destroy()
      throw tooLarge
    }
    parts.push(chunk)
  }
  if (size === 0) throw badRequest('the build context is empty: send a tar holding at least the Dockerfile')
  return new Uint8Array(Buffer.concat(parts))
}

export async function createBuild(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  const request = parseBuildRequest(url.searchParams)
  if (!/^application\/(x-)?tar\b/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'send the build context as a tar with Content-Type: application/x-tar')
  }
  const runtime = ctx.runtimes.find((r) => r.kind === request.runtime)
  if (!runtime || (runtime.kind !== 'native' && runtime.kind !== 'v86')) {
    const offered = ctx.runtimes.filter((r) => r.kind === 'native' || r.kind === 'v86').map((r) => r.kind)
    throw badRequest(`this server cannot run build steps in "${request.runtime}": it offers ${offered.join(', ') || 'none'}`)
  }
  const build = ctx.images.build?.bind(ctx.images)
  if (!build) throw new HttpError(501, 'this server cannot build images: use `boxplay build` on its machine')
  const body = await readTarBody(req, ctx.maxContextBytes)
  let context
  try {
    context = tarToContext(body)
  } catch (e) {
    throw badRequest(`the build context is not a readable tar: ${messageOf(e)}`)
  }
  const entry = context.entries.find((e) => e.path === request.dockerfile)
  if (!entry || entry.kind !== 'file' || !(entry.data instanceof Uint8Array)) {
    throw badRequest(`the build context has no file ${request.dockerfile}: put the Dockerfile in the tar, or name it with ?dockerfile=PATH`)
  }
  // .dockerignore as `boxplay build` applies it to a directory; the Dockerfile was read before, as Docker reads it.
  const ignore = context.entries.find((e) => e.path === '.dockerignore')
  if (ignore?.kind === 'file' && ignore.data instanceof Uint8Array) context = { entries: applyDockerignore(context.entries, new TextDecoder().decode(ignore.data)) }
  let dockerfile
  try {
    dockerfile = parseDockerfile(new TextDecoder().decode(entry.data), request.dockerfile)
  } catch (e) {
    if (e instanceof DockerfileError) throw badRequest(e.message)
    throw e
  }
  const availability = await runtime.available()
  if (!availability.ok) throw new HttpError(503, `the ${runtime.kind} runtime is not available: ${availability.reason}`)
  const served = ctx.runs.adopt(
    () =>
      new BuildRun(runtime.kind, (hooks) =>
        build({
          dockerfile,
          context,
          tags: request.tags,
          buildArgs: request.buildArgs,
          ...(request.target !== undefined ? { target: request.target } : {}),
          ...(request.platform ? { platform: request.platform } : {}),
          noCache: request.noCache,
          runtime,
          onEvent: hooks.onEvent,
          onRun: hooks.onRun,
        }),
      ),
    { runtime: 'build', image: request.tags.join(' ') || '(untagged)', platform: request.platform ? formatPlatform(request.platform) : 'from the base image' },
  )
  res.setHeader('Location', `/api/runs/${encodeURIComponent(served.id)}`)
  sendJson(res, 201, served.info())
}
