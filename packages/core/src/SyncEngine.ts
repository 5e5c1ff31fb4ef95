/**
 * The sync engine: keeps consent targets and the living profiles in step, both ways.
 *
 * A cycle:
 * 1. **Pull** every record source and every target, page by page from its checkpointed cursor.
 *    Identity records are ingested through the IdentityResolver. A pulled consent change is
 *    resolved to a profile (the target person's link, else the record the target sent, else a
 *    record made of the change's identifiers, ingested so that the resolver matches it by e-mail
 *    or creates a profile; the link is then recorded) and becomes a profile-level consent event
 *    (`ConsentDiff.fromPulled`: source = the target, capturedAt = its modification time). A
 *    change the engine already knows (the echo of its own push) makes no event. A change made on
 *    both sides since the last sync is a conflict: `ConsentDiff.reconcile` settles it by the
 *    ledger's rule and the audit log records it. The touched profiles are marked dirty, then the
 *    page's cursor is checkpointed.
 * 2. **Diff** every profile (or only the dirty ones, `scan: "dirty"`): the effective consent
 *    against what each target is known to hold. A non-empty diff is recorded in the outbox before
 *    anything is pushed; a pending item whose diff has become empty is cancelled.
 * 3. **Push** each target's due items in batches of its `maxBatchSize`, through a token bucket,
 *    with bounded concurrency. `Applied` marks the item done and updates the known state and the
 *    link; `Rejected` parks it; `Failed` counts an attempt and the retry policy (a `Schedule`:
 *    exponential backoff with jitter, at least the `retryAfter` of a rate limit) sets the next
 *    attempt or parks it after the last. A partial failure retries only the failed items.
 *
 * Why nothing is lost or applied twice: the ProfileStore takes pulled events before the cursor
 * moves (a replayed page adds nothing: events are keyed by id, and the known state turns the
 * replayed changes into echoes); a dirty mark outlives a crash until the diff is in the outbox;
 * an item leaves the outbox only after the target acknowledged it, and a diff carries end states,
 * so pushing it again after a crash changes nothing. A change pulled from X is never pushed
 * back to X (`ConsentDiff.diff` skips keys whose effective event came from the target).
 *
 * Interruption (graceful shutdown) stops at the next step: a push in flight is abandoned (its
 * item stays in the outbox) or, once the target has answered, its acknowledgement is finished.
 */
import { Clock, Context, Duration, Effect, Either, Layer, Metric, Option, Schedule, Stream } from "effect"
import type * as AdapterError from "./AdapterError.js"
import type * as Audit from "./Audit.js"
import * as ConsentDiff from "./ConsentDiff.js"
import * as ConsentEvent from "./ConsentEvent.js"
import * as ConsentLedger from "./ConsentLedger.js"
import * as ConsentTarget from "./ConsentTarget.js"
import * as DataSubject from "./DataSubject.js"
import * as IdentityResolver from "./IdentityResolver.js"
import * as Outbox from "./Outbox.js"
import * as ProfileStore from "./ProfileStore.js"
import type { RecordRef, SourceRecord } from "./SourceRecord.js"
import * as Survivorship from "./Survivorship.js"
import * as SyncStore from "./SyncStore.js"

// ---------------------------------------------------------------------------------------------
// Options

/** A token bucket: at most `requests` calls per `per`, spread evenly, bursts up to `requests`. */
export interface RateLimit {
  readonly requests: number
  readonly per: Duration.DurationInput
}

/** A target and how the engine drives it. */
export interface TargetOptions {
  readonly target: ConsentTarget.ConsentTarget
  /** Calls to the target (pull, push, erase) go through this token bucket; default: no limit. */
  readonly rateLimit?: RateLimit
  /** Batches in flight at once to this target; default 1. */
  readonly concurrency?: number
}

/** What the engine syncs and how. */
export interface Options {
  /** The targets, with unique names. */
  readonly targets: ReadonlyArray<ConsentTarget.ConsentTarget | TargetOptions>
  /** Systems that only contribute identity records. */
  readonly sources?: ReadonlyArray<ConsentTarget.RecordSource>
  /** A retry policy, or options of the default one (`Outbox.retryPolicy`). */
  readonly retry?: Outbox.RetryPolicy | Outbox.RetryOptions
  /**
   * `all` (default): diff every profile each cycle, which also catches changes made to profiles
   * without the engine being told (DataSubject.choose). `dirty`: only profiles touched by pulls or
   * named with `touch`; for large stores, when every change to a profile is followed by `touch`.
   */
  readonly scan?: "all" | "dirty"
  /** The actor of the engine's audit entries; default `sync`. */
  readonly actor?: string
  /** Wait between cycles in continuous mode; default 30 seconds. */
  readonly pollInterval?: Duration.DurationInput
}

/** Options of one cycle. */
export interface RunOptions {
  /** Pull and diff, report the diffs, push nothing, move no cursor and record nothing in the SyncStore. */
  readonly dryRun?: boolean
  /**
   * Keep pushing until every pending item is done or parked, sleeping until retries are due
   * (default true for `runOnce`; continuous mode leaves later retries to later cycles).
   */
  readonly drain?: boolean
}

/** Options of continuous mode. */
export interface ContinuousOptions {
  readonly dryRun?: boolean
  /** When to run the next cycle: a Schedule, or the wait between cycles; default `pollInterval`. */
  readonly poll?: Duration.DurationInput | Schedule.Schedule<unknown, unknown>
}

// ---------------------------------------------------------------------------------------------
// Reports (ids, field names, statuses and reasons only: no identifier or attribute values)

