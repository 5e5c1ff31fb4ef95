/**
 * The command streams its input: a large file is read line by line, never whole, so the
 * process's peak memory does not grow with the file (only with the records the store holds).
 */
import { statSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import type { Summary } from "../src/index.js"
import { requireBuild, runCli, tempDir, writeSyntheticNdjson } from "./helpers.js"

let dir = ""
let cleanup = () => {}
beforeAll(() => {
  requireBuild()
  const t = tempDir()
  dir = t.dir
  cleanup = t.cleanup
})
afterAll(() => cleanup())

// Under this V8 heap cap, splitting the 200,000-line file into line strings alone runs out of
// memory (the file is about 53 MB, and about twice that as JavaScript strings).
const heapCapMb = 64

it("resolves a 200,000-line file line by line, with a peak RSS far below ten times its size", {
  timeout: 180_000
}, async () => {
  const input = join(dir, "large.ndjson")
  // 2,000 distinct records sent 100 times each: the store stays small, so what is measured is
  // the reading, which must not grow with the file.
  await writeSyntheticNdjson(input, 200_000, 2_000)
  const size = statSync(input).size
  const r = await runCli(["resolve", input, "--assignments", join(dir, "large.csv"), "--json-summary"], dir, [
    `--max-old-space-size=${heapCapMb}`
  ])
  expect(r.code, r.stderr.slice(0, 2000)).toBe(0)
  const summary = JSON.parse(r.stderr) as Summary.Summary
  console.info(
    `200,000 lines, ${(size / 1048576).toFixed(1)} MB, heap capped at ${heapCapMb} MB: ${summary.seconds.toFixed(2)} s, ` +
      `${Math.round(summary.recordsPerSecond)} records/s, peak RSS ${(summary.maxRssBytes / 1048576).toFixed(0)} MB`
  )
  expect(summary).toMatchObject({
    read: 200_000,
    accepted: 200_000,
    created: 2_000,
    unchanged: 198_000,
    records: 2_000
  })
  expect(summary.maxRssBytes).toBeLessThan(size * 10)
  expect(summary.maxRssBytes).toBeLessThan(size * 4)
})
