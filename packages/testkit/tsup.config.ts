import { defineConfig } from "tsup"

export default defineConfig({
  entry: ["src/index.ts", "src/ConsentTargetSuite.ts", "src/ProfileStoreSuite.ts", "src/SyncStoreSuite.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20"
})
