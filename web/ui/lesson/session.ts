// A lesson's sandbox: one run the learner types into and the checks inspect. Two kinds:
// - ShellSession (images with a shell): one long-lived interactive `sh` with a terminal;
//   checks are typed into that same shell while its output is hidden (see markers.ts);
// - CommandSession (images without one, e.g. `hello` as a WASI module): a prompt drawn by
//   the widget; each line is one run of the image's entrypoint with those arguments.

import type { RunImage } from '../../runtimes/runtime.js'
import { CommandSession } from './command-session.js'
import type { LessonSession, SessionOptions } from './session-base.js'
import { ShellSession } from './shell-session.js'

export type { CheckResult, LessonSession, SessionOptions } from './session-base.js'

export async function startSession(o: SessionOptions): Promise<LessonSession> {
  return hasShell(o.image) ? ShellSession.start(o) : CommandSession.start(o)
}

/**
 * Images we give a shell: Linux ones without an Entrypoint (their Cmd is replaced by /bin/sh,
 * like `docker run -it IMAGE sh`) or whose Entrypoint is a shell. An image whose Entrypoint is
 * a program (hello) is run as that program, line by line.
 */
function hasShell(image: RunImage): boolean {
  if (image.platform.os !== 'linux') return false
  const entrypoint = image.config.Entrypoint ?? []
  return entrypoint.length === 0 || /(^|\/)(sh|ash|bash)$/.test(entrypoint[0]!)
}

