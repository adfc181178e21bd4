// Shareable deep links: `/?image=busybox&runtime=v86&cmd=uname%20-a` opens that image in that
// runtime and runs that command; `compare=v86,wasi,native` opens the compare view instead.
// `cmd` replaces the image's Cmd, like arguments after the image in `docker run`.
// `name=N` keeps the run the link starts as container N (in the browser's store);
// `container=N` reopens kept container N (its image and runtime) and runs `cmd` in it, if given.
// `build=STARTER` opens the Build tab on that starter Dockerfile (build-starters.ts) instead.

export type RuntimeId = 'v86' | 'wasi' | 'native'
export const RUNTIME_IDS: readonly RuntimeId[] = ['v86', 'wasi', 'native']

export interface DeepLink {
  image?: string
  runtime?: RuntimeId
  cmd?: string[]
  compare?: RuntimeId[]
  /** The name of the container the link starts (`docker run --name`). */
  name?: string
  /** A kept container to reopen. */
  container?: string
  /** A starter id: open the Build tab on it. */
  build?: string
}

function runtimeId(text: string | null): RuntimeId | undefined {
  return RUNTIME_IDS.find((r) => r === text)
}

export function parseDeepLink(search: string): DeepLink {
  const q = new URLSearchParams(search)
  const link: DeepLink = {}
  const image = q.get('image')?.trim()
  if (image) link.image = image
  const runtime = runtimeId(q.get('runtime'))
  if (runtime) link.runtime = runtime
  const cmd = q.get('cmd')
  if (cmd !== null && cmd.trim() !== '') link.cmd = splitCommand(cmd)
  const name = q.get('name')?.trim()
  if (name) link.name = name
  const container = q.get('container')?.trim()
  if (container) link.container = container
  const compare = q.get('compare')
  if (compare !== null) {
    const ids = compare.split(',').map((s) => runtimeId(s.trim())).filter((r): r is RuntimeId => r !== undefined)
    link.compare = ids.length ? [...new Set(ids)] : [...RUNTIME_IDS]
  }
  const build = q.get('build')?.trim()
  if (build !== undefined && /^[a-z0-9-]{1,40}$/.test(build)) link.build = build
  return link
}

export function formatDeepLink(link: DeepLink): string {
  const q = new URLSearchParams()
  if (link.image) q.set('image', link.image)
  if (link.runtime) q.set('runtime', link.runtime)
  if (link.cmd?.length) q.set('cmd', joinCommand(link.cmd))
  if (link.compare) q.set('compare', link.compare.join(','))
  if (link.name) q.set('name', link.name)
  if (link.container) q.set('container', link.container)
  if (link.build) q.set('build', link.build)
  const s = q.toString().replace(/\+/g, '%20')
  return s ? `?${s}` : ''
}

/** Splits a command line into words the way a POSIX shell would quote them (no expansion). */
export function splitCommand(text: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i]
      else word += c
    } else if (c === "'" || c === '"') {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (quote) throw new Error(`the command has an unclosed ${quote} quote`)
  if (inWord) words.push(word)
  return words
}

/** The inverse of splitCommand: quotes only the words that need it. */
export function joinCommand(argv: readonly string[]): string {
  return argv.map((w) => (w !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ')
}
