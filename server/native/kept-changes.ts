// Reads what a `keepChanges` run left in its run dir (crates/boxplay-container/src/state.rs
// keep_changes): `upper/`, the overlay's upper dir, and `opaque`, the upper dirs overlayfs
// marked opaque (an xattr, which Node cannot read). Whiteouts (0/0 character devices)
// become deletions; host owners go back to the container's ids through the run's id map.

import { lstat, readFile, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { MAX_SENT_FILE_BYTES, MAX_SENT_TOTAL_BYTES, encodeBase64, type ChangeEntry, type RunChanges } from '../../web/runtimes/remote/changes.js'

/** "container host count" as the helper reports it, e.g. "0 100000 65536". */
function idMapper(idMap: string): (hostId: number) => number {
  const [inside, host, count] = idMap.split(/\s+/).map(Number)
  if (inside === undefined || host === undefined || count === undefined || [inside, host, count].some(Number.isNaN)) return (id) => id
  // Ids outside the map show as nobody, as they do inside the container.
  return (id) => (id >= host && id < host + count ? id - host + inside : 65534)
}

/** How many file bytes travel with the changes (defaults: what the file panel is sent). */
export interface KeptLimits {
  fileBytes: number
  totalBytes: number
}

export async function readKeptChanges(runDir: string, idMap: string, limits: KeptLimits = { fileBytes: MAX_SENT_FILE_BYTES, totalBytes: MAX_SENT_TOTAL_BYTES }): Promise<RunChanges> {
  const toContainer = idMapper(idMap)
  const opaque = new Set((await readFile(join(runDir, 'opaque'), 'utf8')).split('\n').filter(Boolean))
  const entries: ChangeEntry[] = []
  let sentBytes = 0
  const walk = async (hostDir: string, path: string): Promise<void> => {
    for (const name of (await readdir(hostDir)).sort()) {
      const hostPath = join(hostDir, name)
      const childPath = `${path}/${name}`
      const st = await lstat(hostPath)
      if (st.isCharacterDevice() && st.rdev === 0) {
        entries.push({ path: childPath, kind: 'deleted' })
        continue
      }
      const meta = { path: childPath, mode: st.mode & 0o7777, uid: toContainer(st.uid), gid: toContainer(st.gid), mtime: Math.floor(st.mtimeMs / 1000) }
      if (st.isDirectory()) {
        entries.push({ ...meta, kind: 'dir', ...(opaque.has(childPath) ? { opaque: true } : {}) })
        await walk(hostPath, childPath)
      } else if (st.isSymbolicLink()) {
        entries.push({ ...meta, kind: 'symlink', target: await readlink(hostPath) })
      } else if (st.isFile()) {
        const send = st.size <= limits.fileBytes && sentBytes + st.size <= limits.totalBytes
        if (send) sentBytes += st.size
        entries.push({ ...meta, kind: 'file', size: st.size, ...(send ? { data: encodeBase64(await readFile(hostPath)) } : {}) })
      }
      // Sockets, fifos and device nodes a container made have no place in the panel's tree.
    }
  }
  await walk(join(runDir, 'upper'), '')
  return { entries }
}
