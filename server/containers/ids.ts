// Container ids and names, with Docker's rules: an id is 64 hex digits (shown as 12), a name
// matches [a-zA-Z0-9][a-zA-Z0-9_.-]+ and is unique, and a container given no name gets a
// random `adjective_surname` one. No I/O here: the store (store.ts) checks uniqueness.

import { randomBytes, randomInt } from 'node:crypto'

export const SHORT_ID = 12

export function newId(): string {
  return randomBytes(32).toString('hex')
}

export const shortId = (id: string): string => id.slice(0, SHORT_ID)

export const isFullId = (text: string): boolean => /^[0-9a-f]{64}$/.test(text)

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/

/** A name as `--name` gives it (Docker accepts and drops one leading slash). */
export function validName(text: string): string {
  const name = text.startsWith('/') ? text.slice(1) : text
  if (!NAME.test(name)) throw new ContainerError('invalid', `Invalid container name (${text}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`)
  return name
}

// A short list in Docker's spirit (its namesgenerator has more of both).
const ADJECTIVES = [
  'admiring', 'adoring', 'agitated', 'amazing', 'angry', 'awesome', 'blissful', 'bold', 'boring', 'brave',
  'busy', 'charming', 'clever', 'compassionate', 'competent', 'confident', 'cool', 'dazzling', 'determined',
  'dreamy', 'eager', 'ecstatic', 'elastic', 'elegant', 'epic', 'exciting', 'fervent', 'festive', 'focused',
  'friendly', 'frosty', 'funny', 'gallant', 'gifted', 'goofy', 'gracious', 'happy', 'hopeful', 'hungry',
  'inspiring', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest',
  'nervous', 'nice', 'nifty', 'nostalgic', 'optimistic', 'peaceful', 'pensive', 'practical', 'priceless',
  'quirky', 'quizzical', 'relaxed', 'reverent', 'romantic', 'serene', 'sharp', 'silly', 'sleepy', 'stoic',
  'strange', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'upbeat', 'vibrant', 'vigilant',
  'wizardly', 'wonderful', 'youthful', 'zealous', 'zen',
]
const SURNAMES = [
  'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bartik', 'bell', 'blackwell', 'bohr',
  'borg', 'bose', 'brahmagupta', 'brown', 'carson', 'cerf', 'chandrasekhar', 'clarke', 'curie', 'darwin',
  'dijkstra', 'easley', 'einstein', 'elion', 'euclid', 'euler', 'fermat', 'fermi', 'feynman', 'franklin',
  'galileo', 'gauss', 'goldberg', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hopper', 'hypatia',
  'jackson', 'jang', 'johnson', 'kalam', 'kepler', 'knuth', 'kowalevski', 'lamarr', 'lamport', 'leakey',
  'lovelace', 'lumiere', 'margulis', 'mayer', 'mcclintock', 'meitner', 'mendel', 'mirzakhani', 'morse',
  'napier', 'newton', 'noether', 'pare', 'pasteur', 'perlman', 'pike', 'poincare', 'ptolemy', 'ramanujan',
  'ride', 'ritchie', 'rosalind', 'sammet', 'shannon', 'shaw', 'sinoussi', 'stonebraker', 'swartz', 'tesla',
  'thompson', 'torvalds', 'turing', 'varahamihira', 'villani', 'wescoff', 'wiles', 'williams', 'wozniak',
  'wright', 'yalow', 'yonath',
]

export function randomName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`
}

export type ContainerErrorCode = 'not-found' | 'conflict' | 'invalid' | 'running' | 'not-running' | 'unsupported'

/** A failure with Docker's wording and a code the CLI and the HTTP API switch on. */
export class ContainerError extends Error {
  constructor(
    readonly code: ContainerErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ContainerError'
  }
}

export const noSuchContainer = (query: string): ContainerError => new ContainerError('not-found', `No such container: ${query}`)
