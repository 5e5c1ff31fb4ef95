/**
 * The contract of a consent target (a downstream system that holds consent: a CRM, a newsletter
 * tool, a preference store) and of a record source (a system that only contributes identity
 * records), plus `make` helpers: an author writes the primitives, `make` derives batching,
 * per-item results, the checks every target needs and the error discipline.
 *
 * Rules every target follows (the conformance kit in `@living-profile/testkit` checks them):
 *
 * - **Persons.** A target names a person by its own id, `externalId` (the id the system gave the
 *   person, opaque to us), and may also know them by identifiers (`{ email: [...] }`, the same
 *   shape as `SourceRecord.identifiers`). Pulled changes always carry the externalId, and carry
 *   identifiers when the system has them, so that the sync engine can resolve them to a profile.
 *   A push names the person by a `PersonRef`: the externalId when the engine knows it, else
 *   identifiers of a type the target declares in `capabilities.identifiers`, by which the target
 *   finds the person or creates them (find first: never a second person for the same identifier).
 *   An externalId the system does not know is `NotFound`: the target does not fall back to the
 *   identifiers, since the person may have been erased in that system on purpose.
 * - **Idempotency.** A diff carries target fields and the status each should hold, never a delta,
 *   so applying it twice leaves the same state; a target must not create a second person or a
 *   second subscription when it sees the same diff again. Erasing an erased person is `Absent`.
 * - **Results.** `push` and `erase` return one result per input, in input order. The call fails
 *   as a whole (error channel) only when no item reached the system: then the engine treats every
 *   item as not applied (some may have been; by the rule above that is harmless). Target-wide
 *   failures (RateLimited, Unauthorized) stop a call; the items not attempted are `Failed` with
 *   that error.
 * - **Cursors.** Opaque non-empty strings the engine stores and hands back verbatim. `pull(none)`
 *   starts from the beginning (the system's current state or full history). A page's `cursor`
 *   resumes after that page: pulling from it returns every change made after the page and nothing
 *   new from before it (an unchanged state may be delivered again; the ledger's event ids make
 *   that harmless). Cursors stay valid across restarts of the adapter and can be resumed more
 *   than once (the engine checkpoints after each page and replays a page after a crash).
 *   `hasMore` asks to pull again right away; such a page must move the cursor.
 * - **Order.** Pages follow the order the system recorded changes in; the engine does not rely on
 *   the order within a page (the consent ledger is order-independent).
 * - **Errors.** Operations fail only with `AdapterError` and never throw (see AdapterError.ts for
 *   reasons, retryability and the personal-data rule).
 */
import { Context, Effect, Either, Layer, Option, type ParseResult, Schema, Stream } from "effect"
import * as AdapterError from "./AdapterError.js"
import { type ConsentDiff, type HeldStatus, MappingError, type TargetMapping } from "./ConsentDiff.js"
import { Status } from "./ConsentEvent.js"
import type { EffectiveStatus } from "./ConsentLedger.js"
import { describeIssue, issuePath } from "./internal/parseIssue.js"
import { Instant, SourceRecord } from "./SourceRecord.js"

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "must be a non-empty string" }))

// ---------------------------------------------------------------------------------------------
// Models

/** Identifiers of a person, type to values, as `SourceRecord.identifiers` writes them. */
export const Identifiers = Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) })
/** Identifiers of a person, type to values. */
export type Identifiers = typeof Identifiers.Type

/** How a push, read or erase names a person: the target's own id when known, else identifiers. */
export const PersonRef = Schema.Struct({
  /** The id the target gave the person; when present it wins over identifiers. */
  externalId: Schema.optionalWith(NonEmpty, { exact: true }),
  /** Identifiers the target finds (or, on push, creates) the person by; types from `capabilities.identifiers`. */
  identifiers: Schema.optionalWith(Identifiers, { exact: true })
})
/** How a push, read or erase names a person. */
export interface PersonRef extends Schema.Schema.Type<typeof PersonRef> {}

/** A consent diff addressed to one person in the target: set each change's `field` to its `to`. */
export interface TargetDiff extends ConsentDiff {
  readonly ref: PersonRef
}

