/**
 * Entry point of the `living-profile` binary (bin/living-profile.cjs loads its CommonJS build).
 */
import { run } from "./Cli.js"

// exitCode rather than process.exit(): the latter could cut off output still queued on a pipe.
run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`living-profile: internal error: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 70
  }
)
