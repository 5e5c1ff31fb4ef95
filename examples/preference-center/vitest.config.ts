import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Clears HTTP(S)_PROXY before any test file loads jsforce (it reads them once, at load).
    setupFiles: ["test/setup.ts"],
    // One app and one browser per file; files run one after another so the two cores are not
    // shared between two Chromiums and four emulators.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