/** A diff addressed to a person of the target. */
export const address = (diff: ConsentDiff, ref: PersonRef): TargetDiff => ({ ...diff, ref })

/** A consent state change read from the target: `field` of the person became `status` at `modifiedAt`. */
export const PulledChange = Schema.Struct({
  externalId: NonEmpty,
  /** The person's identifiers as the target holds them, when it has any, for resolution. */
  identifiers: Schema.optionalWith(Identifiers, { exact: true }),
  field: NonEmpty,
  /**
   * What the person said. Held `expired` / `pending` states are the profile's own readings pushed
   * there, not choices of the person, so targets do not report them.
   */
  status: Status,
  /** When the system recorded the change (ISO-8601); the pulled event's `capturedAt`. */
  modifiedAt: Instant,
  /** The policy version the system recorded with the change, when it keeps one. */
  policyVersion: Schema.optionalWith(NonEmpty, { exact: true })
})
/** A consent state change read from the target. */
export interface PulledChange extends Schema.Schema.Type<typeof PulledChange> {}

/** One page of a pull: changes, identity records (deletions as `deleted: true`), the cursor after it. */
export const PullPage = Schema.Struct({
  changes: Schema.Array(PulledChange),
  /** Identity records of persons changed in this page: `source` is the target name, `id` the externalId. */
  records: Schema.optionalWith(Schema.Array(SourceRecord), { default: () => [] }),
  /** Resumes after this page (opaque, non-empty). */
  cursor: NonEmpty,
  /** Whether more changes were waiting when the page was read: pull again from `cursor` right away. */
  hasMore: Schema.Boolean
})
/** One page of a pull. */
export interface PullPage extends Schema.Schema.Type<typeof PullPage> {}
/** A page as a `pullPage` primitive may return it (`records` may be left out). */
export type PullPageInput = Schema.Schema.Encoded<typeof PullPage>

/** One field as the target holds it. */
export interface HeldField {
  readonly status: EffectiveStatus
  /** When the system last changed it (ISO-8601), when it says. */
  readonly modifiedAt?: string
  /** The policy version recorded with it, when the target keeps one. */
  readonly policyVersion?: string
}

/** What the target holds for one person. */
export interface HeldPerson {
  readonly externalId: string
  readonly identifiers: Identifiers
  /** Field name to held state; a field the person never had a state for is absent. */
  readonly fields: ReadonlyMap<string, HeldField>
}

/** The outcome of one pushed diff. */
export type PushResult =
  /** The target holds the diff's statuses; `externalId` names the person there now. */
  | { readonly _tag: "Applied"; readonly externalId: string; readonly modifiedAt?: string }
  /** The target refuses this diff for good (no retry); `reason` names why, without personal data. */
  | { readonly _tag: "Rejected"; readonly reason: string }
  /** It did not go through; retried when `error.isRetryable`, parked otherwise. */
  | { readonly _tag: "Failed"; readonly error: AdapterError.AdapterError }

/** A diff was applied. */
export const applied = (externalId: string, modifiedAt?: string): PushResult =>
  modifiedAt === undefined ? { _tag: "Applied", externalId } : { _tag: "Applied", externalId, modifiedAt }

/** A diff was refused for good. */
export const rejected = (reason: string): PushResult => ({ _tag: "Rejected", reason })

/** An item did not go through. */
export const failed = (
  error: AdapterError.AdapterError
): { readonly _tag: "Failed"; readonly error: AdapterError.AdapterError } => ({
  _tag: "Failed",
  error
})

/** The outcome of erasing one person. */
export type EraseResult =
  /** The person and everything the target held about them are gone. */
  | { readonly _tag: "Erased" }
  /** The target held nothing for this ref (already erased, or never there): the goal state. */
  | { readonly _tag: "Absent" }
  /** It did not go through. */
  | { readonly _tag: "Failed"; readonly error: AdapterError.AdapterError }

/** A person was erased. */
export const erased: EraseResult = { _tag: "Erased" }

/** There was nothing to erase. */
export const absent: EraseResult = { _tag: "Absent" }

