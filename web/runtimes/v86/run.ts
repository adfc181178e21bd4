// One command in one emulated PC. The machine boots (or resumes from a saved state) to
// boxplay-init waiting on ttyS1 with its 9p mount attached but empty; the image is loaded
// into v86's 9p filesystem; the spec goes over ttyS1; init switches into the image and runs
// the command; its exit comes back as an 'X' frame, after its output. The protocol is in
// images/init/protocol.h.

import type { ChangeSet } from '../../oci/changes.js'
import type { RootFs } from '../../oci/rootfs.js'
import { changesOverImage } from '../writable-layer.js'
import { RunBase } from '../run-base.js'
import type { ExitStatus, ListeningPort, RunSpec } from '../runtime.js'
import type { V86Assets } from './assets.js'
import { findCommand } from './command-path.js'
import { type ContentMemo, readThrough } from './file-prefetch.js'
import { type RootFsStorage, type V86Fs, loadImage, readBack } from './filesystem.js'
import { type Emulator, StateError, enableJit, machineStateKey, startMachine } from './machine.js'
import { GuestLink, type V86RunNetwork } from './network.js'
import { type GuestFrame, FrameReader, decodeWaitStatus, encodeFrame, encodeSpec, fields, parseListening, signalNumber } from './protocol.js'
import { TerminalQueryFilter } from './tty-filter.js'
import { type Identity, UserError, resolveIdentity } from './user.js'

/** Booting and starting the command must not take longer than this, whatever the run's timeout. */
const START_DEADLINE_MS = 60_000
/** After a SIGKILL the guest has this long to report the exit before the machine is torn down. */
const KILL_GRACE_MS = 3_000
/**
 * How long a command runs interpreted before v86's JIT is switched on (see enableJit). A
 * program's start (the dynamic loader, libc and interpreter init) runs lots of code once,
 * and compiling it costs more than interpreting it: `python3 -c 'print(42)'` in Debian from
 * the CLI took ~2.9 s with the JIT on after 300 ms, ~1.9 s after 1 s, ~1.6 s never. A hot
 * loop pays the wait: a 16 MiB sha256 with busybox ~2.9 s → ~3.2 s. 1 s is the middle.
 */
const JIT_AFTER_COMMAND_MS = 1_000
const STDIN_CHUNK = 8 * 1024
/**
 * Unacknowledged stdin bytes (and frames) allowed in flight. The guest's tty drops input it
 * cannot buffer (~64 KiB of flip buffers) and the UART has no flow control, so init acks
 * what it has passed on ('A') and the rest waits here.
 */
const STDIN_WINDOW_BYTES = 32 * 1024
const STDIN_WINDOW_FRAMES = 256

export interface V86RunOptions {
  assets: V86Assets
  rootFs: RootFs
  /** The image's own tree, which a run's change set is measured against (rootFs may hold a container's kept files on top). */
  imageFs?: RootFs
  spec: RunSpec
  process: { argv: string[]; env: string[]; cwd: string; user: string }
  memoryBytes: number
  /** Boot from scratch even if a saved state exists (and don't save one). */
  cold: boolean
  /**
   * Switch v86's JIT on once the command has run a while (default). Off (`options.jit: false`)
   * suits servers that fork per connection: busybox httpd answered ~40 requests/s with the JIT
   * off and ~7 with it on (web/net/README.md), as each forked child's code is compiled anew.
   */
  jit?: boolean
  /** Where lazily-loaded file contents are kept across opens and runs. */
  memo?: ContentMemo
  /** A LAN to join: the machine gets a NIC and eth0 an address on it. */
  network?: V86RunNetwork
  log?: (message: string) => void
}

export class V86Run extends RunBase {
  private emulator: Emulator | undefined
  private fs: V86Fs | undefined
  private storage: RootFsStorage | undefined
  private readonly tty: boolean
  private specSent = false
  private commandStarted = false
  private hostKilled = false
  private stopping = false
  private readonly queuedControl: Uint8Array[] = []
  /** Pipe-mode stdin frames ('D', then 'Z') waiting for window; `cost` counts toward it. */
  private readonly stdinQueue: { frame: Uint8Array; cost: number }[] = []
  /** Unacknowledged bytes of each stdin frame sent, oldest first. */
  private readonly stdinInFlight: number[] = []
  private stdinBytesInFlight = 0
  private readonly queuedTty: Uint8Array[] = []
  private readonly initErrors: string[] = []
  private consoleTail = ''
  private ttyOut: number[] = []
  private flushScheduled = false
  private readonly filter = new TerminalQueryFilter()
  private readonly timers: ReturnType<typeof setTimeout>[] = []
  private onReady: ((frame: string[]) => void) | undefined
  /** Callers waiting for init's next 'P' frame. */
  private listeningWaiters: ((ports: ListeningPort[]) => void)[] = []
  /** The run's place on its LAN, if it joined one (its address is known from the start). */
  readonly link: GuestLink | undefined

