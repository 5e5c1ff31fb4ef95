/**
 * The durable outbox of the sync engine: every change the engine sends to a target is first
 * recorded here as an item, then pushed, then marked done when the target acknowledges it. An
 * item that fails is retried at its `nextAttemptAt`; one that keeps failing, or that the target
 * refuses for good, is parked as a dead letter with its reason. Because the item is recorded
 * before the push and removed only after the acknowledgement, a crash at any point leaves either
 * the item (pushed again: harmless, a diff carries end states) or its effect, never neither.
 *
 * This module is the model and its pure rules (ids, superseding, retry decisions, the wire
 * format); the SyncStore keeps the items, the SyncEngine drives them.
 *
 * Items hold what a push needs, which may include a person's identifiers (when the target does
 * not know the person's externalId yet). Ids, failures and dead-letter reasons never do: they are
 * built from profile ids, field names, statuses and adapter reasons only, so they can be logged.
 */
import { Duration, Effect, type Either, Option, type ParseResult, Schedule, Schema } from "effect"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type * as AdapterError from "./AdapterError.js"
import { canonicalJson, LegalBasis, sha256 } from "./ConsentEvent.js"
import { PersonRef, type TargetDiff } from "./ConsentTarget.js"

// ---------------------------------------------------------------------------------------------
// Models

/** The statuses a target can hold (ConsentLedger.EffectiveStatus as a schema). */
export const EffectiveStatus = Schema.Literal("granted", "denied", "withdrawn", "expired", "pending")

/** Schema of the effective state a change is made because of (ConsentLedger.Effective). */
export const Effective = Schema.Struct({
  status: EffectiveStatus,
  capturedAt: Schema.String,
  source: Schema.String,
  eventId: Schema.String,
  legalBasis: LegalBasis,
  policyVersion: Schema.optionalWith(Schema.String, { exact: true })
})

/** Schema of one change of a diff (ConsentDiff.Change). */
export const Change = Schema.Struct({
  key: Schema.String,
  field: Schema.String,
  from: Schema.NullOr(EffectiveStatus),
  to: EffectiveStatus,
  because: Effective
})

/** Schema of a diff addressed to a person of a target (ConsentTarget.TargetDiff). */
export const Diff = Schema.Struct({
  profileId: Schema.String,
  target: Schema.String,
  changes: Schema.mutable(Schema.Array(Change)),
  ref: PersonRef
})

/** Why an item failed or was parked: a reason and a detail without personal data. */
export const Failure = Schema.Struct({
  /** An adapter reason, `Rejected` (the target refused the item for good) or `Unsupported`. */
  reason: Schema.Literal(
    "RateLimited",
    "Unauthorized",
    "NotFound",
    "Conflict",
    "Invalid",
    "Transport",
    "Unknown",
    "Rejected",
    "Unsupported"
  ),
  detail: Schema.String,
  /** The system's code (HTTP status, driver code) when there was one. */
  code: Schema.optionalWith(Schema.String, { exact: true })
})
/** Why an item failed or was parked. */
export interface Failure extends Schema.Schema.Type<typeof Failure> {}

const itemFields = {
  /** Derived from the item's content (never from identifier values): the same diff has the same id. */
  id: Schema.String,
  target: Schema.String,
  profileId: Schema.String,
  /** When the item was first recorded (epoch millis); what the lag gauge measures from. */
  enqueuedAt: Schema.Number,
  /** Failed attempts so far. */
  attempts: Schema.Number,
  /** Not pushed before this instant (epoch millis). */
  nextAttemptAt: Schema.Number,
  /** The failure of the last attempt. */
  lastError: Schema.optionalWith(Failure, { exact: true })
}

/** An item that sets a person's consent fields in a target. */
export const PushItem = Schema.TaggedStruct("Push", { ...itemFields, diff: Diff })
/** An item that sets a person's consent fields in a target. */
export interface PushItem extends Schema.Schema.Type<typeof PushItem> {}

/** An item that erases a person from a target (after `DataSubject.erase`). */
export const EraseItem = Schema.TaggedStruct("Erase", { ...itemFields, refs: Schema.Array(PersonRef) })
/** An item that erases a person from a target. */
export interface EraseItem extends Schema.Schema.Type<typeof EraseItem> {}

/** Schema of an outbox item (what a persistent SyncStore serialises). */
export const Item = Schema.Union(PushItem, EraseItem)
/** An outbox item. */
export type Item = PushItem | EraseItem

/** The kinds of item. */
export type Kind = Item["_tag"]