/** What a target declares it supports; the sync engine and the conformance kit go by it. */
export interface Capabilities {
  /** Statuses beyond granted / denied it can hold; a mapping's `holds` must stay within them. */
  readonly holds: ReadonlyArray<HeldStatus>
  /** The field names that exist in the system; absent: it accepts any field name. */
  readonly fields?: ReadonlyArray<string>
  /** Identifier types it finds and creates persons by (e.g. `email`); empty: externalIds only. */
  readonly identifiers: ReadonlyArray<string>
  /** It implements `pull`. */
  readonly pull: boolean
  /** It implements `read`. */
  readonly read: boolean
  /** It implements `erase`. */
  readonly erase: boolean
  /** Pull pages carry identity records, deletions included. */
  readonly records: boolean
  /** It keeps the policy version of a change (`because.policyVersion`) and reports it. */
  readonly policyVersion: boolean
  /** Most items one request to the system may carry; `make` splits longer inputs. */
  readonly maxBatchSize: number
  /** Longest string value (identifier, attribute, policy version) it keeps intact; absent: at least 10,000. */
  readonly maxValueLength?: number
}

// ---------------------------------------------------------------------------------------------
// The contracts

/** A consent target: a system that holds consent and that the sync engine keeps in step. */
export interface ConsentTarget {
  /** Unique among targets; equals `mapping.target` and the `source` of its events and records. */
  readonly name: string
  /** What it supports. */
  readonly capabilities: Capabilities
  /** Which consent keys it holds under which field names. */
  readonly mapping: TargetMapping
  /**
   * Sets each diff's fields to their `to` statuses in the system, creating the person when the ref
   * has only identifiers and nobody has them. One result per diff, in input order. Idempotent: the
   * same diff twice leaves the same state and the same person. Diffs for another target, for a
   * field the target lacks or a status it cannot hold are `Rejected` without contacting it; an
   * unknown externalId is `Failed` with `NotFound`. Fails as a whole only when no item reached the
   * system (rate limit, bad credentials, connection lost before anything was applied).
   */
  readonly push: (
    diffs: ReadonlyArray<TargetDiff>
  ) => Effect.Effect<ReadonlyArray<PushResult>, AdapterError.AdapterError>
  /**
   * One page of consent changes (and identity records) recorded after `cursor`; `none` starts from
   * the beginning. Cursors are opaque, resumable and monotonic (see the module comment). Fails with
   * `Invalid` when the target does not support pull or the cursor is not one it issued.
   */
  readonly pull: (cursor: Option.Option<string>) => Effect.Effect<PullPage, AdapterError.AdapterError>
  /**
   * What the target holds for each ref, in input order; `none` for a person it does not know (an
   * unknown ref is not an error). For verification and for seeding known state.
   */
  readonly read: (
    refs: ReadonlyArray<PersonRef>
  ) => Effect.Effect<ReadonlyArray<Option.Option<HeldPerson>>, AdapterError.AdapterError>
  /**
   * Erases each person and everything the target holds about them (GDPR Art. 17): afterwards `read`
   * gives `none` and `pull` never returns their data again (a target with identity records reports
   * a `deleted` record instead). One result per ref; an unknown or already erased person is `Absent`.
   */
  readonly erase: (
    refs: ReadonlyArray<PersonRef>
  ) => Effect.Effect<ReadonlyArray<EraseResult>, AdapterError.AdapterError>
}

/**
 * The tag of the consent target in context: an adapter's `layer` provides it, so that code written
 * against it depends on the contract only. (A tag of its own name, not a value merged with the
 * interface: declaration bundlers drop one half of such a pair.)
 */
export class Tag extends Context.Tag("@living-profile/core/ConsentTarget")<Tag, ConsentTarget>() {}

/** One page of identity records from a record source. */
export const RecordPage = Schema.Struct({
  /** Records changed after the cursor; `source` is the source name; a deletion is `deleted: true`. */
  records: Schema.Array(SourceRecord),
  cursor: NonEmpty,
  hasMore: Schema.Boolean
})
/** One page of identity records. */
export interface RecordPage extends Schema.Schema.Type<typeof RecordPage> {}

