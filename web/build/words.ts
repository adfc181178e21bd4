// Docker's word processing for the instructions it substitutes variables in (FROM, COPY,
// ADD, ENV, ARG, LABEL, WORKDIR, USER, EXPOSE, STOPSIGNAL): quotes, the escape character,
// $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternate} (and the forms without a colon), as
// BuildKit's shell lexer does. RUN, CMD and ENTRYPOINT are left to the shell.

export class SubstitutionError extends Error {}

/** Splits `text` into words with quotes removed and variables substituted from `vars`. */
export function processWords(text: string, vars: ReadonlyMap<string, string>, escape = '\\'): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  /** A quote makes a word even when it ends up empty (`""`); an empty expansion alone does not. */
  let quoted = false
  let i = 0
  const peek = () => text[i]
  const readVar = (): string => {
    // After '$'.
    if (text[i] === '{') {
      i++
      let name = ''
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) name += text[i++]
      if (name === '') throw new SubstitutionError(`bad substitution near "\${" in ${JSON.stringify(text)}`)
      if (text[i] === '}') {
        i++
        return vars.get(name) ?? ''
      }
      let colon = false
      if (text[i] === ':') {
        colon = true
        i++
      }
      const op = text[i++]
      if (op !== '-' && op !== '+') throw new SubstitutionError(`unsupported modifier "${op ?? ''}" in \${${name}…} of ${JSON.stringify(text)}: use :- or :+`)
      let depth = 1
      let inner = ''
      while (i < text.length) {
        const c = text[i++]!
        if (c === '{') depth++
        if (c === '}' && --depth === 0) break
        inner += c
      }
      if (depth !== 0) throw new SubstitutionError(`missing "}" in ${JSON.stringify(text)}`)
      const value = vars.get(name)
      const set = colon ? value !== undefined && value !== '' : value !== undefined
      const word = processWords(inner, vars, escape).join(' ')
      return op === '-' ? (set ? value! : word) : set ? word : ''
    }
    let name = ''
    while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) name += text[i++]
    if (name === '') return '$'
    return vars.get(name) ?? ''
  }
  while (i < text.length) {
    const c = peek()!
    if (/\s/.test(c)) {
      if (inWord && (word !== '' || quoted)) words.push(word)
      word = ''
      inWord = false
      quoted = false
      i++
      continue
    }
    inWord = true
    if (c === escape) {
      i++
      if (i < text.length) word += text[i++]
      continue
    }
    if (c === "'") {
      quoted = true
      i++
      const end = text.indexOf("'", i)
      if (end < 0) throw new SubstitutionError(`unmatched ' in ${JSON.stringify(text)}`)
      word += text.slice(i, end)
      i = end + 1
      continue
    }
    if (c === '"') {
      quoted = true
      i++
      while (i < text.length && text[i] !== '"') {
        if (text[i] === escape && i + 1 < text.length && ['"', '$', escape].includes(text[i + 1]!)) {
          word += text[i + 1]
          i += 2
        } else if (text[i] === '$') {
          i++
          word += readVar()
        } else word += text[i++]
      }
      if (text[i] !== '"') throw new SubstitutionError(`unmatched " in ${JSON.stringify(text)}`)
      i++
      continue
    }
    if (c === '$') {
      i++
      word += readVar()
      continue
    }
    word += c
    i++
  }
  if (inWord && (word !== '' || quoted)) words.push(word)
  return words
}

/** `K=V` words (or the legacy `K V…` form) as pairs, substituted. */
export function keyValues(text: string, vars: ReadonlyMap<string, string>, escape: string, legacy: boolean): [string, string][] {
  const words = processWords(text, vars, escape)
  if (words.length === 0) return []
  if (legacy && !words[0]!.includes('=')) {
    // `ENV NAME value with spaces`: the rest of the line is the value.
    return [[words[0]!, words.slice(1).join(' ')]]
  }
  return words.map((w) => {
    const eq = w.indexOf('=')
    if (eq <= 0) throw new SubstitutionError(`"${w}" is not NAME=VALUE`)
    return [w.slice(0, eq), w.slice(eq + 1)]
  })
}