  constructor(private readonly o: V86RunOptions) {
    super('v86')
    this.tty = o.spec.tty !== undefined
    this.link = o.network ? new GuestLink(o.network) : undefined
    this.facts.memory = `${Math.round(o.memoryBytes / 2 ** 20)} MiB`
    this.facts.hostname = o.spec.hostname ?? o.network?.name ?? 'boxplay'
    if (this.link) {
      this.facts.network = o.network!.lan.name
      this.facts.ip = this.link.member.address
      this.facts.mac = this.link.member.mac
    }
    this.facts.machine = 'i686 PC emulated by v86'
    this.facts.pid1 = 'boxplay-init'
  }

  /** Runs the whole life of the machine; every failure ends the run with a reason. */
  async boot(): Promise<void> {
    try {
      this.timers.push(setTimeout(() => this.commandStarted || this.teardown('error', 'the VM did not start the command within 60 s'), START_DEADLINE_MS))
      const timeout = this.o.spec.limits?.timeoutMs
      if (timeout !== undefined) {
        this.timers.push(setTimeout(() => this.teardown('timeout', `timed out after ${timeout} ms`), timeout))
      }
      await this.bootMachine()
    } catch (err) {
      this.teardown('error', `v86: ${err instanceof Error ? err.message : String(err)}${this.consoleHint()}`)
    }
  }

  /** What the guest's filesystem holds now (after exit: what the command left behind). */
  async files(): Promise<RootFs> {
    if (!this.fs || !this.storage) throw new Error('this v86 run has no filesystem yet: wait until it has started')
    return readBack(this.fs, this.storage)
  }

  /** What the guest changed over the image (a container's kept files included), in canonical form. */
  async changeSet(): Promise<ChangeSet> {
    return changesOverImage(this.o.imageFs ?? this.o.rootFs, await this.files())
  }

  /** Image paths of the lazily-loaded files the guest has read (see file-prefetch.ts). */
  readPaths(): string[] {
    return this.storage?.readPaths() ?? []
  }

  write(data: Uint8Array | string): void {
    if (this.done) return
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    if (this.tty) return this.sendTty(bytes)
    if (!this.o.spec.stdin) return // stdin is /dev/null in the guest
    for (let at = 0; at < bytes.byteLength; at += STDIN_CHUNK) {
      const chunk = bytes.subarray(at, at + STDIN_CHUNK)
      this.stdinQueue.push({ frame: encodeFrame('D', chunk), cost: chunk.byteLength })
    }
    this.pumpStdin()
  }

  closeStdin(): void {
    if (this.done) return
    if (this.tty) this.sendTty(new Uint8Array([4])) // ^D: EOF for a reader in canonical mode
    else {
      this.stdinQueue.push({ frame: encodeFrame('Z'), cost: 0 })
      this.pumpStdin()
    }
  }

  /** Sends queued stdin frames while the window allows. */
  private pumpStdin(): void {
    while (this.stdinQueue.length > 0) {
      const next = this.stdinQueue[0]!
      const full = this.stdinBytesInFlight + next.cost > STDIN_WINDOW_BYTES || this.stdinInFlight.length >= STDIN_WINDOW_FRAMES
      if (next.cost > 0 && full && this.stdinInFlight.length > 0) return
      this.stdinQueue.shift()
      if (next.cost > 0) {
        this.stdinBytesInFlight += next.cost
        this.stdinInFlight.push(next.cost)
      }
      this.sendControl(next.frame)
    }
  }

  /** init passed `bytes` on: retire frames oldest first, then send more. */
  private onStdinAck(bytes: number): void {
    let left = Math.min(bytes, this.stdinBytesInFlight)
    this.stdinBytesInFlight -= left
    while (left > 0 && this.stdinInFlight.length > 0) {
      const head = this.stdinInFlight[0]!
      if (head <= left) {
        left -= head
        this.stdinInFlight.shift()
      } else {
        this.stdinInFlight[0] = head - left
        left = 0
      }
    }
    this.pumpStdin()
  }

  /**
   * The TCP ports the guest listens on now, from its /proc/net/tcp (init's 'L' → 'P'); also
   * kept as the `listening` fact. Empty before the command started and after the run ended.
   */
  listening(): Promise<ListeningPort[]> {
    if (this.done || !this.commandStarted) return Promise.resolve([])
    return new Promise((resolve) => {
      this.listeningWaiters.push(resolve)
      if (this.listeningWaiters.length === 1) this.sendControl(encodeFrame('L'))
    })
  }

