// The page's stand-in for Node's `path`, which @balena/dockerignore (the builder's
// .dockerignore matcher) requires for `sep`, `normalize` and `dirname` only. The web build
// (server/http/web-build.ts) points `path` here; POSIX rules, as Node's path.posix applies them.

export const sep = '/'

export function normalize(path: string): string {
  if (path === '') return '.'
  const absolute = path.startsWith('/')
  const trailing = path.endsWith('/')
  const out: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!absolute) out.push('..')
    } else out.push(part)
  }
  const joined = out.join('/')
  if (absolute) return `/${joined}${trailing && joined ? '/' : ''}`
  if (joined === '') return trailing ? './' : '.'
  return trailing ? `${joined}/` : joined
}

export function dirname(path: string): string {
  if (path === '') return '.'
  const trimmed = path.replace(/\/+$/, '')
  if (trimmed === '') return '/'
  const at = trimmed.lastIndexOf('/')
  if (at < 0) return '.'
  if (at === 0) return '/'
  return trimmed.slice(0, at)
}

export default { sep, normalize, dirname }