/** A system that only contributes identity records (a shop, a support desk). */
export interface RecordSource {
  /** Unique among sources and targets; the `source` of its records. */
  readonly name: string
  /** One page of records changed after `cursor` (deletions included); cursor rules as for targets. */
  readonly pull: (cursor: Option.Option<string>) => Effect.Effect<RecordPage, AdapterError.AdapterError>
}

/** The tag of the record source in context. */
export class RecordSourceTag extends Context.Tag("@living-profile/core/RecordSource")<
  RecordSourceTag,
  RecordSource
>() {}

// ---------------------------------------------------------------------------------------------
// make

/** What an author declares; `make` fills in the rest (pull, read, erase from the primitives given). */
export interface DeclaredCapabilities {
  /** Default: none beyond granted / denied. */
  readonly holds?: ReadonlyArray<HeldStatus>
  /** Default: any field name. */
  readonly fields?: ReadonlyArray<string>
  /** Default: none (externalIds only). */
  readonly identifiers?: ReadonlyArray<string>
  /** Default false. */
  readonly records?: boolean
  /** Default false. */
  readonly policyVersion?: boolean
  /** Default 100. */
  readonly maxBatchSize?: number
  /** Default: not declared (at least 10,000). */
  readonly maxValueLength?: number
}

/** Pushes one diff (make calls it once per item, in order). */
export type PushOne = (diff: TargetDiff) => Effect.Effect<PushResult, AdapterError.AdapterError>
/** Pushes at most `maxBatchSize` diffs in one request, one result each in order. */
export type PushBatch = (
  diffs: ReadonlyArray<TargetDiff>
) => Effect.Effect<ReadonlyArray<PushResult>, AdapterError.AdapterError>

/** The primitives shared by every kind of target. */
export interface BasePrimitives {
  readonly name: string
  readonly mapping: TargetMapping
  readonly capabilities?: DeclaredCapabilities
  /** One page after the cursor. */
  readonly pullPage?: (
    cursor: Option.Option<string>
  ) => Effect.Effect<PullPageInput, AdapterError.AdapterError>
  /** Reads one person; failing with NotFound reads as `none`. */
  readonly readOne?: (ref: PersonRef) => Effect.Effect<Option.Option<HeldPerson>, AdapterError.AdapterError>
  /** Reads at most `maxBatchSize` persons (wins over readOne). */
  readonly readBatch?: (
    refs: ReadonlyArray<PersonRef>
  ) => Effect.Effect<ReadonlyArray<Option.Option<HeldPerson>>, AdapterError.AdapterError>
  /** Erases one person; failing with NotFound reads as `Absent`. */
  readonly eraseOne?: (ref: PersonRef) => Effect.Effect<EraseResult, AdapterError.AdapterError>
  /** Erases at most `maxBatchSize` persons (wins over eraseOne). */
  readonly eraseBatch?: (
    refs: ReadonlyArray<PersonRef>
  ) => Effect.Effect<ReadonlyArray<EraseResult>, AdapterError.AdapterError>
}

/** What an author writes: the base primitives and exactly one of `pushOne` / `pushBatch`. */
export type Primitives = BasePrimitives &
  (
    | { readonly pushOne: PushOne; readonly pushBatch?: never }
    | { readonly pushBatch: PushBatch; readonly pushOne?: never }
  )

const BASE_STATUSES: ReadonlySet<EffectiveStatus> = new Set<EffectiveStatus>(["granted", "denied"])

const withOperation = (
  e: AdapterError.AdapterError,
  operation: AdapterError.Operation
): AdapterError.AdapterError =>
  e.operation !== undefined
    ? e
    : new AdapterError.AdapterError({
        reason: e.reason,
        target: e.target,
        detail: e.detail,
        operation,
        retryAfter: e.retryAfter,
        code: e.code
      })

/**
 * Runs a primitive so that nothing but an AdapterError escapes: synchronous throws, defects and
 * (despite the types) foreign failures all become `Unknown`; interruption still interrupts.
 */
