/**
 * `sync`: keep consent targets and living profiles in step from a JSON config file (the targets,
 * their adapter options, the resolver config, the poll interval). Targets are built by adapter
 * kind through a small registry (`memory`, `salesforce`, `hubspot`), where a kind adds itself with
 * one line; adapter packages are loaded only when a config names their kind. Reports go
 * to stdout as JSON lines carrying ids, field names, statuses and reasons, never personal data.
 */
import { dirname, resolve as resolvePath } from "node:path"
import type { Writable } from "node:stream"
import {
  ConsentDiff,
  type ConsentTarget,
  IdentityResolver,
  MemoryTarget,
  type Outbox,
  ProfileStore,
  ResolverConfig,
  SyncEngine,
  SyncStore
} from "@living-profile/core"
import { Cause, Effect, Either, Exit, Fiber, Schema, Scope, Stream } from "effect"
import {
  type AdapterContext,
  type AdapterKind,
  DurationText,
  decodeOptions,
  describe,
  NonEmpty,
  PositiveInt,
  toDuration
} from "./AdapterKind.js"
import { readJsonFile } from "./Config.js"
import { ConfigInvalid } from "./ExitCode.js"
import * as HubSpotKind from "./HubSpotKind.js"
import { resolveFile } from "./Resolve.js"
import * as SalesforceKind from "./SalesforceKind.js"

export { type AdapterContext, type AdapterKind, DurationText, decodeOptions } from "./AdapterKind.js"

// ---------------------------------------------------------------------------------------------
// The config file

/** One target of the config. */
export const TargetEntry = Schema.Struct({
  /** Unique; the target's name in reports, events and records. */
  name: NonEmpty,
  /** The adapter kind (a key of `adapters`). */
  kind: NonEmpty,
  /** The adapter's options, checked by the adapter. */
  options: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true }),
  /** A token bucket for the target's calls. */
  rateLimit: Schema.optionalWith(Schema.Struct({ requests: PositiveInt, per: DurationText }), {
    exact: true
  }),
  /** Batches in flight to the target at once (default 1). */
  concurrency: Schema.optionalWith(PositiveInt, { exact: true })
})
/** One target of the config. */
export type TargetEntry = typeof TargetEntry.Type

/** The sync config file. */
export const SyncConfig = Schema.Struct({
  targets: Schema.Array(TargetEntry).pipe(Schema.minItems(1)),
  /** A resolver config file (relative to the config file) or an inline resolver config. */
  resolver: Schema.optionalWith(
    Schema.Union(NonEmpty, Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    { exact: true }
  ),
  /** A file of records (NDJSON, or CSV by its extension) resolved into profiles before the first cycle. */
  records: Schema.optionalWith(NonEmpty, { exact: true }),
  /** Wait between cycles without `--once` (default 30 seconds). */
  pollInterval: Schema.optionalWith(DurationText, { exact: true }),
  /** The retry policy of failed items. */
  retry: Schema.optionalWith(
    Schema.Struct({
      maxAttempts: Schema.optionalWith(PositiveInt, { exact: true }),
      base: Schema.optionalWith(DurationText, { exact: true }),
      factor: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { exact: true }),
      maxDelay: Schema.optionalWith(DurationText, { exact: true }),
      jitter: Schema.optionalWith(Schema.Boolean, { exact: true })
    }),
    { exact: true }
  ),
  /** `all` (default) diffs every profile each cycle; `dirty` only those touched by pulls. */
  scan: Schema.optionalWith(Schema.Literal("all", "dirty"), { exact: true })
})
/** The sync config file, decoded. */
export type SyncConfig = typeof SyncConfig.Type

// ---------------------------------------------------------------------------------------------
// Adapters

const Status = Schema.Literal("granted", "denied", "withdrawn")

/** The options of the `memory` kind. */
export const MemoryOptions = Schema.Struct({
  /** Most items per request (default 25). */
  maxBatchSize: Schema.optionalWith(PositiveInt, { exact: true }),
  /** Changes per pull page (default 50). */
  pageSize: Schema.optionalWith(PositiveInt, { exact: true }),
  /** Identifier types persons are found and created by (default ["email"]). */
  identifiers: Schema.optionalWith(Schema.Array(NonEmpty), { exact: true }),
  /** Statuses beyond granted / denied it holds (default ["withdrawn"]). */
  holds: Schema.optionalWith(Schema.Array(Schema.Literal("withdrawn", "expired", "pending")), {
    exact: true
  }),
  /** A mapping (`{ target, keys: [{ purpose, channel, field }], holds? }`); default: newsletter, sms-offers, profiling. */
  mapping: Schema.optionalWith(Schema.Unknown, { exact: true }),
  /** Persons the system holds at start, as someone using it would have created them. */
  seed: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({
        identifiers: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }),
        attributes: Schema.optionalWith(
          Schema.Record({
            key: Schema.String,
            value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean, Schema.Null)
          }),
          { exact: true }
        ),
        /** Field name to status. */
        fields: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Status }), { exact: true })
      })
    ),
    { exact: true }
  )
})

