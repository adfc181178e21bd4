import { defineConfig } from 'vitest/config'

// Tests exercise real parts (a registry, namespaces, a booted kernel, a browser):
// give them time, run files in parallel, but never assert on timings.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
})