const guard = <A>(
  target: string,
  operation: AdapterError.Operation,
  run: () => Effect.Effect<A, AdapterError.AdapterError>
): Effect.Effect<A, AdapterError.AdapterError> =>
  Effect.suspend(run).pipe(
    Effect.catchAllDefect((defect) => Effect.fail(AdapterError.fromUnknown(target, operation, defect))),
    Effect.mapError((e: unknown) => withOperation(AdapterError.fromUnknown(target, operation, e), operation))
  )

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

type Failed = { readonly _tag: "Failed"; readonly error: AdapterError.AdapterError }

interface ItemRun<I, O extends { readonly _tag: string }> {
  readonly target: string
  readonly operation: AdapterError.Operation
  readonly items: ReadonlyArray<I>
  readonly batchSize: number
  /** A result decided without contacting the system. */
  readonly precheck: (item: I) => O | undefined
  readonly batch?:
    | ((chunk: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, AdapterError.AdapterError>)
    | undefined
  readonly one?: ((item: I) => Effect.Effect<O, AdapterError.AdapterError>) | undefined
  /** The result of a per-item error from `one` (NotFound may mean Absent). */
  readonly onItemError: (e: AdapterError.AdapterError) => O | Failed
  /** A result as returned, or undefined when malformed. */
  readonly check: (u: unknown) => O | undefined
}

/**
 * The per-item discipline shared by push and erase: prechecks, splitting to the batch size,
 * results in input order, stopping at a target-wide failure, and failing the whole call only when
 * nothing reached the system.
 */
const runItems = <I, O extends { readonly _tag: string }>(
  run: ItemRun<I, O>
): Effect.Effect<ReadonlyArray<O | Failed>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const { target, operation, items } = run
    const results: Array<O | Failed | undefined> = new Array(items.length)
    const pending: Array<number> = []
    for (let i = 0; i < items.length; i++) {
      const decided = run.precheck(items[i]!)
      if (decided === undefined) pending.push(i)
      else results[i] = decided
    }
    const malformed = (what: string): Failed =>
      failed(AdapterError.unknown(target, `${operation} returned ${what}`, { operation }))
    // Whether the system answered for at least one item: from then on a failure is reported per
    // item, so that what was applied is not forgotten.
    let reached = false
    let stop: AdapterError.AdapterError | undefined
    if (run.batch !== undefined) {
      const batch = run.batch
      for (const chunk of chunksOf(pending, run.batchSize)) {
        if (stop !== undefined) {
          for (const i of chunk) results[i] = failed(stop)
          continue
        }
        const outcome = yield* Effect.either(
          guard(target, operation, () => batch(chunk.map((i) => items[i]!)))
        )
        if (Either.isLeft(outcome)) {
          if (!reached) return yield* Effect.fail(outcome.left)
          stop = outcome.left
          for (const i of chunk) results[i] = failed(stop)
          continue
        }
        const got = outcome.right
        if (!Array.isArray(got) || got.length !== chunk.length) {
          const e = AdapterError.unknown(
            target,
            `${operation} returned ${Array.isArray(got) ? got.length : "no"} results for ${chunk.length} items`,
            { operation }
          )
          if (!reached) return yield* Effect.fail(e)
          stop = e
          for (const i of chunk) results[i] = failed(e)
          continue
        }
        reached = true
        for (let k = 0; k < chunk.length; k++) {
          const value: unknown = got[k]
          const r = run.check(value)
          results[chunk[k]!] = r ?? malformed(`a malformed result at position ${k}`)
        }
      }
    } else if (run.one !== undefined) {
      const one = run.one
      for (const i of pending) {
        if (stop !== undefined) {
          results[i] = failed(stop)
          continue
        }
        const outcome = yield* Effect.either(guard(target, operation, () => one(items[i]!)))
        if (Either.isLeft(outcome)) {
          const e = outcome.left
          if (e.isTargetWide) {
            if (!reached) return yield* Effect.fail(e)
            stop = e
            results[i] = failed(e)
          } else {
            reached = true
            results[i] = run.onItemError(e)
          }
          continue
        }
        reached = true
        results[i] = run.check(outcome.right) ?? malformed("a malformed result")
      }
    }
    const out = results as Array<O | Failed>
    // A batch primitive may report a rate limit per item: a call in which every item failed for a
    // target-wide reason is a failed call, which is the one place the engine backs off from.
    if (out.length > 0) {
      let wide: AdapterError.AdapterError | undefined
      let all = true
      for (const r of out) {
        if (r._tag === "Failed" && (r as Failed).error.isTargetWide) wide ??= (r as Failed).error
        else all = false
      }
      if (all && wide !== undefined) return yield* Effect.fail(wide)
    }
    return out
  })

