// Every bench `npm run bench` runs, in order. Add one: write test/bench/<area>-<what>.ts
// exporting a function that returns rows, and add one line here.

import type { BenchEntry } from './framework.js'

export const benches: readonly BenchEntry[] = [
  { name: 'store-unpack', run: async () => (await import('./store-unpack.js')).benchStoreUnpack() },
  { name: 'store-pull', run: async () => (await import('./store-pull.js')).benchStorePull() },
  { name: 'oci-rootfs', run: async () => (await import('./oci-rootfs.js')).benchOciRootFs() },
  { name: 'native-start', run: async () => (await import('./native-start.js')).nativeStartBench() },
  { name: 'cli-start', run: async () => (await import('./cli-start.js')).cliStartBench() },
  { name: 'wasi', run: async () => (await import('./wasi.js')).benchWasi() },
  { name: 'wasi-http', run: async () => (await import('./wasi-http.js')).benchWasiHttp() },
  { name: 'v86', run: async () => (await import('./v86.js')).benchV86() },
  { name: 'v86-http', run: async () => (await import('./v86-http.js')).benchV86Http() },
  { name: 'v86-preview', run: async () => (await import('./v86-preview.js')).benchV86Preview() },
  { name: 'v86-debian', run: async () => (await import('./v86-debian.js')).benchV86Debian() },
  { name: 'v86-debian-page', run: async () => (await import('./v86-debian-page.js')).benchV86DebianPage() },
  { name: 'build', run: async () => (await import('./build.js')).benchBuild() },
  { name: 'net-http', run: async () => (await import('./net-http.js')).benchNetHttp() },
  { name: 'serve', run: async () => (await import('./serve.js')).benchServe() },
]