  private onListening(ports: ListeningPort[]): void {
    this.facts.listening = ports.map((p) => `${p.port}/tcp`).join(' ')
    for (const w of this.listeningWaiters.splice(0)) w(ports)
  }

  resize(cols: number, rows: number): void {
    if (this.done || !this.tty) return
    this.sendControl(encodeFrame('W', `${Math.max(1, Math.round(cols))} ${Math.max(1, Math.round(rows))}`))
  }

  kill(signal = 'SIGKILL'): void {
    if (this.done) return
    const n = signalNumber(signal)
    this.hostKilled = true
    if (!this.specSent) {
      this.teardown('killed', `killed with ${signal} before the command started`)
      return
    }
    this.sendControl(encodeFrame('K', String(n)))
    if (n === 9) this.timers.push(setTimeout(() => this.teardown('killed', 'killed (the VM did not answer, so it was stopped)'), KILL_GRACE_MS))
  }

  private async bootMachine(): Promise<void> {
    const { assets, memoryBytes } = this.o
    // Resolved up front: an unknown user fails before any machine starts.
    let identity: Identity
    try {
      const memo = this.o.memo
      identity = await resolveIdentity(this.o.rootFs, this.o.process.user, memo ? (node) => readThrough(memo, node) : undefined)
    } catch (err) {
      if (!(err instanceof UserError)) throw err
      this.emit('stderr', new TextEncoder().encode(`boxplay: ${err.message}\n`))
      this.end({ code: 125, reason: 'error', message: err.message })
      return
    }
    const kernel = await assets.kernel()
    const nic = this.link !== undefined
    const key = await machineStateKey(kernel, memoryBytes, nic)
    const saved = this.o.cold ? undefined : await assets.loadState(key).catch(() => undefined)
    this.phase('load')
    if (this.stopping) return

    let emulator: Emulator | undefined
    if (saved) {
      try {
        emulator = await startMachine({ assets, memoryBytes, state: saved.state, nic })
        if (this.done) return void emulator.destroy().catch(() => {})
        this.attach(emulator)
        this.phase('restore')
        this.facts.kernel = saved.release
        this.facts.boot = 'restored'
      } catch (err) {
        if (!(err instanceof StateError)) throw err
        this.o.log?.(`${err.message}; booting cold`)
      }
    }
    if (!emulator) {
      emulator = await startMachine({ assets, memoryBytes, nic })
      if (this.done) return void emulator.destroy().catch(() => {})
      const ready = new Promise<string[]>((resolve) => (this.onReady = resolve))
      this.attach(emulator)
      this.phase('emulator')
      const [release = '', bootMs = '0'] = await ready
      this.phase('boot')
      // Split the boot: the guest's own clock says how long the kernel ran; the rest was BIOS.
      const boot = this.timings.pop()!
      const kernelMs = Math.min(boot.ms, Number(bootMs) || 0)
      this.timings.push({ name: 'bios', ms: Math.round((boot.ms - kernelMs) * 1000) / 1000 }, { name: 'kernel', ms: kernelMs })
      this.facts.kernel = release
      this.facts.boot = 'cold'
      if (!this.o.cold && !this.stopping) {
        const state = await emulator.save_state()
        this.phase('save-state')
        assets.saveState(key, { state, release }).catch((err: unknown) => this.o.log?.(`could not keep the v86 state: ${String(err)}`))
      }
    }
    if (this.stopping) return

    this.link?.plug(emulator, (hosts) => this.sendControl(encodeFrame('N', hosts)))
    this.fs = emulator.fs9p
    this.storage = loadImage(emulator.fs9p, this.o.rootFs, this.o.memo)
    const { argv, env, cwd, user } = this.o.process
    const seed = globalThis.crypto.getRandomValues(new Uint8Array(32))
    const withTerm = this.tty && !env.some((e) => e.startsWith('TERM=')) ? [...env, 'TERM=xterm-256color'] : env
    emulator.serial_send_bytes(
      1,
      encodeSpec({
        argv,
        env: withTerm,
        cwd,
        user,
        commandPath: argv[0] === undefined ? undefined : findCommand(this.o.rootFs, argv[0], env),
        hostname: String(this.facts.hostname),
        ...(this.o.spec.tty ? { tty: this.o.spec.tty } : {}),
        stdinOpen: this.o.spec.stdin === true,
        clockMs: Date.now(),
        seedHex: [...seed].map((b) => b.toString(16).padStart(2, '0')).join(''),
        identity,
        ...(this.link ? { network: this.link.guestNetwork(), hosts: this.link.member.hosts() } : {}),
      }),
    )
    this.specSent = true
    for (const frame of this.queuedControl.splice(0)) emulator.serial_send_bytes(1, frame)
  }

