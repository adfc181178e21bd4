// What this host's kernel answered to boxplay's probes (IA32 emulation, namespaces), kept for
// the rest of the boot so each CLI run need not ask again: the two probes cost ~9 ms of a
// ~70 ms `boxplay run` (write + exec a tiny i386 program; spawn `boxplay-init --probe`).
//
// The memo lives beside the run-state root (/run/boxplay.host-probes.json as root: a tmpfs,
// gone at reboot; not inside it, which holds run dirs only and is swept) and is
// keyed by the boot id, the uid and the helper binary's identity, so a reboot, another user
// or a rebuilt core asks again. The key's hash is in the file name, so two installs of boxplay
// on one host (two checkouts, a global and a local one) keep a memo each instead of
// overwriting each other's and probing on every run. Only answers a boot cannot change are kept: IA32 emulation
// either way (a boot parameter), namespaces only when they worked (a sysctl may be relaxed
// later; a refusal is asked again next time).

import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { dirname } from 'node:path'

export interface HostProbes {
  i386?: boolean
  namespaces?: true
}

interface Memo extends HostProbes {
  key: string
}

function memoKey(helper: string | undefined): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const st = helper !== undefined ? statSync(helper) : undefined
    return [boot, process.getuid?.() ?? 0, helper ?? '', st ? `${st.size}:${st.mtimeMs}` : ''].join(' ')
  } catch {
    return undefined // no /proc or no helper: never memoize, always ask
  }
}

const memoFile = (stateRoot: string, key: string) =>
  `${stateRoot.replace(/\/+$/, '')}.host-probes-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.json`

export function readHostProbes(stateRoot: string, helper?: string): HostProbes {
  const key = memoKey(helper)
  if (key === undefined) return {}
  try {
    const memo = JSON.parse(readFileSync(memoFile(stateRoot, key), 'utf8')) as Partial<Memo>
    if (memo.key !== key) return {}
    return {
      ...(typeof memo.i386 === 'boolean' ? { i386: memo.i386 } : {}),
      ...(memo.namespaces === true ? { namespaces: true as const } : {}),
    }
  } catch {
    return {}
  }
}

/** Adds answers to the memo; failing to write it only means the next run asks again. */
export function writeHostProbes(stateRoot: string, answers: HostProbes, helper?: string): void {
  const key = memoKey(helper)
  if (key === undefined) return
  try {
    mkdirSync(dirname(stateRoot), { recursive: true })
    const memo: Memo = { ...readHostProbes(stateRoot, helper), ...answers, key }
    const file = memoFile(stateRoot, key)
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(memo) + '\n', { mode: 0o600 })
    renameSync(tmp, file)
  } catch {
    // read-only or foreign state root: no memo
  }
}
