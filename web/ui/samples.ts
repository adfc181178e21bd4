// The one-click commands the first screen offers: each chosen because its answer differs
// between the runtimes, which is the lesson. `runtime` pins a sample to the one runtime it is
// about; the others run wherever the learner has chosen, or in all of them (Compare).

import type { RuntimeId } from './deep-link.js'

export interface Sample {
  id: string
  /** The command as typed in the command box. */
  cmd: string
  /** The image it runs in: a bundled one. */
  image: string
  runtime?: RuntimeId
  /** What to look for in the answer. */
  why: string
}

export const SAMPLES: readonly Sample[] = [
  { id: 'kernel', cmd: 'uname -a', image: 'debian', why: 'Which kernel answers? The VM boots a Linux kernel of its own; a container borrows the server’s.' },
  { id: 'processes', cmd: 'ps -ef', image: 'debian', why: 'Which processes can the run see, and which one is PID 1?' },
  { id: 'cgroup', cmd: 'cat /proc/1/cgroup', image: 'debian', why: 'The control groups PID 1 is in: where a container’s limits on memory and processes live.' },
  { id: 'python', cmd: "python3 -c 'import platform; print(platform.machine(), platform.release())'", image: 'debian', why: 'Python asks the kernel what machine it is on: i686 in the VM, the server’s own natively.' },
  { id: 'wasi', cmd: "-c 'import sys, os; print(sys.platform, os.uname().sysname)'", image: 'python', runtime: 'wasi', why: 'Python as a WebAssembly module: no kernel at all, so the platform is just “wasi”.' },
]
