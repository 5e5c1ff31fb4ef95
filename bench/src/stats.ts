/** Small helpers shared by the scenarios: timing, medians, result lines. */
import { mkdirSync, appendFileSync } from "node:fs"
import { join } from "node:path"

/** One benchmark result: one JSON line. */
export interface BenchResult {
  readonly scenario: string
  readonly dataset: string
  readonly records: number
  readonly runs: number
  readonly medianSeconds: number
  readonly perSecond: number
  readonly peakRssMb: number
  readonly [figure: string]: unknown
}

/** Median of a non-empty list. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** The q-quantile (0 < q <= 1) of a non-empty list by nearest rank: a value of the list, never interpolated. */
export const percentile = (xs: ReadonlyArray<number>, q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

/** Seconds taken by `f`. */
export const time = (f: () => void): number => {
  const t0 = process.hrtime.bigint()
  f()
  return Number(process.hrtime.bigint() - t0) / 1e9
}

/** Peak resident set size of this process so far, in MB. */
export const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024)

/** Prints a result as one JSON line and appends it to bench/results/<date>.ndjson. */
export const emit = (result: BenchResult, resultsDir: string): void => {
  const line = JSON.stringify({ ...result, node: process.version, at: new Date().toISOString() })
  process.stdout.write(`${line}\n`)
  mkdirSync(resultsDir, { recursive: true })
  appendFileSync(join(resultsDir, `${new Date().toISOString().slice(0, 10)}.ndjson`), `${line}\n`)
}

/** Rounds a figure to `digits` decimals for a result line. */
export const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits

/** The two ways a propagation scenario pushes: one `push` call, or several chunks in flight. */
export type Variant = "single" | "concurrent"

/**
 * Measures both variants `runs` times, alternated so that neither always runs on a warmer
 * process, writing one progress line per measurement to stderr.
 */
export const alternate = async <M>(
  runs: number,
  measure: (variant: Variant) => Promise<M>,
  describe: (variant: Variant, run: number, m: M) => string
): Promise<Record<Variant, Array<M>>> => {
  const out: Record<Variant, Array<M>> = { single: [], concurrent: [] }
  for (let k = 0; k < runs; k++)
    for (const v of ["single", "concurrent"] as const) {
      const m = await measure(v)
      out[v].push(m)
      process.stderr.write(`${describe(v, k + 1, m)}\n`)
    }
  return out
}
