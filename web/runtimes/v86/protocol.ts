// The host side of boxplay-init's control protocol over the second UART (ttyS1).
// Frames: one type byte, a little-endian u32 payload length, the payload.
// Keep in step with images/init/protocol.h, which documents every frame.

const HEADER = 5
const MAX_PAYLOAD = 1 << 20

export type GuestFrameType = 'R' | 'C' | 'O' | 'E' | 'F' | 'A' | 'P' | 'X'
export type HostFrameType = 'S' | 'W' | 'K' | 'D' | 'Z' | 'N' | 'L'

export interface GuestFrame {
  type: GuestFrameType
  payload: Uint8Array
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeFrame(type: HostFrameType, payload: Uint8Array | string = new Uint8Array()): Uint8Array {
  const body = typeof payload === 'string' ? encoder.encode(payload) : payload
  if (body.byteLength > MAX_PAYLOAD) throw new Error(`control frame ${type} too large (${body.byteLength} bytes)`)
  const frame = new Uint8Array(HEADER + body.byteLength)
  frame[0] = type.charCodeAt(0)
  new DataView(frame.buffer).setUint32(1, body.byteLength, true)
  frame.set(body, HEADER)
  return frame
}

/** Reassembles frames from the UART's byte stream (v86 delivers one byte per event). */
export class FrameReader {
  private buf = new Uint8Array(4096)
  private len = 0

  constructor(private readonly onFrame: (frame: GuestFrame) => void) {}

  push(byte: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2)
      bigger.set(this.buf)
      this.buf = bigger
    }
    this.buf[this.len++] = byte
    if (this.len < HEADER) return
    const size = new DataView(this.buf.buffer).getUint32(1, true)
    if (size > MAX_PAYLOAD) {
      this.len = 0 // garbage on the line: drop it rather than wait for a megabyte
      return
    }
    if (this.len < HEADER + size) return
    const type = String.fromCharCode(this.buf[0]!) as GuestFrameType
    const payload = this.buf.slice(HEADER, HEADER + size)
    this.len = 0
    this.onFrame({ type, payload })
  }
}

/** NUL-terminated text fields of a frame's payload. */
export function fields(payload: Uint8Array): string[] {
  const text = decoder.decode(payload)
  const parts = text.split('\0')
  if (parts.at(-1) === '') parts.pop()
  return parts
}

export interface GuestSpec {
  argv: string[]
  env: string[]
  cwd: string
  user: string
  hostname: string
  tty?: { cols: number; rows: number }
  stdinOpen: boolean
  clockMs: number
  seedHex: string
  /** argv[0] found along PATH in the image by the host; without it init searches itself. */
  commandPath?: string
  /** The user resolved on the host; without it init reads the image's passwd itself. */
  identity?: { uid: number; gid: number; groups: number[]; home: string }
  /** eth0's settings; without them only lo comes up (and the machine should have no NIC). */
  network?: GuestNetwork
  /** The whole /etc/hosts text, mounted over the image's (networked runs). */
  hosts?: string
}

export interface GuestNetwork {
  address: string
  prefixLength: number
  gateway?: string
  mac: string
}

export function encodeSpec(spec: GuestSpec): Uint8Array {
  const parts: string[] = []
  const put = (key: string, value: string) => {
    if (value.includes('\0')) throw new Error(`the run's ${key === 'a' ? 'argv' : key === 'e' ? 'env' : 'spec'} contains a NUL byte: "${value}"`)
    parts.push(key + value + '\0')
  }
  for (const a of spec.argv) put('a', a)
  for (const e of spec.env) put('e', e)
  put('c', spec.cwd)
  if (spec.commandPath) put('p', spec.commandPath)
  put('u', spec.user)
  put('h', spec.hostname)
  if (spec.tty) put('t', `${spec.tty.cols} ${spec.tty.rows}`)
  put('i', spec.stdinOpen ? '1' : '0')
  put('T', String(spec.clockMs))
  put('r', spec.seedHex)
  if (spec.identity) {
    put('U', `${spec.identity.uid} ${spec.identity.gid} ${spec.identity.groups.join(',')}`)
    put('H', spec.identity.home)
  }
  if (spec.network) {
    const { address, prefixLength, gateway, mac } = spec.network
    put('n', `${address} ${prefixLength} ${gateway ?? '-'} ${mac}`)
  }
  if (spec.hosts !== undefined) put('o', spec.hosts)
  return encodeFrame('S', parts.join(''))
}

/** A 'P' frame's "ADDRESS:PORT …" as listening ports. */
export function parseListening(payload: Uint8Array): { address: string; port: number }[] {
  const text = fields(payload)[0] ?? ''
  return text
    .split(' ')
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf(':')
      return { address: entry.slice(0, at), port: Number(entry.slice(at + 1)) }
    })
    .filter((p) => Number.isInteger(p.port) && p.port > 0)
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGCHLD: 17, SIGCONT: 18,
  SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGWINCH: 28,
}

/** Signal name ("SIGTERM", "TERM", "15") to its i386 Linux number. */
export function signalNumber(signal: string): number {
  if (/^\d+$/.test(signal)) return Number(signal)
  const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`
  const n = SIGNALS[name]
  if (n === undefined) throw new Error(`unknown signal ${signal}: use a name like SIGTERM or a number`)
  return n
}

export function signalName(n: number): string {
  for (const [name, value] of Object.entries(SIGNALS)) if (value === n) return name
  return `SIG${n}`
}

/** A wait(2) status as an exit code the shell way: 128 + signal when killed by one. */
export function decodeWaitStatus(status: number): { code: number; signal?: string } {
  const sig = status & 0x7f
  if (sig === 0) return { code: (status >> 8) & 0xff }
  return { code: 128 + sig, signal: signalName(sig) }
}
