export { V86Runtime, type V86RuntimeOptions } from './runtime.js'
export { V86Run } from './run.js'
export { type V86Assets, type SavedState, stateKey } from './assets.js'
export { DEFAULT_MEMORY_BYTES, KERNEL_CMDLINE, V86_VERSION } from './machine.js'
