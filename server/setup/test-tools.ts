// The real parts the tests and benches drive: a registry, the tools people use instead of
// boxplay (skopeo, umoci, runc, crun, tar), and a browser. Installed by `npm test`, not by
// a plain install.

import type { BuildStep } from './step.js'

export const testTools: BuildStep = {
  name: 'test-tools',
  forTests: true,
  inputs: [],
  outputs: [],
  packages: ['docker-registry', 'skopeo', 'umoci', 'runc', 'crun', 'chromium', 'tar', 'gzip', 'zstd', 'python3', 'util-linux', 'iproute2', 'iptables', 'openssl', 'podman'],
  async run() {},
}
