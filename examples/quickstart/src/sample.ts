/** The bundled sample of `@living-profile/cli`, read and decoded as the CLI reads it. */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { SourceRecord } from "@living-profile/core"
import { Either } from "effect"

/**
 * `src/` and `dist/` are both one level below the package, so one relative URL serves the sources
 * (vitest) and the build (`npm start`).
 */
export const samplePath: string = fileURLToPath(
  new URL("../../../packages/cli/samples/customers.ndjson", import.meta.url)
)

/** Every record of the sample; a line that does not decode throws its located error (never its value). */
export const loadSample = (path: string = samplePath): Array<SourceRecord.SourceRecord> => {
  const records: Array<SourceRecord.SourceRecord> = []
  const lines = readFileSync(path, "utf8").split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === "") continue
    const decoded = SourceRecord.decodeLine(line, { file: "customers.ndjson", line: i + 1 })
    if (Either.isLeft(decoded)) throw decoded.left
    records.push(decoded.right)
  }
  return records
}
