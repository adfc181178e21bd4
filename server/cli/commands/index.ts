// Every CLI command, in the order `boxplay --help` lists them. Each module is imported only
// when its command runs. To add one: write commands/NAME.ts exporting `command: Command`,
// add one line here.

import type { CommandEntry } from '../command.js'

export const commands: readonly CommandEntry[] = [
  { name: 'images', summary: 'list stored images: name, tag, platforms, size', load: async () => (await import('./images.js')).command },
  { name: 'inspect', summary: 'show a container (as JSON) or an image: index, manifests, config, layers, platforms', load: async () => (await import('./inspect.js')).command },
  { name: 'pull', summary: 'fetch an image from a registry into the store', load: async () => (await import('./pull.js')).command },
  { name: 'load', summary: 'add images from a docker save tarball, an OCI archive or an OCI layout', load: async () => (await import('./load.js')).command },
  { name: 'save', summary: 'write images to a docker save tarball or an OCI archive', load: async () => (await import('./save.js')).command },
  { name: 'tag', summary: 'give a stored image another name', load: async () => (await import('./tag.js')).command },
  { name: 'history', summary: 'show how an image was made: one row per step, newest first', load: async () => (await import('./history.js')).command },
  { name: 'push', summary: 'upload a stored image to a registry', load: async () => (await import('./push.js')).command },
  { name: 'build', summary: 'build an image from a Dockerfile; each RUN runs in a native container', load: async () => (await import('./build.js')).command },
  { name: 'run', summary: 'run an image as a v86 VM, a WASI module or a native container', load: async () => (await import('./run.js')).command },
  // Containers (server/containers/): kept runs and the verbs on them.
  { name: 'ps', summary: 'list containers (running ones; -a: all)', load: async () => (await import('./ps.js')).command },
  { name: 'logs', summary: "show a container's output (-f: follow it while it runs)", load: async () => (await import('./logs.js')).command },
  { name: 'start', summary: 'start stopped containers again, on the files they left', load: async () => (await import('./start.js')).command },
  { name: 'stop', summary: "stop running containers: the image's stop signal (SIGTERM), then SIGKILL", load: async () => (await import('./stop.js')).command },
  { name: 'kill', summary: 'send a signal to running containers (default SIGKILL)', load: async () => (await import('./kill.js')).command },
  { name: 'wait', summary: 'wait until containers stop, then print their exit codes', load: async () => (await import('./wait.js')).command },
  { name: 'exec', summary: 'run a command in a running native container', load: async () => (await import('./exec.js')).command },
  { name: 'diff', summary: "list what a container changed in its image's files (A added, C changed, D deleted)", load: async () => (await import('./diff.js')).command },
  { name: 'cp', summary: 'copy files between a stopped container and this machine', load: async () => (await import('./cp.js')).command },
  { name: 'commit', summary: "make an image from a stopped container's changes", load: async () => (await import('./commit.js')).command },
  { name: 'rm', summary: 'remove containers (-f: running ones too, killed first)', load: async () => (await import('./rm.js')).command },
  { name: 'network', summary: 'create, list, inspect and remove networks for native containers', load: async () => (await import('./network.js')).command },
  { name: 'rmi', summary: 'forget image names (blobs stay until prune)', load: async () => (await import('./rmi.js')).command },
  { name: 'prune', summary: 'remove blobs and unpacked layers no image uses', load: async () => (await import('./prune.js')).command },
  { name: 'serve', summary: 'start the playground: the web app and the native runtime on a local server', load: async () => (await import('./serve.js')).command },
  { name: 'setup', summary: 'build what is missing: Debian packages, the Rust core, the guest, the images, the web app', load: async () => (await import('./setup.js')).command },
]
