// The run's user, resolved on the host from the image's /etc/passwd and /etc/group (the
// RootFs is already in memory), so init in a freshly restored guest need not read them over
// 9p. Rules as boxplay-init's own fallback and Docker: "name", "uid", "name:group",
// "uid:gid"; an unknown name is an error, an unknown uid runs with gid 0; supplementary
// groups are those that list the user by name.

import { type FileNode, type RootFs, readFile } from '../../oci/rootfs.js'

export interface Identity {
  uid: number
  gid: number
  groups: number[]
  home: string
}

export class UserError extends Error {
  override name = 'UserError'
}

/** How a file's bytes are read: by default straight from the image; a run passes its content memo. */
export type ReadNode = (node: FileNode) => Promise<Uint8Array>

async function lines(root: RootFs, path: string, read: ReadNode): Promise<string[][]> {
  const node = root.lookup(path)
  if (node?.kind !== 'file') return []
  const text = new TextDecoder().decode(await read(node))
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'))
}

const numeric = (s: string) => /^\d+$/.test(s)

export async function resolveIdentity(root: RootFs, spec: string, read: ReadNode = readFile): Promise<Identity> {
  const colon = spec.indexOf(':')
  const user = (colon < 0 ? spec : spec.slice(0, colon)) || '0'
  const group = colon < 0 ? '' : spec.slice(colon + 1)

  // Both asked for at once: from a server that batches, they travel together (and with the
  // files the command read last time, file-prefetch.ts).
  const [passwd, groupsFile] = await Promise.all([lines(root, '/etc/passwd', read), lines(root, '/etc/group', read)])
  const entry = passwd.find((f) => f.length >= 7 && (numeric(user) ? Number(f[2]) === Number(user) : f[0] === user))
  if (!entry && !numeric(user)) {
    throw new UserError(`unable to find user ${user}: no matching entries in the image's /etc/passwd`)
  }
  const uid = entry ? Number(entry[2]) : Number(user)
  let gid = entry ? Number(entry[3]) : 0
  const home = entry ? entry[5]! : uid === 0 ? '/root' : '/'
  const name = entry?.[0]

  if (group) {
    if (numeric(group)) gid = Number(group)
    else {
      const g = groupsFile.find((f) => f.length >= 3 && f[0] === group)
      if (!g) throw new UserError(`unable to find group ${group}: no matching entries in the image's /etc/group`)
      gid = Number(g[2])
    }
  }
  const groups = [gid]
  if (name) {
    for (const f of groupsFile) {
      const members = (f[3] ?? '').split(',')
      const g = Number(f[2])
      if (members.includes(name) && !groups.includes(g) && groups.length < 64) groups.push(g)
    }
  }
  return { uid, gid, groups, home }
}
