/**
 * The summary of a run (resolve: counts, timing and peak memory; export: what it wrote). Counts
 * and ids only, never record values, so it can go to logs and benchmark reports.
 */
import type { Format } from "./Input.js"

/** What a `resolve` run did. */
export interface Summary {
  readonly input: string
  readonly format: Format
  /** Records read: non-empty lines of NDJSON, data rows of CSV. */
  readonly read: number
  /** Records that decoded (upserts and deletions). */
  readonly accepted: number
  /** Records that did not decode (set aside in the rejects file). */
  readonly rejects: number
  /** Accepted records marked `"deleted": true`. */
  readonly deletions: number
  /** Records removed from the profiles by a deletion. */
  readonly removed: number
  /** Upserts of records not seen before. */
  readonly created: number
  /** Upserts that changed a record already held. */
  readonly updated: number
  /** Upserts identical to the record already held (a re-run of the same file). */
  readonly unchanged: number
  /** Upserts older (by updatedAt) than the record already held, ignored. */
  readonly stale: number
  /** Records held at the end. */
  readonly records: number
  /** Living profiles at the end. */
  readonly profiles: number
  /** Profile merges resolution performed. */
  readonly merges: number
  /** Profile splits (after deletions or updates). */
  readonly splits: number
  /** Merges refused because a profile would exceed `maxClusterSize`. */
  readonly capWarnings: number
  /** Wall-clock seconds of the run, outputs included. */
  readonly seconds: number
  /** Records read per second of the run. */
  readonly recordsPerSecond: number
  /** Peak resident set size of the process so far, in bytes. */
  readonly maxRssBytes: number
}

const n = (x: number): string => x.toLocaleString("en-US")

/** The summary as a few lines of text for a terminal. */
export const format = (s: Summary): string => {
  const lines = [
    `living-profile: ${n(s.read)} records read from ${s.input}: ${n(s.accepted)} accepted, ${n(s.rejects)} rejected` +
      (s.deletions > 0 ? `, ${n(s.deletions)} deletions (${n(s.removed)} removed)` : ""),
    `  ${n(s.profiles)} profiles from ${n(s.records)} records, ${n(s.merges)} merges` +
      (s.splits > 0 ? `, ${n(s.splits)} splits` : "") +
      (s.capWarnings > 0 ? `, ${n(s.capWarnings)} merges refused by maxClusterSize` : ""),
    `  ${s.seconds.toFixed(2)} s, ${n(Math.round(s.recordsPerSecond))} records/s, peak memory ${n(Math.round(s.maxRssBytes / 1048576))} MB`
  ]
  return `${lines.join("\n")}\n`
}

/** What an `export` run wrote. */
export interface ExportSummary {
  /** Living profiles written. */
  readonly profiles: number
  /** Records they hold (rows of the assignments). */
  readonly records: number
  /** Wall-clock seconds of the run. */
  readonly seconds: number
}

/** The summary of an export as a line of text; `from` names the store. */
export const formatExport = (s: ExportSummary, from: string): string =>
  `living-profile: ${n(s.profiles)} profiles (${n(s.records)} records) exported from ${from} in ${s.seconds.toFixed(2)} s\n`
