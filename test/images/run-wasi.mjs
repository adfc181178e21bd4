// Runs a WASI command module under node:wasi, for the image tests (a child process, so its
// stdin/stdout/stderr are real pipes the test can feed and read).
//   node run-wasi.mjs ROOTDIR ENV_JSON ARGV0 [ARG...]
// ARGV0 is the module's path inside ROOTDIR (as an image's Entrypoint names it); ROOTDIR
// is preopened as "/" and the working directory is "/".
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { WASI } from 'node:wasi'

const [rootDir, envJson, argv0, ...args] = process.argv.slice(2)
const env = Object.fromEntries(JSON.parse(envJson).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
const wasi = new WASI({ version: 'preview1', args: [argv0, ...args], env, preopens: { '/': rootDir }, returnOnExit: true })
const module = await WebAssembly.compile(readFileSync(join(rootDir, argv0)))
const instance = await WebAssembly.instantiate(module, wasi.getImportObject())
process.exitCode = wasi.start(instance)
