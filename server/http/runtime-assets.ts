// What the browser runtimes fetch at run time, shipped beside a web build (the playground and
// the lesson widget both need it): images/ (the bundled OCI layout, with the layer indexes and
// file contents v86 fetches lazily) and guest/ (BIOS, kernel, saved v86 states).

import { copyFileSync, cpSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

/** Copies dist/images and dist/guest into `outDir`; `required` turns a missing one into an error. */
export function copyRuntimeAssets(root: string, outDir: string, required: boolean): void {
  const images = join(root, 'dist', 'images')
  if (existsSync(join(images, 'index.json'))) {
    copyLayout(images, join(outDir, 'images'))
    copyLazyFiles(join(root, LAZY_IMAGES_DIR), join(outDir, 'images'))
  }
  else if (required) throw new Error('dist/images is not built, so the browser runtimes would have no images: run `npm run setup` first')
  const guest = join(root, 'dist', 'guest')
  if (existsSync(join(guest, 'bzImage'))) copyGuest(guest, join(outDir, 'guest'))
  else if (required) throw new Error('dist/guest is not built, so v86 could not run: run `npm run setup` first')
}

/**
 * Layer indexes and file contents of the bundled images (server/image/layer-contents.ts), which
 * the playground step publishes here; shipped as images/lazy and images/content.
 */
export const LAZY_IMAGES_DIR = join('dist', 'images-lazy')

function copyLazyFiles(from: string, to: string): void {
  for (const name of ['lazy', 'content']) {
    if (existsSync(join(from, name))) linkTree(join(from, name), join(to, name))
  }
}

/**
 * Hard links (copies across filesystems) of every file under `from`: blobs and layer contents
 * are named by their hash and never written after, and the debian image made plain copies
 * ~90 MB per web build (the playground and the widget each ship them). A deploy that copies
 * dist/ elsewhere still gets ordinary files.
 */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  for (const name of readdirSync(from)) {
    const src = join(from, name)
    const dst = join(to, name)
    const st = lstatSync(src)
    if (st.isDirectory()) linkTree(src, dst)
    else if (st.isFile()) {
      rmSync(dst, { force: true })
      try {
        linkSync(src, dst)
      } catch {
        copyFileSync(src, dst)
      }
    } else cpSync(src, dst)
  }
}

/** The OCI layout files only: tsc also writes its .js output into dist/images. */
function copyLayout(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  for (const name of ['oci-layout', 'index.json']) cpSync(join(from, name), join(to, name))
  linkTree(join(from, 'blobs'), join(to, 'blobs'))
}

/** The guest's assets only: tsc also writes the guest steps' .js into dist/guest. */
function copyGuest(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  for (const name of readdirSync(from)) {
    if (!/\.(js|ts)$/.test(name)) cpSync(join(from, name), join(to, name), { recursive: true })
  }
}
