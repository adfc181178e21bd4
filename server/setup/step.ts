// A cached build step. `boxplay setup` (run by `npm install` and `npm test`) runs each
// step whose inputs changed or whose outputs are missing, so a second run is fast.

export interface BuildContext {
  /** The package root (where package.json is). */
  root: string
  /** Scratch space kept between runs (kernel trees, downloads): `<root>/.cache/build/<step>`. */
  cacheDir: string
  /** Where bundled assets land: `<root>/dist`. */
  distDir: string
  log(message: string): void
}

export interface BuildStep {
  name: string
  /** Files or directories (relative to the root) whose contents decide whether to rerun. */
  inputs: string[]
  /** Files or directories (relative to the root) the step makes; missing ones force a rerun. */
  outputs: string[]
  /** Debian packages this step needs (installed first, only when missing). */
  packages?: string[]
  /** Only for `npm test` / `npm run bench` (setup --tests): tools the tests drive. */
  forTests?: boolean
  /** Steps that must run first. */
  after?: string[]
  run(ctx: BuildContext): Promise<void>
}