/** What one pull of a source or target brought. */
export interface PullReport {
  readonly source: string
  readonly kind: "target" | "source"
  readonly pages: number
  readonly changes: number
  readonly records: number
  /** Consent events attached to profiles. */
  readonly events: number
  /** Changes that were already known (the engine's own pushes coming back, repeated states). */
  readonly echoes: number
  /** Changes or records that could not be used (unmapped field, erased person, invalid record). */
  readonly skipped: number
  /** Whether a cursor was checkpointed. */
  readonly cursorMoved: boolean
  /** Why the pull stopped early (the engine then pushes nothing to that target this cycle). */
  readonly error?: Outbox.Failure
}

/** A change made on both sides since the last sync, and the side the rule chose. */
export interface ConflictReport {
  readonly profileId: string
  readonly target: string
  readonly key: string
  readonly field?: string
  readonly winner: "profile" | "target"
  readonly profileEventId: string
  readonly targetEventId: string
}

/** One change of a reported diff. */
export interface ChangeReport {
  readonly key: string
  readonly field: string
  readonly from: ConsentLedger.EffectiveStatus | null
  readonly to: ConsentLedger.EffectiveStatus
  /** The source of the event that asks for it. */
  readonly source: string
  readonly eventId: string
}

/** A diff the cycle recorded in the outbox (or would have, in a dry run). */
export interface DiffReport {
  readonly target: string
  readonly profileId: string
  /** `unaddressable`: the target knows nobody for the profile and it has no identifier the target takes. */
  readonly status: "queued" | "replaced" | "dry-run" | "unaddressable"
  readonly itemId?: string
  /** How the push names the person. */
  readonly ref?: "externalId" | "identifiers"
  readonly changes: ReadonlyArray<ChangeReport>
}

/** What became of an outbox item in this cycle. */
export interface Outcome {
  readonly itemId: string
  readonly kind: Outbox.Kind
  readonly target: string
  readonly profileId: string
  /** `stopped`: the target refused the credentials; the item waits for the next cycle. */
  readonly outcome: "applied" | "erased" | "retry" | "parked" | "stopped" | "cancelled"
  /** Failed attempts so far. */
  readonly attempts: number
  readonly reason?: Outbox.Failure["reason"]
  readonly detail?: string
  /** For `retry`: when (ISO-8601). */
  readonly nextAttemptAt?: string
}