/** Schema of a parked item: the item as it was, when, and why. */
export const DeadLetter = Schema.Struct({
  item: Item,
  parkedAt: Schema.Number,
  failure: Failure
})
/** A parked item: the item as it was, when, and why. */
export interface DeadLetter extends Schema.Schema.Type<typeof DeadLetter> {}

// The compile-time check that an item's diff is what a target's push takes.
const _diffIsTargetDiff = (item: PushItem): TargetDiff => item.diff
void _diffIsTargetDiff

// ---------------------------------------------------------------------------------------------
// Constructors

const idOf = (kind: Kind, target: string, profileId: string, body: unknown): string =>
  `ob_${sha256(canonicalJson({ kind, target, profileId, body })).slice(0, 32)}`

// A ref names the person by externalId (an opaque id) or by identifiers, whose values are
// personal data: only their types go into the id.
const refShape = (ref: PersonRef): string =>
  ref.externalId !== undefined
    ? `x:${ref.externalId}`
    : `i:${Object.keys(ref.identifiers ?? {})
        .sort()
        .join(",")}`

/** A new push item for a diff, due now. */
export const push = (diff: TargetDiff, now: number): PushItem => ({
  _tag: "Push",
  id: idOf("Push", diff.target, diff.profileId, {
    ref: refShape(diff.ref),
    changes: diff.changes.map((c) => [c.field, c.to, c.because.eventId])
  }),
  target: diff.target,
  profileId: diff.profileId,
  enqueuedAt: now,
  attempts: 0,
  nextAttemptAt: now,
  diff
})

/** A new erase item for the persons of a profile in a target, due now. */
export const erase = (
  target: string,
  profileId: string,
  refs: ReadonlyArray<PersonRef>,
  now: number
): EraseItem => ({
  _tag: "Erase",
  id: idOf("Erase", target, profileId, refs.map(refShape).sort()),
  target,
  profileId,
  enqueuedAt: now,
  attempts: 0,
  nextAttemptAt: now,
  refs
})

/** The key an outbox holds at most one pending item under: kind, target, profile. */
export const keyOf = (item: Pick<Item, "_tag" | "target" | "profileId">): string =>
  `${item._tag}\u001f${item.target}\u001f${item.profileId}`

/**
 * The item that replaces a pending one of the same key: the newer content, but the older
 * `enqueuedAt` (the profile has been waiting since then), the attempts so far and the later
 * `nextAttemptAt`, so that a target that is failing keeps its backoff and a profile that keeps
 * changing cannot dodge parking.
 */
export const supersede = (previous: Item, next: Item): Item => {
  if (previous.id === next.id) return previous
  const carried = {
    enqueuedAt: Math.min(previous.enqueuedAt, next.enqueuedAt),
    attempts: previous.attempts,
    nextAttemptAt: Math.max(previous.nextAttemptAt, next.nextAttemptAt)
  }
  const { lastError: _dropped, ...rest } = next
  return previous.lastError === undefined
    ? { ...rest, ...carried }
    : { ...rest, ...carried, lastError: previous.lastError }
}

/** Whether an item may be pushed at `now`. */
export const isDue = (item: Item, now: number): boolean => item.nextAttemptAt <= now

/** The failure of an adapter error (its reason, detail and code: no personal data by contract). */
export const failureOf = (e: AdapterError.AdapterError): Failure =>
  e.code === undefined
    ? { reason: e.reason, detail: e.detail }
    : { reason: e.reason, detail: e.detail, code: e.code }

/** Parks an item for good: the target refused it (`Rejected`) or cannot do it (`Unsupported`). */
export const parkWith = (item: Item, failure: Failure, now: number): DeadLetter => ({
  item: { ...item, lastError: failure },
  parkedAt: now,
  failure
})

/** The item as it goes back into the outbox from the dead letters: no attempts, due now. */
export const revive = (letter: DeadLetter, now: number): Item => {
  const { lastError: _dropped, ...rest } = letter.item
  return { ...rest, attempts: 0, nextAttemptAt: now }
}

/** Milliseconds the oldest pending item has waited (0 when the outbox is empty). */
export const lag = (oldestEnqueuedAt: Option.Option<number>, now: number): number =>
  Option.match(oldestEnqueuedAt, { onNone: () => 0, onSome: (at) => Math.max(0, now - at) })

// ---------------------------------------------------------------------------------------------
// Retries

/**
 * When to try a failed item again: a Schedule fed the item's adapter errors. Each output is a
 * retry; the schedule's delay is the wait; when it is done the item is parked. The engine replays
 * it from its initial state for an item's n-th failure (the attempts are what is stored), so it
 * must decide by the number of steps and the input, not by wall-clock state.
 */