  private attach(emulator: Emulator): void {
    this.emulator = emulator
    const reader = new FrameReader((frame) => this.onFrame(frame))
    emulator.add_listener('serial1-output-byte', (byte) => reader.push(byte))
    emulator.add_listener('serial0-output-byte', (byte) => this.onConsoleByte(byte))
  }

  private onFrame(frame: GuestFrame): void {
    switch (frame.type) {
      case 'R':
        this.onReady?.(fields(frame.payload))
        break
      case 'C': {
        this.phase('init')
        const guestMs = Number(fields(frame.payload)[1])
        if (Number.isFinite(guestMs)) this.facts.initGuestMs = guestMs
        this.commandStarted = true
        const emulator = this.emulator
        if (emulator && this.o.jit !== false) this.timers.push(setTimeout(() => this.done || enableJit(emulator), JIT_AFTER_COMMAND_MS))
        for (const bytes of this.queuedTty.splice(0)) this.emulator?.serial_send_bytes(0, bytes)
        break
      }
      case 'O':
        this.emit('stdout', frame.payload)
        break
      case 'E':
        this.emit('stderr', frame.payload)
        break
      case 'F': {
        const message = new TextDecoder().decode(frame.payload)
        this.initErrors.push(message)
        this.emit('stderr', new TextEncoder().encode(`${message}\n`))
        break
      }
      case 'A':
        this.onStdinAck(Number(fields(frame.payload)[0] ?? '0') || 0)
        break
      case 'P':
        this.onListening(parseListening(frame.payload).map((p) => ({ ...p, protocol: 'tcp' as const })))
        break
      case 'X':
        this.onExit(Number(fields(frame.payload)[0] ?? '0'))
        break
    }
  }

  private onExit(status: number): void {
    if (this.done) return
    this.flushTty(true)
    this.phase(this.commandStarted ? 'command' : 'init')
    const { code, signal } = decodeWaitStatus(status)
    if (this.initErrors.length && !this.commandStarted) {
      this.end({ code, reason: 'error', message: this.initErrors.join('; ') })
    } else if (signal) {
      this.end({ code, signal, reason: this.hostKilled ? 'killed' : 'signaled' })
    } else {
      this.end({ code, reason: 'exited' })
    }
  }

  /** ttyS0: the command's terminal in tty mode; otherwise only kernel messages land here. */
  private onConsoleByte(byte: number): void {
    if (!this.tty || !this.commandStarted) {
      this.consoleTail = (this.consoleTail + String.fromCharCode(byte)).slice(-2000)
      return
    }
    this.ttyOut.push(byte)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      // v86 emits bytes one by one from inside its run loop: pass them on in one chunk.
      queueMicrotask(() => this.flushTty())
    }
  }

  private flushTty(final = false): void {
    this.flushScheduled = false
    const bytes = this.filter.push(Uint8Array.from(this.ttyOut))
    this.ttyOut = []
    this.emit('stdout', bytes)
    if (final) this.emit('stdout', this.filter.flush())
  }

  private sendControl(frame: Uint8Array): void {
    if (this.specSent && this.emulator) this.emulator.serial_send_bytes(1, frame)
    else this.queuedControl.push(frame)
  }

  private sendTty(bytes: Uint8Array): void {
    // Before the command has the terminal open, the UART would drop the bytes.
    if (this.commandStarted && this.emulator) this.emulator.serial_send_bytes(0, bytes)
    else this.queuedTty.push(bytes.slice())
  }

  private consoleHint(): string {
    const tail = this.consoleTail.trim()
    return tail ? `\nguest console:\n${tail.split('\n').slice(-15).join('\n')}` : ''
  }

  /** Stops the machine from the host side (timeout, kill without answer, failure). */
  private teardown(reason: 'killed' | 'timeout' | 'error', message: string): void {
    if (this.done) return
    this.stopping = true
    this.flushTty(true)
    if (reason === 'error') this.end({ code: 125, reason, message })
    else this.end({ code: 137, signal: 'SIGKILL', reason, message })
  }

  private end(status: ExitStatus): void {
    for (const t of this.timers) clearTimeout(t)
    this.link?.leave()
    for (const w of this.listeningWaiters.splice(0)) w([])
    this.onReady?.([]) // a boot still waiting for init gives up
    this.finish(status)
    const emulator = this.emulator
    // The machine stops; its filesystem stays in JS memory for files().
    if (emulator) void emulator.destroy().catch(() => {})
  }
}
