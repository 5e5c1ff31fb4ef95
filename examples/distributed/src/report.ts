/**
 * The plain-text report of a run: what each worker did, how long it took, and whether the store's
 * partition is the single-process one. It names counts, ids and key prefixes, never a record's values.
 */
import type { Counts, Exit } from "./WorkerProcess.js"

/** Where each report line goes. */
export type Out = (line: string) => void

/** One worker as the report shows it. */
export interface WorkerLine {
  readonly id: number
  readonly counts: Counts
  readonly exit: Exit
  /** Whether it was told to crash (`--crash`). */
  readonly crashed: boolean
  readonly failure: string | undefined
}

/** What the report shows. */
export interface Figures {
  readonly records: number
  readonly seed: number
  readonly batch: number
  readonly stream: string
  readonly producedSeconds: number
  readonly workers: ReadonlyArray<WorkerLine>
  readonly profiles: number
  readonly recordsInStore: number
  readonly seconds: number
  readonly referenceProfiles: number
  readonly referenceSeconds: number
  readonly equal: boolean
  readonly difference: { readonly onlyA: number; readonly onlyB: number }
  readonly prefix: string
  readonly deletedKeys: number
}

const n = (x: number): string => x.toLocaleString("en-US")
const s = (x: number): string => x.toFixed(1)

const exitText = (e: Exit): string => (e.signal !== null ? `killed by ${e.signal}` : `exit code ${e.code}`)

/** The whole report. */
export const render = (out: Out, f: Figures): void => {
  out(
    `Distributed resolution: ${n(f.records)} synthetic records (seed ${f.seed}) in a Redis Stream, ` +
      `${f.workers.length} worker process(es) in one consumer group, one store write per batch of up to ${f.batch}`
  )
  out(`  produced in ${s(f.producedSeconds)} s to ${f.stream}`)
  const width = String(f.workers.length).length
  for (const w of f.workers) {
    const claimed =
      w.counts.claimed > 0 ? `; claimed ${n(w.counts.claimed)} entries another worker held too long` : ""
    const rejected = w.counts.rejected > 0 ? `, ${n(w.counts.rejected)} entries rejected` : ""
    const end = w.crashed
      ? ` -- crashed on purpose (${exitText(w.exit)}) holding an unacknowledged batch`
      : w.failure !== undefined
        ? ` -- failed: ${w.failure}`
        : w.exit.code === 0
          ? ""
          : ` -- ${exitText(w.exit)}`
    out(
      `  worker ${String(w.id).padStart(width)}: ${n(w.counts.records)} records acknowledged, ${n(w.counts.batches)} store writes${claimed}${rejected}${end}`
    )
  }
  out(`records:  ${n(f.records)}`)
  out(`workers:  ${f.workers.length}`)
  out(
    `records per worker: ${f.workers.map((w) => n(w.counts.records)).join(" / ")} (entries each worker acknowledged)`
  )
  out(
    `profiles: ${n(f.profiles)} holding ${n(f.recordsInStore)} records (read back from Redis by a fresh connection)`
  )
  out(
    `seconds:  ${s(f.seconds)} (${n(Math.round(f.records / f.seconds))} records/s), from "go" until the group was drained`
  )
  out(
    `single-process in-memory run over the same records: ${n(f.referenceProfiles)} profiles in ${s(f.referenceSeconds)} s ` +
      `(${n(Math.round(f.records / f.referenceSeconds))} records/s)`
  )
  out(`partition equal to single-process run: ${f.equal ? "yes" : "no"}`)
  if (!f.equal)
    out(
      `  ${n(f.difference.onlyA)} profile(s) only in the store, ${n(f.difference.onlyB)} only in the single-process run`
    )
  out(`deleted ${n(f.deletedKeys)} keys under ${f.prefix}`)
}
