// The verbs on containers that more than one caller needs (the CLI's commands, the HTTP
// API): wait for an exit, stop (the stop signal, then SIGKILL), kill, remove.

import { readRecord, type ContainerRecord } from './record.js'
import { request } from './control.js'
import { ContainerError } from './ids.js'
import { monitorAlive, type ContainerStore } from './store.js'

const POLL_MS = 50
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Whether the record (read again) says it runs and its monitor lives. */
async function running(record: ContainerRecord): Promise<boolean> {
  try {
    const { state } = await readRecord(record.dir)
    record.state = state
    return state.status === 'running' && monitorAlive(state.monitorPid, state.monitorStart)
  } catch {
    return false // removed meanwhile (--rm)
  }
}

/** Waits until the container is no longer running (or `ms` passed); true if it stopped. */
export async function waitStopped(record: ContainerRecord, ms = Infinity): Promise<boolean> {
  const deadline = Date.now() + ms
  while (await running(record)) {
    if (Date.now() >= deadline) return false
    await sleep(POLL_MS)
  }
  return true
}

/** Sends a signal to a running container's process. */
export async function killContainer(record: ContainerRecord, signal = 'SIGKILL'): Promise<void> {
  if (!(await running(record))) {
    throw new ContainerError('not-running', `Cannot kill container: ${record.config.name}: container ${record.config.id} is not running`)
  }
  try {
    await request(record.dir, { op: 'kill', signal })
  } catch (e) {
    // It ended between the check and the request: as good as killed.
    if (await running(record)) throw e
  }
}

/** `docker stop`: the image's stop signal, then SIGKILL after `timeoutSec`. A stopped one is left as it is. */
export async function stopContainer(record: ContainerRecord, timeoutSec = 10): Promise<void> {
  if (!(await running(record))) return
  await killContainer(record, record.config.stopSignal).catch(() => undefined)
  if (await waitStopped(record, timeoutSec * 1000)) return
  await killContainer(record, 'SIGKILL').catch(() => undefined)
  await waitStopped(record)
}

/** `docker rm [-f]`: a running container only with force (killed first). */
export async function removeContainer(containers: ContainerStore, record: ContainerRecord, force: boolean): Promise<void> {
  if (await running(record)) {
    if (!force) {
      throw new ContainerError(
        'running',
        `cannot remove container "/${record.config.name}": container is running: stop the container before removing or force remove`,
      )
    }
    await killContainer(record, 'SIGKILL').catch(() => undefined)
    await waitStopped(record)
  }
  await containers.remove(record)
}