export type RetryPolicy = Schedule.Schedule<unknown, AdapterError.AdapterError>

/** Options of the default retry policy. */
export interface RetryOptions {
  /** Attempts before an item is parked, the first one included. Default 5. */
  readonly maxAttempts?: number
  /** First delay. Default 1 second. */
  readonly base?: Duration.DurationInput
  /** Growth of the delay per attempt. Default 2. */
  readonly factor?: number
  /** Longest delay of the backoff (a `retryAfter` may ask for more, and gets it). Default 5 minutes. */
  readonly maxDelay?: Duration.DurationInput
  /** Spreads delays over 80-120% so that items failed together do not retry together. Default true. */
  readonly jitter?: boolean
}

/**
 * Exponential backoff with jitter, capped, honouring a RateLimited error's `retryAfter` (the
 * delay is at least that), for retryable errors only (see AdapterError), at most `maxAttempts`
 * attempts in all.
 */
export const retryPolicy = (options: RetryOptions = {}): RetryPolicy => {
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 5))
  const maxDelay = Duration.decode(options.maxDelay ?? "5 minutes")
  const backoff = Schedule.exponential(options.base ?? "1 second", options.factor ?? 2)
  const spread = options.jitter === false ? backoff : Schedule.jittered(backoff)
  return spread.pipe(
    Schedule.modifyDelay((_, d) => Duration.min(d, maxDelay)),
    Schedule.intersect(Schedule.identity<AdapterError.AdapterError>()),
    Schedule.modifyDelay(([, e], d) => (e.retryAfter === undefined ? d : Duration.max(d, e.retryAfter))),
    Schedule.intersect(Schedule.recurs(maxAttempts - 1)),
    Schedule.whileInput((e: AdapterError.AdapterError) => e.isRetryable)
  )
}

/**
 * When an item that has now failed `attempts` times (with `error` last) may be tried again, as
 * epoch millis; none when the policy gives up.
 */
export const nextAttempt = (
  policy: RetryPolicy,
  attempts: number,
  error: AdapterError.AdapterError,
  now: number
): Effect.Effect<Option.Option<number>> =>
  Effect.gen(function* () {
    // Replays the policy from its initial state: the attempts count is the state that is stored.
    let state: unknown = policy.initial
    let decision: ScheduleDecision.ScheduleDecision = ScheduleDecision.done
    for (let i = 0; i < Math.max(1, attempts); i++) {
      const [next, , d] = yield* policy.step(now, error, state)
      state = next
      decision = d
      if (ScheduleDecision.isDone(d)) return Option.none()
    }
    if (!ScheduleDecision.isContinue(decision)) return Option.none()
    return Option.some(Math.max(now, ScheduleIntervals.start(decision.intervals)))
  })

/** What became of a failed item: back in the outbox for later, or parked. */
export type Settled =
  | { readonly _tag: "Retry"; readonly item: Item }
  | { readonly _tag: "Park"; readonly letter: DeadLetter }

/** Counts a failed attempt of an item and decides by the policy whether to retry it or park it. */
export const failed = (
  item: Item,
  error: AdapterError.AdapterError,
  now: number,
  policy: RetryPolicy
): Effect.Effect<Settled> =>
  Effect.map(nextAttempt(policy, item.attempts + 1, error, now), (at) => {
    const failure = failureOf(error)
    const counted = { ...item, attempts: item.attempts + 1, lastError: failure }
    return Option.match(at, {
      onNone: (): Settled => ({ _tag: "Park", letter: { item: counted, parkedAt: now, failure } }),
      onSome: (nextAttemptAt): Settled => ({ _tag: "Retry", item: { ...counted, nextAttemptAt } })
    })
  })

// ---------------------------------------------------------------------------------------------
// Wire format

const ItemJson = Schema.parseJson(Item)
const DeadLetterJson = Schema.parseJson(DeadLetter)

/** An item as JSON text, for a persistent SyncStore. */
export const toJson = (item: Item): string => Schema.encodeSync(ItemJson)(item)

/** An item from JSON text written by `toJson`. */
export const fromJson = (text: string): Either.Either<Item, ParseResult.ParseError> =>
  Schema.decodeUnknownEither(ItemJson)(text)

/** A dead letter as JSON text, for a persistent SyncStore. */
export const deadLetterToJson = (letter: DeadLetter): string => Schema.encodeSync(DeadLetterJson)(letter)

/** A dead letter from JSON text written by `deadLetterToJson`. */
export const deadLetterFromJson = (text: string): Either.Either<DeadLetter, ParseResult.ParseError> =>
  Schema.decodeUnknownEither(DeadLetterJson)(text)
