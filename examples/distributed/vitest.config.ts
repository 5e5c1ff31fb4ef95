import { defineConfig } from "vitest/config"

// Each test forks worker processes that each resolve every record: minutes, not seconds, on a busy machine.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 300_000, hookTimeout: 300_000 }
})
