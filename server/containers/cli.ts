// What the container commands in server/cli/commands/ share: Docker's way with several
// containers named at once (each is tried; a failure is printed as `Error: …` and the
// command exits 1 at the end) and its exit code 1 for a missing container.

import type { CommandContext } from '../cli/command.js'
import { ContainerError } from './ids.js'
import type { ContainerRecord } from './record.js'
import { ContainerStore } from './store.js'

export const EXIT_CONTAINER_ERROR = 1

export function containerStore(ctx: CommandContext): ContainerStore {
  return new ContainerStore(undefined, (m) => ctx.stderr.write(`boxplay: warning: ${m}\n`))
}

/** Runs `fn` for each named container; prints errors as Docker does. Returns the exit code. */
export async function eachContainer(
  ctx: CommandContext,
  queries: readonly string[],
  fn: (record: ContainerRecord, query: string, containers: ContainerStore) => Promise<void>,
): Promise<number> {
  const containers = containerStore(ctx)
  let code = 0
  for (const query of queries) {
    try {
      await fn(await containers.get(query), query, containers)
    } catch (e) {
      if (!(e instanceof ContainerError)) throw e
      ctx.stderr.write(`Error: ${e.message}\n`)
      code = EXIT_CONTAINER_ERROR
    }
  }
  return code
}
