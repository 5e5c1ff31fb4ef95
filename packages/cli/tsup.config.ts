import { defineConfig } from "tsup"

export default defineConfig({
  entry: { index: "src/index.ts", main: "src/main.ts" },
  format: ["esm", "cjs"],
  dts: { entry: { index: "src/index.ts" } },
  sourcemap: true,
  clean: true,
  target: "node20",
  // The CommonJS build loads the store adapter lazily with require, not import(): import() would
  // load the adapter's ESM build and a second copy of core beside the CommonJS one.
  esbuildOptions: (options, context) => {
    if (context.format === "cjs") options.supported = { ...options.supported, "dynamic-import": false }
  }
})
