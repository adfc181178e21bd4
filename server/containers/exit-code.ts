// A run's ExitStatus as the number `docker wait` and `ps` show: the program's code,
// 128+N for signal N, 124 for a timeout, 125–127 for runtime failures.

import { constants } from 'node:os'
import type { ExitStatus } from '../../web/runtimes/runtime.js'

export function exitCodeOf(status: ExitStatus): number {
  if (status.reason === 'error') return status.code >= 125 ? status.code : 125
  if (status.reason === 'timeout') return 124
  if (status.signal) {
    const n = (constants.signals as Record<string, number | undefined>)[status.signal]
    if (n !== undefined) return 128 + n
  }
  return status.code
}