const checkPush = (u: unknown): PushResult | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const r = u as {
    _tag?: unknown
    externalId?: unknown
    reason?: unknown
    error?: unknown
    modifiedAt?: unknown
  }
  switch (r._tag) {
    case "Applied":
      return typeof r.externalId === "string" &&
        r.externalId.length > 0 &&
        (r.modifiedAt === undefined || typeof r.modifiedAt === "string")
        ? (u as PushResult)
        : undefined
    case "Rejected":
      return typeof r.reason === "string" ? (u as PushResult) : undefined
    case "Failed":
      return AdapterError.isAdapterError(r.error) ? (u as PushResult) : undefined
    default:
      return undefined
  }
}

const checkErase = (u: unknown): EraseResult | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const r = u as { _tag?: unknown; error?: unknown }
  if (r._tag === "Erased" || r._tag === "Absent") return u as EraseResult
  if (r._tag === "Failed" && AdapterError.isAdapterError(r.error)) return u as EraseResult
  return undefined
}

const decodePullPage = Schema.decodeUnknownEither(PullPage, { errors: "first" })
const decodeRecordPage = Schema.decodeUnknownEither(RecordPage, { errors: "first" })

/** Checks a page a primitive returned; the error names where it is malformed, never a value. */
const checkPage = <
  P extends {
    readonly cursor: string
    readonly hasMore: boolean
    readonly records: ReadonlyArray<SourceRecord>
  }
>(
  name: string,
  decoded: Either.Either<P, ParseResult.ParseError>,
  cursor: Option.Option<string>
): Effect.Effect<P, AdapterError.AdapterError> => {
  const bad = (what: string) =>
    Effect.fail(AdapterError.unknown(name, `pull returned a malformed page: ${what}`, { operation: "pull" }))
  if (Either.isLeft(decoded)) {
    const path = issuePath(decoded.left.issue)
    return bad(`${path === "" ? "(page)" : path} ${describeIssue(decoded.left.issue)}`)
  }
  const page = decoded.right
  for (let i = 0; i < page.records.length; i++)
    if (page.records[i]!.source !== name) return bad(`records.${i}.source must be the target name`)
  if (page.hasMore && Option.isSome(cursor) && page.cursor === cursor.value)
    return bad("hasMore is true but the cursor did not move")
  return Effect.succeed(page)
}

const identifierTypes = (ref: PersonRef, declared: ReadonlyArray<string>): boolean => {
  const ids = ref.identifiers
  if (ids === undefined) return false
  for (const t of declared) if ((ids[t]?.length ?? 0) > 0) return true
  return false
}

