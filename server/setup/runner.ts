// Runs build steps in dependency order, skipping those whose input hash is unchanged
// and whose outputs exist. Stamps live in .cache/build/<step>.stamp.

import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BuildContext, BuildStep } from './step.js'
import { ensurePackages } from './system-packages.js'

export function hashInputs(root: string, inputs: readonly string[]): string {
  const hash = createHash('sha256')
  const visit = (rel: string): void => {
    const abs = join(root, rel)
    if (!existsSync(abs)) {
      hash.update(`missing ${rel}\n`)
      return
    }
    const st = statSync(abs)
    if (st.isDirectory()) {
      for (const name of readdirSync(abs).sort()) visit(join(rel, name))
    } else {
      hash.update(`file ${rel} ${st.mode & 0o111 ? 'x' : '-'}\n`)
      hash.update(readFileSync(abs))
    }
  }
  for (const input of inputs) visit(input)
  return hash.digest('hex')
}

function order(steps: readonly BuildStep[]): BuildStep[] {
  const byName = new Map(steps.map((s) => [s.name, s]))
  const done = new Set<string>()
  const out: BuildStep[] = []
  const visit = (s: BuildStep, trail: string[]): void => {
    if (done.has(s.name)) return
    if (trail.includes(s.name)) throw new Error(`build steps form a cycle: ${[...trail, s.name].join(' → ')}`)
    for (const dep of s.after ?? []) {
      const d = byName.get(dep)
      if (!d) throw new Error(`build step ${s.name} runs after unknown step ${dep}`)
      visit(d, [...trail, s.name])
    }
    done.add(s.name)
    out.push(s)
  }
  for (const s of steps) visit(s, [])
  return out
}

export async function runSteps(
  root: string,
  steps: readonly BuildStep[],
  opts: { only?: string[]; force?: boolean; tests?: boolean; log?: (m: string) => void } = {},
): Promise<void> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`boxplay setup: ${m}\n`))
  const selected = order(steps).filter(
    (s) => (!opts.only || opts.only.includes(s.name)) && (opts.tests || !s.forTests),
  )
  ensurePackages(selected.flatMap((s) => s.packages ?? []), log)
  for (const step of selected) {
    const cacheDir = join(root, '.cache', 'build', step.name)
    const stampFile = join(root, '.cache', 'build', `${step.name}.stamp`)
    const hash = hashInputs(root, step.inputs)
    const fresh =
      !opts.force &&
      existsSync(stampFile) &&
      readFileSync(stampFile, 'utf8') === hash &&
      step.outputs.every((o) => existsSync(join(root, o)))
    if (fresh) continue
    mkdirSync(cacheDir, { recursive: true })
    const ctx: BuildContext = { root, cacheDir, distDir: join(root, 'dist'), log: (m) => log(`${step.name}: ${m}`) }
    const started = Date.now()
    log(`${step.name}: building`)
    await step.run(ctx)
    for (const o of step.outputs) {
      if (!existsSync(join(root, o))) throw new Error(`build step ${step.name} did not produce ${o}`)
    }
    writeFileSync(stampFile, hash)
    log(`${step.name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
}
