// The store's runtime needs beyond Node: `setfattr` (Debian `attr`) sets the xattrs layers
// carry and the overlayfs opaque/whiteout markers when unpacking layers for the native
// runtime (Node has no xattr API), and coreutils' mknod makes whiteouts and fifos.

import type { BuildStep } from '../setup/step.js'

export const storeToolsStep: BuildStep = {
  name: 'store-tools',
  inputs: [],
  outputs: [],
  packages: ['attr', 'coreutils'],
  async run() {},
}