/** A consent target from its primitives: batching, per-item results, checks and error discipline derived. */
export const make = (primitives: Primitives): ConsentTarget => {
  const { name, mapping } = primitives
  const declared = primitives.capabilities ?? {}
  const capabilities: Capabilities = {
    holds: declared.holds ?? [],
    ...(declared.fields === undefined ? {} : { fields: declared.fields }),
    identifiers: declared.identifiers ?? [],
    pull: primitives.pullPage !== undefined,
    read: primitives.readBatch !== undefined || primitives.readOne !== undefined,
    erase: primitives.eraseBatch !== undefined || primitives.eraseOne !== undefined,
    records: declared.records ?? false,
    policyVersion: declared.policyVersion ?? false,
    maxBatchSize: Math.max(1, Math.floor(declared.maxBatchSize ?? 100)),
    ...(declared.maxValueLength === undefined ? {} : { maxValueLength: declared.maxValueLength })
  }
  const batchSize = capabilities.maxBatchSize
  const fields = capabilities.fields === undefined ? undefined : new Set(capabilities.fields)
  const holdable = new Set<EffectiveStatus>([...BASE_STATUSES, ...capabilities.holds])
  const unsupported = (operation: AdapterError.Operation) =>
    Effect.fail(AdapterError.invalid(name, `${operation} is not supported by this target`, { operation }))

  const names = (ref: PersonRef | undefined): boolean =>
    ref !== undefined &&
    ((typeof ref.externalId === "string" && ref.externalId.length > 0) ||
      identifierTypes(ref, capabilities.identifiers))

  const precheckPush = (d: TargetDiff): PushResult | undefined => {
    if (d.target !== name) return rejected(`the diff is addressed to target "${d.target}"`)
    if (!names(d.ref)) {
      return rejected(
        capabilities.identifiers.length === 0
          ? "the ref has no externalId"
          : `the ref has no externalId and no identifier of type ${capabilities.identifiers.join(", ")}`
      )
    }
    for (const c of d.changes) {
      if (fields !== undefined && !fields.has(c.field))
        return rejected(`field "${c.field}" does not exist in the target`)
      if (!holdable.has(c.to)) return rejected(`field "${c.field}" cannot hold ${c.to}`)
    }
    return undefined
  }

  const push: ConsentTarget["push"] = (diffs) =>
    runItems<TargetDiff, PushResult>({
      target: name,
      operation: "push",
      items: diffs,
      batchSize,
      precheck: precheckPush,
      batch: primitives.pushBatch,
      one: primitives.pushOne,
      onItemError: failed,
      check: checkPush
    })

  const pullPage = primitives.pullPage
  const pull: ConsentTarget["pull"] =
    pullPage === undefined
      ? () => unsupported("pull")
      : (cursor) =>
          guard(name, "pull", () => pullPage(cursor)).pipe(
            Effect.flatMap((raw) => checkPage(name, decodePullPage(raw), cursor))
          )

  const readBatch = primitives.readBatch
  const readOne = primitives.readOne
  const read: ConsentTarget["read"] =
    readBatch === undefined && readOne === undefined
      ? () => unsupported("read")
      : (refs) =>
          Effect.gen(function* () {
            const out: Array<Option.Option<HeldPerson>> = new Array(refs.length)
            const pending: Array<number> = []
            // A ref that names nobody cannot be held by anybody: none, without asking.
            for (let i = 0; i < refs.length; i++) {
              if (names(refs[i])) pending.push(i)
              else out[i] = Option.none()
            }
            for (const chunk of chunksOf(pending, batchSize)) {
              const chunkRefs = chunk.map((i) => refs[i]!)
              const got: ReadonlyArray<unknown> =
                readBatch !== undefined
                  ? yield* guard(name, "read", () => readBatch(chunkRefs))
                  : yield* Effect.forEach(chunkRefs, (ref) =>
                      guard(name, "read", () => readOne!(ref)).pipe(
                        Effect.catchIf(
                          (e) => e.reason === "NotFound",
                          () => Effect.succeed(Option.none<HeldPerson>())
                        )
                      )
                    )
              if (!Array.isArray(got) || got.length !== chunk.length) {
                return yield* Effect.fail(
                  AdapterError.unknown(
                    name,
                    `read returned a wrong number of results for ${chunk.length} refs`,
                    {
                      operation: "read"
                    }
                  )
                )
              }
              for (let k = 0; k < chunk.length; k++) {
                const value: unknown = got[k]
                if (!Option.isOption(value)) {
                  return yield* Effect.fail(
                    AdapterError.unknown(name, `read returned a malformed result at position ${k}`, {
                      operation: "read"
                    })
                  )
                }
                out[chunk[k]!] = value as Option.Option<HeldPerson>
              }
            }
            return out
          })

  const eraseBatch = primitives.eraseBatch
  const eraseOne = primitives.eraseOne
  const erase: ConsentTarget["erase"] =
    eraseBatch === undefined && eraseOne === undefined
      ? () => unsupported("erase")
      : (refs) =>
          runItems<PersonRef, EraseResult>({
            target: name,
            operation: "erase",
            items: refs,
            batchSize,
            precheck: (ref) => (names(ref) ? undefined : absent),
            batch: eraseBatch,
            one: eraseOne,
            onItemError: (e) => (e.reason === "NotFound" ? absent : failed(e)),
            check: checkErase
          })

  return { name, capabilities, mapping, push, pull, read, erase }
}