const loadMemory = async (context: AdapterContext): Promise<ConsentTarget.ConsentTarget> => {
  const options = decodeOptions(MemoryOptions, context)
  let mapping: ConsentDiff.TargetMapping | undefined
  if (options.mapping !== undefined) {
    const decoded = ConsentDiff.decodeMapping(options.mapping)
    if (Either.isLeft(decoded))
      throw new ConfigInvalid({
        file: context.file,
        detail: `${context.path}.mapping ${decoded.left.problem}`
      })
    mapping = decoded.right
  }
  const memory = MemoryTarget.make({
    name: context.name,
    ...(mapping === undefined ? {} : { mapping }),
    ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    ...(options.identifiers === undefined ? {} : { identifiers: options.identifiers }),
    ...(options.holds === undefined ? {} : { holds: options.holds })
  })
  const fields = new Set((mapping ?? MemoryTarget.defaultMapping(context.name)).keys.map((k) => k.field))
  for (const [i, person] of (options.seed ?? []).entries())
    for (const field of Object.keys(person.fields ?? {}))
      if (!fields.has(field))
        throw new ConfigInvalid({
          file: context.file,
          detail: `${context.path}.seed.${i}.fields: "${field}" is not a field of the mapping`
        })
  await Effect.runPromise(
    Effect.forEach(
      options.seed ?? [],
      (person) =>
        Effect.gen(function* () {
          const id = yield* memory.backdoor.create({
            identifiers: person.identifiers,
            ...(person.attributes === undefined ? {} : { attributes: person.attributes })
          })
          for (const [field, status] of Object.entries(person.fields ?? {}))
            yield* memory.backdoor.write(id, field, status)
        }),
      { discard: true }
    )
  )
  return memory.target
}

/**
 * The adapter kinds `sync` knows, by the `kind` of a target entry. A kind is one line here and a
 * module of its own (`SalesforceKind.ts`) that loads its adapter package lazily.
 */
export const adapters: Readonly<Record<string, AdapterKind>> = {
  memory: {
    description: "the in-memory reference target (for trying sync out and for tests)",
    load: loadMemory
  },
  salesforce: SalesforceKind.kind,
  hubspot: HubSpotKind.kind
}

// ---------------------------------------------------------------------------------------------
// Running