/** What one cycle did. */
export interface CycleReport {
  readonly dryRun: boolean
  readonly startedAt: string
  readonly finishedAt: string
  readonly pulls: ReadonlyArray<PullReport>
  readonly conflicts: ReadonlyArray<ConflictReport>
  readonly diffs: ReadonlyArray<DiffReport>
  readonly outcomes: ReadonlyArray<Outcome>
  /** Items still in the outbox after the cycle. */
  readonly pending: number
  readonly deadLetters: number
  /** Age of the oldest pending item in milliseconds (0 when none). */
  readonly lagMillis: number
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** Consent changes pulled, tagged `target`. */
export const changesPulled = Metric.counter("living_profile_sync_changes_pulled", {
  description: "consent changes pulled from targets",
  incremental: true
})

/** Diffs a target acknowledged, tagged `target`. */
export const diffsPushed = Metric.counter("living_profile_sync_diffs_pushed", {
  description: "diffs applied by targets",
  incremental: true
})

/** Failed attempts, tagged `target` and `reason`. */
export const failures = Metric.counter("living_profile_sync_failures", {
  description: "failed push, erase and pull attempts",
  incremental: true
})

/** Items parked as dead letters, tagged `target` and `reason`. */
export const parked = Metric.counter("living_profile_sync_parked", {
  description: "outbox items parked as dead letters",
  incremental: true
})

/** Milliseconds the oldest pending outbox item has waited, after each cycle. */
export const lag = Metric.gauge("living_profile_sync_lag_ms", {
  description: "now minus the enqueue time of the oldest pending outbox item"
})

// ---------------------------------------------------------------------------------------------
// The service

/** The sync engine's operations. */
export interface Service {
  /** One cycle: pull, diff, push (see the module comment). */
  readonly runOnce: (options?: RunOptions) => Effect.Effect<CycleReport, ProfileStore.StoreError>
  /** Cycles on the poll schedule, one report each, until interrupted (continuous mode). */
  readonly cycles: (options?: ContinuousOptions) => Stream.Stream<CycleReport, ProfileStore.StoreError>
  /** Runs cycles until interrupted; interruption finishes or abandons the batch in flight. */
  readonly run: (options?: ContinuousOptions) => Effect.Effect<void, ProfileStore.StoreError>
  /** Marks profiles changed outside the engine, for `scan: "dirty"`. */
  readonly touch: (profileIds: ReadonlyArray<string>) => Effect.Effect<void, ProfileStore.StoreError>
  /**
   * Turns an erasure into erase items for every target holding the person (by links, the
   * erasure's records and pending pushes), cancels the profile's pending pushes, and drops its
   * links, known states and dead letters. The items are pushed by the next cycles.
   */
  readonly erase: (
    erasure: DataSubject.ErasureResult
  ) => Effect.Effect<ReadonlyArray<Outbox.Item>, ProfileStore.StoreError>
  /** `DataSubject.erase` on the engine's store, then `erase` of its result. */
  readonly eraseProfile: (
    profileId: string,
    requester: DataSubject.Requester
  ) => Effect.Effect<
    { readonly erasure: DataSubject.ErasureResult; readonly items: ReadonlyArray<Outbox.Item> },
    ProfileStore.StoreError | IdentityResolver.ProfileNotFound
  >
  /** The items waiting in the outbox. */
  readonly pending: Effect.Effect<ReadonlyArray<Outbox.Item>, ProfileStore.StoreError>
  /** The parked items, with their reasons. */
  readonly deadLetters: Effect.Effect<ReadonlyArray<Outbox.DeadLetter>, ProfileStore.StoreError>
  /** Puts a dead letter back into the outbox; false when there is none with that id. */
  readonly requeue: (id: string) => Effect.Effect<boolean, ProfileStore.StoreError>
}

/** The sync engine in context. */
export class SyncEngine extends Context.Tag("@living-profile/core/SyncEngine")<SyncEngine, Service>() {}

// ---------------------------------------------------------------------------------------------
// Internals

interface Gate {
  /** Waits for a pause to end and for a token. */
  readonly acquire: Effect.Effect<void>
  /** No call before `until` (epoch millis): a rate limit's retryAfter holds the whole target. */
  readonly pause: (until: number) => Effect.Effect<void>
}

const makeGate = (rate: RateLimit | undefined): Effect.Effect<Gate> =>
  Effect.map(Effect.makeSemaphore(1), (mutex) => {
    const capacity = rate === undefined ? 0 : Math.max(1, rate.requests)
    const perMs = rate === undefined ? 0 : rate.requests / Math.max(1, Duration.toMillis(rate.per))
    let tokens = capacity
    let refilledAt: number | undefined
    let pausedUntil = 0
    // The mutex is held while waiting, so that callers get tokens in the order they asked.
    const acquire = mutex.withPermits(1)(
      Effect.gen(function* () {
        let granted = false
        while (!granted) {
          const now = yield* Clock.currentTimeMillis
          if (pausedUntil > now) {
            yield* Effect.sleep(Duration.millis(pausedUntil - now))
            continue
          }
          if (rate === undefined) {
            granted = true
            continue
          }
          tokens = Math.min(capacity, tokens + (now - (refilledAt ?? now)) * perMs)
          refilledAt = now
          if (tokens >= 1) {
            tokens -= 1
            granted = true
          } else yield* Effect.sleep(Duration.millis(Math.ceil((1 - tokens) / perMs)))
        }
      })
    )
    const pause = (until: number) =>
      Effect.sync(() => {
        pausedUntil = Math.max(pausedUntil, until)
      })
    return { acquire, pause }
  })

interface Driven {
  readonly target: ConsentTarget.ConsentTarget
  readonly gate: Gate
  readonly concurrency: number
}

interface Cycle {
  readonly sync: SyncStore.Service
  readonly dryRun: boolean
  readonly pulls: Array<PullReport>
  readonly conflicts: Array<ConflictReport>
  readonly diffs: Array<DiffReport>
  readonly outcomes: Array<Outcome>
  /** Targets not to push to this cycle: their pull failed, or they refused the credentials. */
  readonly skip: Set<string>
}

interface PullCount {
  pages: number
  changes: number
  records: number
  events: number
  echoes: number
  skipped: number
  cursorMoved: boolean
}

const iso = (ms: number): string => new Date(ms).toISOString()

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const isTargetOptions = (t: ConsentTarget.ConsentTarget | TargetOptions): t is TargetOptions =>
  "target" in t && typeof t.target === "object"

/** A pulled change as a consent event, keeping the policy version the target recorded. */
const pulledEvent = (
  target: string,
  change: ConsentTarget.PulledChange,
  mapping: ConsentDiff.TargetMapping
): Option.Option<ConsentEvent.ConsentEvent> => {
  const e = ConsentDiff.fromPulled(target, change.field, change.status, change.modifiedAt, mapping)
  if (Either.isLeft(e)) return Option.none()
  if (change.policyVersion === undefined) return Option.some(e.right)
  const { eventId: _derived, ...fields } = e.right
  return Either.getRight(ConsentEvent.decode({ ...fields, policyVersion: change.policyVersion }))
}

const changeReports = (diff: ConsentDiff.ConsentDiff): Array<ChangeReport> =>
  diff.changes.map((c) => ({
    key: c.key,
    field: c.field,
    from: c.from,
    to: c.to,
    source: c.because.source,
    eventId: c.because.eventId
  }))

/** Builds the engine over the SyncStore, ProfileStore and IdentityResolver in context. */
export const make = (
  options: Options
): Effect.Effect<
  Service,
  ConsentDiff.MappingError,
  SyncStore.SyncStore | ProfileStore.ProfileStore | IdentityResolver.IdentityResolver
> =>
  Effect.gen(function* () {
    const base = yield* SyncStore.SyncStore
    const profiles = yield* ProfileStore.ProfileStore
    const resolver = yield* IdentityResolver.IdentityResolver
    const actor = options.actor ?? "sync"
    const scan = options.scan ?? "all"
    const sources = options.sources ?? []
    const policy: Outbox.RetryPolicy =
      options.retry !== undefined && Schedule.isSchedule(options.retry)
        ? (options.retry as Outbox.RetryPolicy)
        : Outbox.retryPolicy((options.retry as Outbox.RetryOptions | undefined) ?? {})

    const targets: Array<Driven> = []
    const names = new Set<string>()
    for (const entry of options.targets) {
      const t = isTargetOptions(entry) ? entry : { target: entry }
      const name = t.target.name
      if (names.has(name))
        return yield* Effect.fail(
          new ConsentDiff.MappingError({ target: name, problem: "is the name of two targets or sources" })
        )
      names.add(name)
      // A mapping that does not fit its target would fail every push: refuse it up front.
      const decoded = ConsentDiff.decodeMapping(t.target.mapping)
      if (Either.isLeft(decoded)) return yield* Effect.fail(decoded.left)
      const checked = ConsentTarget.checkMapping(t.target)
      if (Either.isLeft(checked)) return yield* Effect.fail(checked.left)
      targets.push({
        target: t.target,
        gate: yield* makeGate(t.rateLimit),
        concurrency: Math.max(1, Math.floor(t.concurrency ?? 1))
      })
    }
    for (const s of sources) {
      if (names.has(s.name))
        return yield* Effect.fail(
          new ConsentDiff.MappingError({ target: s.name, problem: "is the name of two targets or sources" })
        )
      names.add(s.name)
    }
    // One cycle at a time: two would push the same items.
    const lock = yield* Effect.makeSemaphore(1)

    const audit = (c: Cycle, input: Audit.AuditInput) =>
      c.dryRun ? Effect.void : Effect.asVoid(profiles.appendAudit(input))

    // -------------------------------------------------------------------------------------------
    // Pull

    /** Ingests records; a batch with an invalid record is retried one record at a time. */
    const ingest = (records: ReadonlyArray<SourceRecord>, count: PullCount) =>
      resolver.ingest(records).pipe(
        Effect.asVoid,
        Effect.catchTag("RecordDecodeError", () =>
          Effect.forEach(
            records,
            (r) =>
              resolver.ingest([r]).pipe(
                Effect.asVoid,
                Effect.catchTag("RecordDecodeError", () =>
                  Effect.sync(() => {
                    count.skipped++
                  })
                )
              ),
            { discard: true }
          )
        )
      )

    /** The profiles of records (to mark dirty). */
    const profilesOf = (refs: ReadonlyArray<RecordRef>) =>
      Effect.map(
        Effect.forEach(refs, (ref) => profiles.profileIdOf(ref)),
        (ids) => ids.flatMap((o) => (Option.isSome(o) ? [o.value] : []))
      )

    /** Applies the records of a page; returns the profiles they touched. */
    const takeRecords = (records: ReadonlyArray<SourceRecord>, count: PullCount) =>
      Effect.gen(function* () {
        count.records += records.length
        const live = records.filter((r) => r.deleted !== true)
        const gone: Array<RecordRef> = records
          .filter((r) => r.deleted === true)
          .map((r) => ({ source: r.source, id: r.id }))
        // A deletion's profile is read before the record goes, to be diffed again.
        const before = yield* profilesOf(gone)
        if (live.length > 0) yield* ingest(live, count)
        if (gone.length > 0) yield* resolver.remove(gone)
        const after = yield* profilesOf(live.map((r) => ({ source: r.source, id: r.id })))
        return [...before, ...after]
      })

    /**
     * The profile of a target's person: by link, else by the record the target sent, else by a
     * record of the change's identifiers, which the resolver matches or makes a profile of.
     * None when the person was erased here (the resolver suppresses their records).
     */
    const resolvePerson = (
      c: Cycle,
      target: string,
      externalId: string,
      identifiers: ConsentTarget.Identifiers | undefined,
      count: PullCount
    ) =>
      Effect.gen(function* () {
        const linked = yield* c.sync.linked(target, externalId)
        if (Option.isSome(linked)) {
          const p = yield* profiles.profile(linked.value)
          if (Option.isSome(p)) {
            // The linked profile was merged into another: follow it.
            if (p.value.profileId !== linked.value)
              yield* c.sync.link({ target, externalId, profileId: p.value.profileId })
            return Option.some(p.value.profileId)
          }
          yield* c.sync.unlink(target, externalId)
        }
        const ref = { source: target, id: externalId }
        let found = yield* profiles.profileIdOf(ref)
        if (Option.isNone(found)) {
          yield* ingest([identifiers === undefined ? ref : { ...ref, identifiers }], count)
          found = yield* profiles.profileIdOf(ref)
        }
        if (Option.isSome(found)) yield* c.sync.link({ target, externalId, profileId: found.value })
        return found
      })

    /** One pulled change: an echo, or an event on its profile (with its conflict, if any). */
    const takeChange = (
      c: Cycle,
      t: Driven,
      change: ConsentTarget.PulledChange,
      lastPull: number,
      count: PullCount
    ) =>
      Effect.gen(function* () {
        const name = t.target.name
        const mapping = t.target.mapping
        const profileId = yield* resolvePerson(c, name, change.externalId, change.identifiers, count)
        const event = pulledEvent(name, change, mapping)
        if (Option.isNone(profileId) || Option.isNone(event)) {
          count.skipped++
          return Option.none<string>()
        }
        const P = profileId.value
        const field = change.field
        const held = ConsentDiff.asHeld(mapping, field, change.status)
        const known = (yield* c.sync.known(name, P)).get(field)
        if (known !== undefined && known.status === held) {
          count.echoes++
          return Option.none<string>()
        }
        const fieldState = (eventId: string): ReadonlyMap<string, ConsentDiff.KnownState> =>
          new Map([[field, { status: held, at: change.modifiedAt, eventId }]])
        // Our own push, applied but not yet acknowledged (a crash in between): the target holds
        // what the pending item asks, which is no choice of the person's.
        const pending = yield* c.sync.pendingFor("Push", name, P)
        if (
          Option.isSome(pending) &&
          pending.value._tag === "Push" &&
          pending.value.diff.changes.some((ch) => ch.field === field && ch.to === held)
        ) {
          const ours = pending.value.diff.changes.find((ch) => ch.field === field)!
          yield* c.sync.setKnown(name, P, fieldState(ours.because.eventId))
          count.echoes++
          return Option.none<string>()
        }
        const stored = yield* profiles.profile(P)
        if (Option.isNone(stored)) {
          count.skipped++
          return Option.none<string>()
        }
        const e = event.value
        const profile = stored.value
        // Reconcile against the ledger without this event, so that a replayed page (after a
        // crash) still sees the conflict it settles.
        const ledger = IdentityResolver.ledgerOf(
          profile.records,
          profile.profileEvents.filter((x) => x.eventId !== e.eventId)
        )
        // Since the later of the target's last pull and the last time both sides agreed on the field.
        const since = Math.max(lastPull, known?.at === undefined ? 0 : ConsentEvent.toMillis(known.at))
        const now = yield* Clock.currentTimeMillis
        const settled = ConsentDiff.reconcile(ledger, e, mapping, since, now)
        const conflict = settled.conflict
        if (conflict !== undefined)
          c.conflicts.push({
            profileId: profile.profileId,
            target: name,
            key: conflict.key,
            ...(conflict.field === undefined ? {} : { field: conflict.field }),
            winner: conflict.winner,
            profileEventId: conflict.profileValue.eventId,
            targetEventId: conflict.targetValue.eventId
          })
        yield* audit(c, {
          at: iso(now),
          kind: "consent",
          profileId: profile.profileId,
          actor,
          source: name,
          ...(e.policyVersion === undefined ? {} : { policyVersion: e.policyVersion }),
          detail: {
            eventId: e.eventId,
            kind: e.kind,
            purpose: e.purpose,
            channel: e.channel,
            status: e.status,
            legalBasis: e.legalBasis,
            ...(conflict === undefined
              ? {}
              : {
                  conflict: {
                    key: conflict.key,
                    ...(conflict.field === undefined ? {} : { field: conflict.field }),
                    winner: conflict.winner,
                    profileEventId: conflict.profileValue.eventId,
                    profileStatus: conflict.profileValue.status,
                    targetStatus: conflict.targetValue.status
                  }
                })
          }
        })
        if (!profile.profileEvents.some((x) => x.eventId === e.eventId))
          yield* profiles.addProfileEvents(profile.profileId, [e])
        // The event is stored before the known state: a crash in between replays the change.
        yield* c.sync.setKnown(name, profile.profileId, fieldState(e.eventId))
        count.events++
        return Option.some(profile.profileId)
      })

    const pullFailure =
      (c: Cycle, source: string, kind: PullReport["kind"], count: PullCount) =>
      (e: AdapterError.AdapterError) =>
        Effect.gen(function* () {
          yield* Metric.increment(
            Metric.tagged(Metric.tagged(failures, "target", source), "reason", e.reason)
          )
          c.skip.add(source)
          c.pulls.push({ source, kind, ...count, error: Outbox.failureOf(e) })
        })

    /** Retries a pull by the policy, holding the target's gate on a rate limit. */
    const retried = <A>(gate: Gate | undefined, pull: Effect.Effect<A, AdapterError.AdapterError>) =>
      Effect.retry(
        (gate === undefined ? pull : Effect.zipRight(gate.acquire, pull)).pipe(
          Effect.tapError((e) =>
            gate !== undefined && e.reason === "RateLimited"
              ? Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  gate.pause(now + (e.retryAfter === undefined ? 0 : Duration.toMillis(e.retryAfter)))
                )
              : Effect.void
          )
        ),
        policy
      )

    const pullTarget = (c: Cycle, t: Driven) =>
      Effect.gen(function* () {
        const name = t.target.name
        const count: PullCount = {
          pages: 0,
          changes: 0,
          records: 0,
          events: 0,
          echoes: 0,
          skipped: 0,
          cursorMoved: false
        }
        const startedAt = yield* Clock.currentTimeMillis
        const lastPull = Option.getOrElse(yield* c.sync.lastSync(name), () => 0)
        let cursor = yield* c.sync.cursor(name)
        let more = true
        while (more) {
          const page = yield* Effect.either(retried(t.gate, t.target.pull(cursor)))
          if (Either.isLeft(page)) return yield* pullFailure(c, name, "target", count)(page.left)
          const { changes, records, hasMore } = page.right
          count.pages++
          count.changes += changes.length
          yield* Metric.incrementBy(Metric.tagged(changesPulled, "target", name), changes.length)
          const touched = new Set(yield* takeRecords(records, count))
          // The engine does not rely on the order within a page; applying changes oldest first
          // leaves the known state at the newest.
          const ordered = changes
            .map((ch, i) => ({ ch, i, t: ConsentEvent.toMillis(ch.modifiedAt) }))
            .sort((a, b) => a.t - b.t || a.i - b.i)
          for (const { ch } of ordered) {
            const p = yield* takeChange(c, t, ch, lastPull, count)
            if (Option.isSome(p)) touched.add(p.value)
          }
          if (touched.size > 0) yield* c.sync.markDirty([...touched])
          yield* c.sync.setCursor(name, page.right.cursor)
          count.cursorMoved = true
          cursor = Option.some(page.right.cursor)
          more = hasMore
        }
        yield* c.sync.setLastSync(name, startedAt)
        c.pulls.push({ source: name, kind: "target", ...count })
      }).pipe(Effect.withSpan("SyncEngine.pull", { attributes: { target: t.target.name } }))

    const pullSource = (c: Cycle, s: ConsentTarget.RecordSource) =>
      Effect.gen(function* () {
        const count: PullCount = {
          pages: 0,
          changes: 0,
          records: 0,
          events: 0,
          echoes: 0,
          skipped: 0,
          cursorMoved: false
        }
        let cursor = yield* c.sync.cursor(s.name)
        let more = true
        while (more) {
          const page = yield* Effect.either(retried(undefined, s.pull(cursor)))
          if (Either.isLeft(page)) return yield* pullFailure(c, s.name, "source", count)(page.left)
          count.pages++
          const touched = yield* takeRecords(page.right.records, count)
          if (touched.length > 0) yield* c.sync.markDirty(touched)
          yield* c.sync.setCursor(s.name, page.right.cursor)
          count.cursorMoved = true
          cursor = Option.some(page.right.cursor)
          more = page.right.hasMore
        }
        c.pulls.push({ source: s.name, kind: "source", ...count })
      }).pipe(Effect.withSpan("SyncEngine.pullSource", { attributes: { source: s.name } }))

    // -------------------------------------------------------------------------------------------
    // Diff

    /** How a push names the profile's person in a target: its link, else identifiers it takes. */
    const refFor = (c: Cycle, t: Driven, profile: ProfileStore.StoredProfile) =>
      Effect.gen(function* () {
        const name = t.target.name
        const link = (yield* c.sync.links(profile.profileId)).find((l) => l.target === name)
        if (link !== undefined) return Option.some<ConsentTarget.PersonRef>({ externalId: link.externalId })
        const all = Survivorship.identifiers(profile.records)
        const identifiers: Record<string, Array<string>> = {}
        let any = false
        for (const type of t.target.capabilities.identifiers) {
          const values = (all[type] ?? []).map((v) => v.value)
          if (values.length > 0) {
            identifiers[type] = values
            any = true
          }
        }
        return any ? Option.some<ConsentTarget.PersonRef>({ identifiers }) : Option.none()
      })

    const diffProfile = (c: Cycle, profile: ProfileStore.StoredProfile, now: number) =>
      Effect.gen(function* () {
        const P = profile.profileId
        // Consent with the GDPR flags in force applied, so restriction, objection and the
        // profiling opt-out reach the targets that can hold them.
        const desired = ConsentLedger.desired(
          IdentityResolver.ledgerOf(profile.records, profile.profileEvents),
          now
        )
        for (const t of targets) {
          const name = t.target.name
          const known = yield* c.sync.known(name, P)
          const d = ConsentDiff.diff(P, desired, known, t.target.mapping)
          if (d.changes.length === 0) {
            // What was pending is no longer wanted (the target holds the wanted state already).
            const cancelled = yield* c.sync.cancel("Push", name, P)
            if (Option.isSome(cancelled))
              c.outcomes.push({
                itemId: cancelled.value.id,
                kind: "Push",
                target: name,
                profileId: P,
                outcome: "cancelled",
                attempts: cancelled.value.attempts
              })
            continue
          }
          const ref = yield* refFor(c, t, profile)
          if (Option.isNone(ref)) {
            c.diffs.push({ status: "unaddressable", target: name, profileId: P, changes: changeReports(d) })
            continue
          }
          const item = Outbox.push(ConsentTarget.address(d, ref.value), now)
          const report = {
            target: name,
            profileId: P,
            itemId: item.id,
            ref: ref.value.externalId === undefined ? ("identifiers" as const) : ("externalId" as const),
            changes: changeReports(d)
          }
          if (c.dryRun) {
            c.diffs.push({ status: "dry-run", ...report })
            continue
          }
          const outcome = yield* c.sync.enqueue(item)
          if (outcome === "added") c.diffs.push({ status: "queued", ...report })
          else if (outcome === "replaced") c.diffs.push({ status: "replaced", ...report })
        }
      })

    const diffPhase = (c: Cycle) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const done = new Set<string>()
        const dirty = yield* c.sync.dirty(Number.MAX_SAFE_INTEGER)
        if (scan === "all")
          yield* Stream.runForEach(profiles.profiles, (p) =>
            Effect.zipRight(
              Effect.sync(() => done.add(p.profileId)),
              diffProfile(c, p, now)
            )
          )
        for (const id of dirty) {
          const p = yield* profiles.profile(id)
          if (Option.isNone(p) || done.has(p.value.profileId)) continue
          done.add(p.value.profileId)
          yield* diffProfile(c, p.value, now)
        }
        // Only now are the diffs in the outbox: a crash before this keeps the marks.
        if (dirty.length > 0) yield* c.sync.clearDirty(dirty)
      }).pipe(Effect.withSpan("SyncEngine.diff"))

    // -------------------------------------------------------------------------------------------
    // Push

    const parkItem = (c: Cycle, letter: Outbox.DeadLetter) =>
      Effect.gen(function* () {
        const item = letter.item
        yield* c.sync.park(letter)
        yield* Metric.increment(
          Metric.tagged(Metric.tagged(parked, "target", item.target), "reason", letter.failure.reason)
        )
        yield* audit(c, {
          at: iso(letter.parkedAt),
          kind: "propagation",
          profileId: item.profileId,
          actor,
          source: item.target,
          detail: {
            outcome: "parked",
            itemId: item.id,
            kind: item._tag,
            attempts: item.attempts,
            reason: letter.failure.reason
          }
        })
        c.outcomes.push({
          itemId: item.id,
          kind: item._tag,
          target: item.target,
          profileId: item.profileId,
          outcome: "parked",
          attempts: item.attempts,
          reason: letter.failure.reason,
          detail: letter.failure.detail
        })
      })

    const settleFailure = (
      c: Cycle,
      t: Driven,
      item: Outbox.Item,
      e: AdapterError.AdapterError,
      now: number
    ) =>
      Effect.gen(function* () {
        const name = t.target.name
        yield* Metric.increment(Metric.tagged(Metric.tagged(failures, "target", name), "reason", e.reason))
        if (e.reason === "Unauthorized") {
          // Credentials concern the whole target and no item: stop pushing to it, spend no attempt.
          c.skip.add(name)
          yield* c.sync.reschedule({ ...item, lastError: Outbox.failureOf(e) })
          c.outcomes.push({
            itemId: item.id,
            kind: item._tag,
            target: name,
            profileId: item.profileId,
            outcome: "stopped",
            attempts: item.attempts,
            reason: e.reason,
            detail: e.detail
          })
          return
        }
        if (e.reason === "RateLimited" && e.retryAfter !== undefined)
          yield* t.gate.pause(now + Duration.toMillis(e.retryAfter))
        const settled = yield* Outbox.failed(item, e, now, policy)
        if (settled._tag === "Park") return yield* parkItem(c, settled.letter)
        yield* c.sync.reschedule(settled.item)
        c.outcomes.push({
          itemId: item.id,
          kind: item._tag,
          target: name,
          profileId: item.profileId,
          outcome: "retry",
          attempts: settled.item.attempts,
          reason: e.reason,
          detail: e.detail,
          nextAttemptAt: iso(settled.item.nextAttemptAt)
        })
      })

    const acknowledge = (c: Cycle, item: Outbox.PushItem, externalId: string, now: number) =>
      Effect.gen(function* () {
        const name = item.target
        const P = item.profileId
        const fields = new Map<string, ConsentDiff.KnownState>()
        for (const ch of item.diff.changes)
          fields.set(ch.field, { status: ch.to, at: ch.because.capturedAt, eventId: ch.because.eventId })
        // Known state and link first, then done: a crash in between re-pushes (harmless) or
        // finds the diff empty and cancels the item.
        yield* c.sync.setKnown(name, P, fields)
        yield* c.sync.link({ target: name, externalId, profileId: P })
        yield* c.sync.complete(item.id)
        yield* c.sync.clearDeadLetters("Push", name, P)
        yield* Metric.increment(Metric.tagged(diffsPushed, "target", name))
        yield* audit(c, {
          at: iso(now),
          kind: "propagation",
          profileId: P,
          actor,
          source: name,
          detail: {
            outcome: "applied",
            itemId: item.id,
            changes: item.diff.changes.map((ch) => ({
              field: ch.field,
              to: ch.to,
              eventId: ch.because.eventId
            }))
          }
        })
        c.outcomes.push({
          itemId: item.id,
          kind: "Push",
          target: name,
          profileId: P,
          outcome: "applied",
          attempts: item.attempts
        })
      })

    const pushChunk = (c: Cycle, t: Driven, items: ReadonlyArray<Outbox.PushItem>) =>
      Effect.zipRight(
        t.gate.acquire,
        // The call may be abandoned on interruption (its items stay in the outbox); once the
        // target has answered, the acknowledgements are finished.
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const result = yield* restore(Effect.either(t.target.push(items.map((i) => i.diff))))
            const now = yield* Clock.currentTimeMillis
            if (Either.isLeft(result)) {
              for (const item of items) yield* settleFailure(c, t, item, result.left, now)
              return
            }
            for (let i = 0; i < items.length; i++) {
              const item = items[i]!
              const r = result.right[i]
              if (r === undefined) continue
              if (r._tag === "Applied") yield* acknowledge(c, item, r.externalId, now)
              else if (r._tag === "Rejected")
                yield* parkItem(c, Outbox.parkWith(item, { reason: "Rejected", detail: r.reason }, now))
              else yield* settleFailure(c, t, item, r.error, now)
            }
          })
        )
      ).pipe(
        Effect.withSpan("SyncEngine.push", { attributes: { target: t.target.name, items: items.length } })
      )

    const eraseItem = (c: Cycle, t: Driven, item: Outbox.EraseItem) =>
      Effect.zipRight(
        t.gate.acquire,
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const result = yield* restore(Effect.either(t.target.erase(item.refs)))
            const now = yield* Clock.currentTimeMillis
            if (Either.isLeft(result)) return yield* settleFailure(c, t, item, result.left, now)
            let erased = 0
            for (const r of result.right) {
              // Erasing is idempotent (an erased person is Absent): the whole item is tried again.
              if (r._tag === "Failed") return yield* settleFailure(c, t, item, r.error, now)
              if (r._tag === "Erased") erased++
            }
            yield* c.sync.complete(item.id)
            yield* audit(c, {
              at: iso(now),
              kind: "propagation",
              profileId: item.profileId,
              actor,
              source: item.target,
              detail: { outcome: "erased", itemId: item.id, persons: item.refs.length, erased }
            })
            c.outcomes.push({
              itemId: item.id,
              kind: "Erase",
              target: item.target,
              profileId: item.profileId,
              outcome: "erased",
              attempts: item.attempts
            })
          })
        )
      ).pipe(Effect.withSpan("SyncEngine.erase", { attributes: { target: t.target.name } }))

    const pushPhase = (c: Cycle, t: Driven, drain: boolean) =>
      Effect.gen(function* () {
        const name = t.target.name
        const limit = t.target.capabilities.maxBatchSize * t.concurrency
        const seen = new Set<string>()
        let going = true
        while (going && !c.skip.has(name)) {
          const now = yield* Clock.currentTimeMillis
          // Without draining, each item gets one attempt per cycle.
          const due = (yield* c.sync.due(name, now, limit + seen.size)).filter(
            (i) => drain || !seen.has(i.id)
          )
          if (due.length === 0) {
            const next = drain ? yield* c.sync.nextDue(name) : Option.none()
            if (Option.isNone(next)) going = false
            else yield* Effect.sleep(Duration.millis(Math.max(1, next.value - now)))
            continue
          }
          const batch = due.slice(0, limit)
          for (const i of batch) seen.add(i.id)
          const pushes = batch.filter((i): i is Outbox.PushItem => i._tag === "Push")
          const erases = batch.filter((i): i is Outbox.EraseItem => i._tag === "Erase")
          yield* Effect.forEach(
            [
              ...chunksOf(pushes, t.target.capabilities.maxBatchSize).map((chunk) => pushChunk(c, t, chunk)),
              ...erases.map((item) => eraseItem(c, t, item))
            ],
            (step) => step,
            { concurrency: t.concurrency, discard: true }
          )
        }
      })

    // -------------------------------------------------------------------------------------------
    // Cycles

    const cycle = (run: RunOptions) =>
      Effect.gen(function* () {
        const dryRun = run.dryRun === true
        const startedAt = yield* Clock.currentTimeMillis
        const c: Cycle = {
          sync: dryRun ? SyncStore.overlay(base) : base,
          dryRun,
          pulls: [],
          conflicts: [],
          diffs: [],
          outcomes: [],
          skip: new Set()
        }
        for (const s of sources) yield* pullSource(c, s)
        for (const t of targets) if (t.target.capabilities.pull) yield* pullTarget(c, t)
        yield* diffPhase(c)
        if (!dryRun)
          yield* Effect.forEach(
            targets.filter((t) => !c.skip.has(t.target.name)),
            (t) => pushPhase(c, t, run.drain !== false),
            { concurrency: "unbounded", discard: true }
          )
        const finishedAt = yield* Clock.currentTimeMillis
        const lagMillis = Outbox.lag(yield* base.oldestPending, finishedAt)
        yield* Metric.set(lag, lagMillis)
        return {
          dryRun,
          startedAt: iso(startedAt),
          finishedAt: iso(finishedAt),
          pulls: c.pulls,
          conflicts: c.conflicts,
          diffs: c.diffs,
          outcomes: c.outcomes,
          pending: (yield* base.pending).length,
          deadLetters: (yield* base.deadLetters).length,
          lagMillis
        } satisfies CycleReport
      }).pipe(
        lock.withPermits(1),
        Effect.withSpan("SyncEngine.cycle", { attributes: { dryRun: run.dryRun === true } })
      )

    const erase = (erasure: DataSubject.ErasureResult) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const P = erasure.profileId
        const links = yield* base.links(P)
        const items: Array<Outbox.Item> = []
        for (const t of targets) {
          const name = t.target.name
          const refs: Array<ConsentTarget.PersonRef> = []
          const ids = new Set<string>()
          const add = (externalId: string) => {
            if (ids.has(externalId)) return
            ids.add(externalId)
            refs.push({ externalId })
          }
          for (const l of links) if (l.target === name) add(l.externalId)
          for (const task of erasure.tasks) if (task.system === name) for (const id of task.records) add(id)
          // A push by identifiers may have created the person without the engine hearing back.
          const cancelled = yield* base.cancel("Push", name, P)
          if (Option.isSome(cancelled) && cancelled.value._tag === "Push") {
            const ref = cancelled.value.diff.ref
            if (ref.externalId === undefined) refs.push(ref)
            else add(ref.externalId)
          }
          for (const l of links) if (l.target === name) yield* base.unlink(name, l.externalId)
          yield* base.forget(name, P)
          // Dead letters may hold the person's identifiers.
          yield* base.clearDeadLetters("Push", name, P)
          if (refs.length === 0) continue
          const item = Outbox.erase(name, P, refs, now)
          items.push(item)
          if (t.target.capabilities.erase) yield* base.enqueue(item)
          else
            yield* base.park(
              Outbox.parkWith(
                item,
                { reason: "Unsupported", detail: "the target does not support erase" },
                now
              )
            )
        }
        yield* base.clearDirty([P])
        return items
      })

    const pollOf = (options_: ContinuousOptions): Schedule.Schedule<unknown, unknown> =>
      options_.poll !== undefined && Schedule.isSchedule(options_.poll)
        ? (options_.poll as Schedule.Schedule<unknown, unknown>)
        : Schedule.spaced(
            (options_.poll as Duration.DurationInput | undefined) ?? options.pollInterval ?? "30 seconds"
          )

    const cycles = (options_: ContinuousOptions = {}) =>
      Stream.repeatEffectWithSchedule(
        cycle({ drain: false, ...(options_.dryRun === undefined ? {} : { dryRun: options_.dryRun }) }),
        pollOf(options_)
      )

    const service: Service = {
      runOnce: (run = {}) => cycle(run),
      cycles,
      run: (options_) => Stream.runDrain(cycles(options_)),
      touch: (ids) => base.markDirty(ids),
      erase,
      eraseProfile: (profileId, requester) =>
        Effect.gen(function* () {
          const erasure = yield* DataSubject.erase(profileId, requester).pipe(
            Effect.provideService(ProfileStore.ProfileStore, profiles)
          )
          return { erasure, items: yield* erase(erasure) }
        }),
      pending: base.pending,
      deadLetters: base.deadLetters,
      requeue: (id) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.map(base.requeue(id, now), Option.isSome))
    }
    return service
  })

/** The engine as a layer over the SyncStore, ProfileStore and IdentityResolver in context. */
export const layer = (
  options: Options
): Layer.Layer<
  SyncEngine,
  ConsentDiff.MappingError,
  SyncStore.SyncStore | ProfileStore.ProfileStore | IdentityResolver.IdentityResolver
> => Layer.effect(SyncEngine, make(options))