/** A layer providing the consent target tag with a target made from primitives. */
export const layer = (primitives: Primitives): Layer.Layer<Tag> => Layer.sync(Tag, () => make(primitives))

/** The primitives of a record source. */
export interface RecordSourcePrimitives {
  readonly name: string
  /** One page after the cursor. */
  readonly pullPage: (
    cursor: Option.Option<string>
  ) => Effect.Effect<Schema.Schema.Encoded<typeof RecordPage>, AdapterError.AdapterError>
}

/** A record source from its primitive, with the same page checks and error discipline as targets. */
export const makeRecordSource = (primitives: RecordSourcePrimitives): RecordSource => {
  const { name, pullPage } = primitives
  return {
    name,
    pull: (cursor) =>
      guard(name, "pull", () => pullPage(cursor)).pipe(
        Effect.flatMap((raw) => checkPage(name, decodeRecordPage(raw), cursor))
      )
  }
}

// ---------------------------------------------------------------------------------------------
// Combinators

/**
 * The pages after `from`, pulled one after another until one says `hasMore: false`. The engine
 * processes and checkpoints each page's cursor before the next is pulled.
 */
export const pages = <P extends { readonly cursor: string; readonly hasMore: boolean }, E, R>(
  pull: (cursor: Option.Option<string>) => Effect.Effect<P, E, R>,
  from: Option.Option<string>
): Stream.Stream<P, E, R> =>
  Stream.paginateEffect(from, (cursor) =>
    Effect.map(
      pull(cursor),
      (page) => [page, page.hasMore ? Option.some(Option.some(page.cursor)) : Option.none()] as const
    )
  )

/** Everything after `from` in one value, and the cursor to resume from (tests and small targets). */
export const pullAll = (
  target: Pick<ConsentTarget, "pull">,
  from: Option.Option<string>
): Effect.Effect<
  { readonly changes: Array<PulledChange>; readonly records: Array<SourceRecord>; readonly cursor: string },
  AdapterError.AdapterError
> =>
  Stream.runFold(
    pages(target.pull, from),
    { changes: [] as Array<PulledChange>, records: [] as Array<SourceRecord>, cursor: "" },
    (acc, page) => {
      for (const c of page.changes) acc.changes.push(c)
      for (const r of page.records) acc.records.push(r)
      acc.cursor = page.cursor
      return acc
    }
  )

/**
 * Whether a target's mapping fits the target: it names the target, maps only fields the target
 * declares, and asks it to hold only statuses it declares.
 */
export const checkMapping = (
  target: Pick<ConsentTarget, "name" | "mapping" | "capabilities">
): Either.Either<TargetMapping, MappingError> => {
  const { name, mapping, capabilities } = target
  if (mapping.target !== name)
    return Either.left(
      new MappingError({ target: name, problem: `has a mapping for target "${mapping.target}"` })
    )
  const declared = capabilities.fields === undefined ? undefined : new Set(capabilities.fields)
  const holdable = new Set<string>(capabilities.holds)
  for (const s of mapping.holds ?? [])
    if (!holdable.has(s)) return Either.left(new MappingError({ target: name, problem: `cannot hold ${s}` }))
  for (const k of mapping.keys) {
    if (declared !== undefined && !declared.has(k.field))
      return Either.left(
        new MappingError({ target: name, field: k.field, problem: "does not exist in the target" })
      )
    for (const s of k.holds ?? [])
      if (!holdable.has(s))
        return Either.left(new MappingError({ target: name, field: k.field, problem: `cannot hold ${s}` }))
  }
  return Either.right(mapping)
}
