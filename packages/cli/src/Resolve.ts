/**
 * `resolve`: stream a file of records into a ProfileStore in batches, then write the living
 * profiles and the record-to-profile assignments. Usable without spawning the command.
 */
import { resolve as resolvePath } from "node:path"
import type { Writable } from "node:stream"
import { IdentityResolver, ProfileStore, ResolverConfig, SourceRecord } from "@living-profile/core"
import { Cause, type Chunk, Effect, Exit, Stream } from "effect"
import { loadConfig } from "./Config.js"
import { InputError, UsageError } from "./ExitCode.js"
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
  /** A resolver config file, or a decoded config; defaults apply otherwise. Ignored when `store` is given. */
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
  const open = async (path: string | undefined): Promise<Output.Sink | undefined> => {
    if (path === undefined) return undefined
    const sink = await Output.fileSink(path)
    sinks.push(sink)
    return sink
  }
  try {
    const rejectsSink = await open(options.rejects)
    const assignmentsSink = await open(options.assignments)
    let profilesSink = await open(options.profiles)
    if (profilesSink === undefined && options.profilesStream !== undefined) {
      profilesSink = Output.streamSink(options.profilesStream)
      sinks.push(profilesSink)
    }

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

    if (profilesSink !== undefined || assignmentsSink !== undefined) {
      options.onProgress?.({ phase: "writing", read, rejects, seconds: (performance.now() - started) / 1000 })
      if (assignmentsSink !== undefined) await assignmentsSink.write(Output.assignmentsHeader)
      const writeChunk = async (chunk: Chunk.Chunk<ProfileStore.StoredProfile>): Promise<void> => {
        for (const stored of chunk) {
          if (profilesSink !== undefined) {
            const p = profilesSink.write(`${JSON.stringify(IdentityResolver.view(stored, config))}\n`)
            if (p !== undefined) await p
          }
          if (assignmentsSink !== undefined) {
            for (const r of stored.records) {
              const p = assignmentsSink.write(Output.assignmentLine(r.source, r.id, stored.profileId))
              if (p !== undefined) await p
            }
          }
        }
      }
      // Chunk by chunk: an async iterator over the stream costs a fiber round trip per profile.
      await run(
        Stream.runForEachChunk(store.profiles, (chunk) =>
          Effect.tryPromise({ try: () => writeChunk(chunk), catch: (e) => e })
        )
      )
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

/** Runs an effect, rejecting with its own failure (not a wrapper) so that typed errors keep their exit codes. */
const run = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

/** Refuses to overwrite the input or to write two outputs to one file. */
const checkDistinct = (options: ResolveOptions): void => {
  const seen = new Map<string, string>([[resolvePath(options.input), "the input file"]])
  const named: Array<[string, string | undefined]> = [
    ["--config", typeof options.config === "string" ? options.config : undefined],
    ["--mapping", options.mapping]
  ]
  for (const [flag, path] of named) if (path !== undefined) seen.set(resolvePath(path), `the ${flag} file`)
  const outputs: Array<[string, string | undefined]> = [
    ["--assignments", options.assignments],
    ["--profiles", options.profiles],
    ["--rejects", options.rejects]
  ]
  for (const [flag, path] of outputs) {
    if (path === undefined) continue
    const full = resolvePath(path)
    const other = seen.get(full)
    if (other !== undefined) throw new UsageError({ detail: `${flag} ${path} would overwrite ${other}` })
    seen.set(full, `the ${flag} file`)
  }
}