/** Options of a `sync` run. */
export interface SyncOptions {
  /** The sync config file. */
  readonly config: string
  /** One cycle (retrying until every item is done or parked), then return. */
  readonly once: boolean
  /** Report the diffs, push nothing, move no cursor. */
  readonly dryRun: boolean
  /** Where the JSON lines go. */
  readonly out: Writable
  /** Continuous mode stops when this resolves (the command passes SIGINT / SIGTERM). */
  readonly stop?: Promise<void>
  /** Where the targets' secrets are read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** Loads and checks a sync config file; errors name the field, never a value. */
export const loadSyncConfig = async (file: string): Promise<SyncConfig> => {
  const json = await readJsonFile(file)
  const decoded = Schema.decodeUnknownEither(SyncConfig, { onExcessProperty: "error", errors: "all" })(json)
  if (Either.isLeft(decoded)) throw new ConfigInvalid({ file, detail: describe(decoded.left) })
  const config = decoded.right
  const names = new Set<string>()
  for (const [i, t] of config.targets.entries()) {
    if (names.has(t.name))
      throw new ConfigInvalid({ file, detail: `targets.${i}.name: "${t.name}" names two targets` })
    names.add(t.name)
    if (!Object.hasOwn(adapters, t.kind))
      throw new ConfigInvalid({
        file,
        detail: `targets.${i}.kind: unknown adapter kind "${t.kind}" (known: ${Object.keys(adapters).join(", ")})`
      })
  }
  return config
}

const line = (out: Writable, type: string, value: object) =>
  out.write(`${JSON.stringify({ type, ...value })}\n`)

/** Writes a cycle's report as JSON lines: pulls, conflicts, diffs, outcomes, then a `cycle` summary. */
export const writeReport = (out: Writable, report: SyncEngine.CycleReport): void => {
  for (const p of report.pulls) line(out, "pull", p)
  for (const c of report.conflicts) line(out, "conflict", c)
  for (const d of report.diffs) line(out, "diff", d)
  for (const o of report.outcomes) line(out, "outcome", o)
  line(out, "cycle", {
    dryRun: report.dryRun,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    changes: report.pulls.reduce((n, p) => n + p.changes, 0),
    diffs: report.diffs.length,
    applied: report.outcomes.filter((o) => o.outcome === "applied" || o.outcome === "erased").length,
    parked: report.outcomes.filter((o) => o.outcome === "parked").length,
    pending: report.pending,
    deadLetters: report.deadLetters,
    lagMillis: report.lagMillis
  })
}

/** Writes dead letters as `deadLetter` lines (the item's ids and reason, not its diff's refs). */
export const writeDeadLetters = (out: Writable, letters: ReadonlyArray<Outbox.DeadLetter>): void => {
  for (const l of letters)
    line(out, "deadLetter", {
      itemId: l.item.id,
      kind: l.item._tag,
      target: l.item.target,
      profileId: l.item.profileId,
      attempts: l.item.attempts,
      reason: l.failure.reason,
      detail: l.failure.detail,
      parkedAt: new Date(l.parkedAt).toISOString()
    })
}

const run = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

/** Runs `sync`: loads the config and the targets, then one cycle or cycles until `stop`. */
export const syncFile = async (options: SyncOptions): Promise<void> => {
  // Sessions the targets open (a Salesforce login) belong to the run and end with it.
  const scope = Effect.runSync(Scope.make())
  try {
    await runSync(options, scope)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const runSync = async (options: SyncOptions, scope: Scope.Scope): Promise<void> => {
  const file = options.config
  const dir = dirname(resolvePath(file))
  const config = await loadSyncConfig(file)

  let resolverConfig = ResolverConfig.defaults
  if (config.resolver !== undefined) {
    const source = typeof config.resolver === "string" ? resolvePath(dir, config.resolver) : file
    const json = typeof config.resolver === "string" ? await readJsonFile(source) : config.resolver
    const decoded = ResolverConfig.decode(json, source)
    if (Either.isLeft(decoded))
      throw new ConfigInvalid({
        file: source,
        detail: typeof config.resolver === "string" ? decoded.left.detail : `resolver: ${decoded.left.detail}`
      })
    resolverConfig = decoded.right
  }

  // The targets first: a wrong option or a missing secret fails before any records are read.
  const targets: Array<SyncEngine.TargetOptions> = []
  for (const [i, entry] of config.targets.entries()) {
    const target = await adapters[entry.kind]!.load({
      name: entry.name,
      options: entry.options ?? {},
      file,
      path: `targets.${i}.options`,
      dir,
      env: options.env ?? process.env,
      scope
    })
    targets.push({
      target,
      ...(entry.rateLimit === undefined
        ? {}
        : { rateLimit: { requests: entry.rateLimit.requests, per: toDuration(entry.rateLimit.per) } }),
      ...(entry.concurrency === undefined ? {} : { concurrency: entry.concurrency })
    })
  }
  const store = ProfileStore.makeMemory(resolverConfig)
  if (config.records !== undefined) await resolveFile({ input: resolvePath(dir, config.records), store })
  const r = config.retry
  const retry: Outbox.RetryOptions = {
    ...(r?.maxAttempts === undefined ? {} : { maxAttempts: r.maxAttempts }),
    ...(r?.base === undefined ? {} : { base: toDuration(r.base) }),
    ...(r?.factor === undefined ? {} : { factor: r.factor }),
    ...(r?.maxDelay === undefined ? {} : { maxDelay: toDuration(r.maxDelay) }),
    ...(r?.jitter === undefined ? {} : { jitter: r.jitter })
  }
  const resolver = await run(
    IdentityResolver.make.pipe(Effect.provideService(ProfileStore.ProfileStore, store))
  )
  const made = await Effect.runPromise(
    Effect.either(
      SyncEngine.make({
        targets,
        retry,
        ...(config.scan === undefined ? {} : { scan: config.scan }),
        ...(config.pollInterval === undefined ? {} : { pollInterval: toDuration(config.pollInterval) })
      }).pipe(
        Effect.provideService(SyncStore.SyncStore, SyncStore.makeMemory()),
        Effect.provideService(ProfileStore.ProfileStore, store),
        Effect.provideService(IdentityResolver.IdentityResolver, resolver)
      )
    )
  )
  if (Either.isLeft(made)) throw new ConfigInvalid({ file, detail: made.left.message })
  const engine = made.right
  const out = options.out

  if (options.once) {
    writeReport(out, await run(engine.runOnce({ dryRun: options.dryRun })))
  } else {
    const fiber = Effect.runFork(
      Stream.runForEach(engine.cycles({ dryRun: options.dryRun }), (report) =>
        Effect.sync(() => writeReport(out, report))
      )
    )
    // Interruption lets the batch in flight finish its acknowledgements (or be abandoned, its
    // items staying in the outbox), then the stream ends.
    void options.stop?.then(() => Effect.runFork(Fiber.interrupt(fiber)))
    const exit = await Effect.runPromise(Fiber.await(fiber))
    if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) throw Cause.squash(exit.cause)
  }
  writeDeadLetters(out, await run(engine.deadLetters))
}
