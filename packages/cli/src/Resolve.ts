/**
 * `resolve`: stream a file of records into a ProfileStore in batches, then write the living
 * profiles and the record-to-profile assignments. Usable without spawning the command.
 */
import type { Writable } from "node:stream"
import { ProfileStore, ResolverConfig, SourceRecord } from "@living-profile/core"
import { loadConfig } from "./Config.js"
import { InputError, runEffect as run, UsageError } from "./ExitCode.js"
import * as Input from "./Input.js"
import * as Mapping from "./Mapping.js"
import * as Output from "./Output.js"
import type { Tick } from "./Progress.js"
import type { Summary } from "./Summary.js"

/** Records per store write when no batch size is given. */
export const defaultBatchSize = 5000

/** Options of a `resolve` run. */
export interface ResolveOptions {
  /** The input file: `.csv` is read as CSV, anything else as NDJSON. */
  readonly input: string
  /**
   * A resolver config file, or a decoded config; defaults apply otherwise. When `store` is given,
   * the store's config applies (a file named here is still never overwritten by an output).
   */
  readonly config?: string | ResolverConfig.ResolverConfig
  /** A CSV mapping file (CSV input only). */
  readonly mapping?: string
  /** Where to write the `source,id,profileId` CSV. */
  readonly assignments?: string
  /** Where to write one JSON line per profile. */
  readonly profiles?: string
  /** A stream that receives the profiles NDJSON (the command passes stdout when no output file is given); it is not ended. */
  readonly profilesStream?: Writable
  /** Where to set aside records that do not decode; without it the first one stops the run. */
  readonly rejects?: string
  /** Records per store write (default 5,000). */
  readonly batchSize?: number
  /** The store to resolve into (default: a new in-memory store); lets a caller read the profiles afterwards. */
  readonly store?: ProfileStore.ProfileStore["Type"]
  /** Called after every batch. */
  readonly onProgress?: (tick: Tick) => void
}

const UPSERT = 1
const REMOVE = 2

/** Resolves a file of records into living profiles and returns the summary of the run. Fails with a CliError. */
export const resolveFile = async (options: ResolveOptions): Promise<Summary> => {
  const started = performance.now()
  const input = options.input
  const format = Input.formatOf(input)
  const batchSize = options.batchSize ?? defaultBatchSize
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UsageError({ detail: "the batch size must be a positive integer" })
  if (options.mapping !== undefined && format !== "csv") {
    throw new UsageError({
      detail: "--mapping applies to CSV input only (the input file does not end in .csv)"
    })
  }
  checkDistinct(options)

  const config =
    options.store?.config ??
    (typeof options.config === "string"
      ? await loadConfig(options.config)
      : (options.config ?? ResolverConfig.defaults))
  const mapping = options.mapping === undefined ? undefined : await Mapping.load(options.mapping)
  await Input.check(input)
  const store = options.store ?? ProfileStore.makeMemory(config)

  const sinks: Array<Output.Sink> = []
  try {
    let rejectsSink: Output.Sink | undefined
    if (options.rejects !== undefined) {
      rejectsSink = await Output.fileSink(options.rejects)
      sinks.push(rejectsSink)
    }
    const outputs = await Output.openProfileSinks(options, sinks)

    let read = 0
    let accepted = 0
    let rejects = 0
    let deletions = 0
    const totals = { created: 0, updated: 0, unchanged: 0, stale: 0, removed: 0 }
    let upserts: Array<SourceRecord.SourceRecord> = []
    let removes: Array<SourceRecord.RecordRef> = []
    // Which operation each record key has in the pending batch: a store write applies upserts
    // before removals, so a key that changes operation starts a new batch to keep file order.
    let kinds = new Map<string, number>()

    const flush = async () => {
      if (upserts.length === 0 && removes.length === 0) return
      const r = await run(store.write({ upserts, removes, events: false }))
      totals.created += r.created
      totals.updated += r.updated
      totals.unchanged += r.unchanged
      totals.stale += r.stale
      totals.removed += r.removed
      upserts = []
      removes = []
      kinds = new Map()
      options.onProgress?.({ phase: "reading", read, rejects, seconds: (performance.now() - started) / 1000 })
    }

    const items = format === "csv" ? Input.csv(input, mapping, options.mapping) : Input.ndjson(input)
    for await (const item of items) {
      read++
      if (item._tag === "Bad") {
        rejects++
        if (rejectsSink === undefined) throw new InputError({ error: item.error, rejectable: true })
        const e = item.error
        const p = rejectsSink.write(
          `${JSON.stringify({ file: e.file ?? input, line: item.line, field: e.field, problem: e.problem, raw: item.raw })}\n`
        )
        if (p !== undefined) await p
        continue
      }
      accepted++
      const record = item.record
      const key = SourceRecord.recordKey(record)
      const kind = record.deleted === true ? REMOVE : UPSERT
      const pending = kinds.get(key)
      if (pending !== undefined && pending !== kind) await flush()
      kinds.set(key, kind)
      if (kind === REMOVE) {
        deletions++
        removes.push({ source: record.source, id: record.id })
      } else upserts.push(record)
      if (upserts.length + removes.length >= batchSize) await flush()
    }
    await flush()

    if (outputs.profiles !== undefined || outputs.assignments !== undefined) {
      options.onProgress?.({ phase: "writing", read, rejects, seconds: (performance.now() - started) / 1000 })
      await Output.writeProfiles(store.profiles, config, outputs)
    }
    for (const sink of sinks) await sink.commit()

    const stats = await run(store.stats)
    const seconds = (performance.now() - started) / 1000
    return {
      input,
      format,
      read,
      accepted,
      rejects,
      deletions,
      ...totals,
      records: stats.records,
      profiles: stats.profiles,
      merges: stats.merges,
      splits: stats.splits,
      capWarnings: stats.capWarnings,
      seconds,
      recordsPerSecond: seconds > 0 ? read / seconds : 0,
      maxRssBytes: process.resourceUsage().maxRSS * 1024
    }
  } catch (e) {
    for (const sink of sinks) await sink.abort()
    throw e
  }
}

/** Refuses to overwrite the input or to write two outputs to one file. */
const checkDistinct = (options: ResolveOptions): void =>
  Output.checkDistinct(
    [
      ["the input file", options.input],
      ["the --config file", typeof options.config === "string" ? options.config : undefined],
      ["the --mapping file", options.mapping]
    ],
    [
      ["--assignments", options.assignments],
      ["--profiles", options.profiles],
      ["--rejects", options.rejects]
    ]
  )
