// Opens a URL in the desktop's browser when there is one; never fails when there is not.

import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, command), constants.X_OK)
      return true
    } catch {
      // not here
    }
  }
  return false
}

/** True when a browser was asked to open the URL. */
export function openBrowser(url: string): boolean {
  if (process.platform !== 'linux' || !onPath('xdg-open')) return false
  // Without a desktop session xdg-open would start a text browser on our terminal.
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false
  try {
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' })
    child.on('error', () => {})
    child.unref()
    return true
  } catch {
    return false
  }
}
