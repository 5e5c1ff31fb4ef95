/**
 * The preference center's domain, on the library: the living profile (in-memory resolver), the
 * consent targets (Salesforce and HubSpot adapters) and the sync engine that pushes diffs to them.
 *
 * Every operation takes the profile id the caller verified (from the signed link) and nothing else
 * that names a person. Views carry what the person may see about themselves; nothing here logs
 * personal data (logs name profile ids, targets and reason codes only).
 */
import {
  ConsentDiff,
  ConsentLedger,
  type ConsentTarget,
  DataSubject,
  IdentityResolver,
  type Outbox,
  ProfileStore,
  type SourceRecord,
  SyncEngine,
  SyncStore
} from "@living-profile/core"
import * as HubSpot from "@living-profile/hubspot"
import * as Salesforce from "@living-profile/salesforce"
import { Cause, Chunk, Clock, Context, Data, Duration, Effect, Layer, Option, Queue, Stream } from "effect"
import {
  attributeLabel,
  channelLabel,
  identifierLabel,
  isOffered,
  POLICY_VERSION,
  purposes,
  systemLabel
} from "./catalogue.js"

// ---------------------------------------------------------------------------------------------
// Services

/** The consent targets the center propagates to, in display order. */
export class Targets extends Context.Tag("@living-profile/example-preference-center/Targets")<
  Targets,
  ReadonlyArray<ConsentTarget.ConsentTarget>
>() {}

/** Runs sync cycles in the background whenever a profile changed, and retries what failed. */
export class Propagator extends Context.Tag("@living-profile/example-preference-center/Propagator")<
  Propagator,
  {
    /** Asks for a cycle soon; returns at once. */
    readonly kick: Effect.Effect<void>
    /** Runs a cycle now (after the one in flight) and returns its report. */
    readonly cycleNow: Effect.Effect<SyncEngine.CycleReport, ProfileStore.StoreError>
  }
>() {}

/** Erasures done in this process: ids and outcomes only, so a link of an erased profile can say so. */
export class Erasures extends Context.Tag("@living-profile/example-preference-center/Erasures")<
  Erasures,
  Map<string, ErasureRecord>
>() {}

/** How the center reaches the two systems. */
export interface Options {
  readonly salesforce: Salesforce.SalesforceConfig.Options
  readonly hubspot: HubSpot.HubSpotConfig.Options
}

/** The person asked for something the center does not offer. */
export class NotOffered extends Data.TaggedError("NotOffered")<{ readonly key: string }> {}

/** The profile of the link no longer exists because the person erased it here. */
export class Erased extends Data.TaggedError("Erased")<{ readonly erasure: ErasureView }> {}

/** Who asks, in the audit log: the person, through this center. */
const requester = (): DataSubject.Requester => ({ actor: "data-subject" })

/**
 * The center pushes and never pulls. A pull would bring the contacts the push itself created back
 * as identity records (Salesforce's carries a placeholder last name) and merge them into the
 * profile, which is the sync engine's job in a deployment, not a preference center's.
 */
const pushOnly = (target: ConsentTarget.ConsentTarget): ConsentTarget.ConsentTarget => ({
  ...target,
  capabilities: { ...target.capabilities, pull: false }
})

const makePropagator = Effect.gen(function* () {
  const engine = yield* SyncEngine.SyncEngine
  // Timers forked here end with the layer, so a closed app leaves no sleeping fiber behind.
  const scope = yield* Effect.scope
  const wake = yield* Queue.sliding<void>(1)
  const cycle = engine.runOnce({ drain: false })
  const afterCycle = (report: SyncEngine.CycleReport) =>
    Effect.gen(function* () {
      for (const o of report.outcomes)
        if (o.outcome === "retry" || o.outcome === "parked" || o.outcome === "stopped")
          yield* Effect.logWarning(
            `propagation to ${o.target} for ${o.profileId}: ${o.outcome} (${o.reason ?? "no reason"})`
          )
      // Items waiting for a retry get a cycle when they are due.
      const pending = yield* engine.pending
      if (pending.length === 0) return
      const now = yield* Clock.currentTimeMillis
      const next = Math.min(...pending.map((i) => i.nextAttemptAt))
      yield* Effect.forkIn(
        Effect.zipRight(
          Effect.sleep(Duration.millis(Math.max(50, next - now))),
          Queue.offer(wake, undefined)
        ),
        scope
      )
    })
  const loop = Effect.forever(
    Effect.zipRight(
      Queue.take(wake),
      // One failed cycle must not end the loop; the log names the error's tag, never its data.
      Effect.catchAllCause(Effect.flatMap(cycle, afterCycle), (cause) =>
        Effect.logError(
          `sync cycle failed: ${
            Chunk.join(
              Chunk.map(Cause.failures(cause), (e) => e._tag),
              ", "
            ) || "defect"
          }`
        )
      )
    )
  )
  yield* Effect.forkScoped(loop)
  return {
    kick: Effect.asVoid(Queue.offer(wake, undefined)),
    cycleNow: Effect.tap(cycle, afterCycle)
  }
})

/** Everything the center runs on, with the adapters made from `options`. */
export const layer = (options: Options) => {
  const resolver = IdentityResolver.layerMemory()
  const targets = Layer.scoped(
    Targets,
    Effect.gen(function* () {
      const sf = yield* Salesforce.make(options.salesforce)
      const hs = yield* HubSpot.make(options.hubspot)
      return [sf.target, hs.target]
    })
  )
  const engine = Layer.effect(
    SyncEngine.SyncEngine,
    Effect.flatMap(Targets, (ts) =>
      SyncEngine.make({
        targets: ts.map(pushOnly),
        // Only profiles the center touched are diffed: a choice is followed by `touch`.
        scan: "dirty",
        actor: "preference-center",
        // A person watches the status: retry soon, and give up (failed) within a minute.
        retry: { maxAttempts: 4, base: "500 millis", maxDelay: "10 seconds" }
      })
    )
  )
  const propagator = Layer.scoped(Propagator, makePropagator)
  const erasures = Layer.sync(Erasures, () => new Map<string, ErasureRecord>())
  return Layer.mergeAll(propagator, erasures).pipe(
    Layer.provideMerge(engine),
    Layer.provideMerge(targets),
    Layer.provideMerge(SyncStore.layerMemory),
    Layer.provideMerge(resolver)
  )
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Ingests records and marks every profile they touched for the next sync cycle. */
export const ingest = (records: ReadonlyArray<SourceRecord.SourceRecord>) =>
  Effect.gen(function* () {
    const resolver = yield* IdentityResolver.IdentityResolver
    return yield* resolver.ingest(records)
  })

/** Pushes every profile's consent to the targets once, so that they start in step with the profiles. */
export const syncAll = Effect.gen(function* () {
  const store = yield* ProfileStore.ProfileStore
  const engine = yield* SyncEngine.SyncEngine
  const propagator = yield* Propagator
  const ids = yield* Stream.runCollect(Stream.map(store.profiles, (p) => p.profileId))
  yield* engine.touch([...ids])
  return yield* propagator.cycleNow
})

// ---------------------------------------------------------------------------------------------
// Views

/** Whether a change has reached a system. */
export type PropagationState = "applied" | "pending" | "failed"

/** One system's state for one consent key. */
export interface TargetState {
  readonly target: string
  readonly label: string
  readonly state: PropagationState
  /** A reason code or a short explanation, never a value. */
  readonly detail?: string
}

/** One switch. */
export interface ChannelView {
  /** `purpose/channel`. */
  readonly key: string
  readonly purpose: string
  readonly channel: string
  readonly label: string
  /** The switch is on only for an effective grant (pending and expired grants do not count). */
  readonly granted: boolean
  readonly status: ConsentLedger.EffectiveStatus | null
  readonly capturedAt?: string
  readonly source?: string
  readonly sourceLabel?: string
  readonly policyVersion?: string
  /** Whether each system holding this key has the current choice; empty when there is no choice yet. */
  readonly targets: ReadonlyArray<TargetState>
  /** The systems that hold this key; empty: it stays in the living profile. */
  readonly heldBy: ReadonlyArray<{ readonly target: string; readonly label: string }>
}

/** One purpose and its switches. */
export interface PurposeView {
  readonly purpose: string
  readonly title: string
  readonly description: string
  readonly channels: ReadonlyArray<ChannelView>
}

/** A connected system, as a whole. */
export interface ConnectedView {
  readonly target: string
  readonly label: string
  /** The system's own id of the person (not personal data of theirs, but how to find them there). */
  readonly externalId?: string
  readonly state: PropagationState | "not-connected"
  readonly detail?: string
}

/** What the page shows. */
export interface CenterView {
  readonly profileId: string
  readonly policyVersion: string
  readonly firstName?: string
  readonly purposes: ReadonlyArray<PurposeView>
  readonly attributes: ReadonlyArray<{
    readonly name: string
    readonly label: string
    readonly value: string
    readonly source: string
    readonly sourceLabel: string
    readonly record: string
    readonly updatedAt?: string
    readonly rectified: boolean
  }>
  readonly identifiers: ReadonlyArray<{
    readonly type: string
    readonly label: string
    readonly values: ReadonlyArray<{
      readonly value: string
      readonly records: ReadonlyArray<{
        readonly source: string
        readonly sourceLabel: string
        readonly id: string
      }>
    }>
  }>
  readonly systems: ReadonlyArray<{
    readonly system: string
    readonly label: string
    readonly records: ReadonlyArray<string>
  }>
  readonly connected: ReadonlyArray<ConnectedView>
  readonly history: ReadonlyArray<{
    readonly at: string
    readonly key: string
    readonly label: string
    readonly status: string
    readonly source: string
    readonly sourceLabel: string
    readonly policyVersion?: string
  }>
  /** Something is still on its way to a system: the page polls until this is false. */
  readonly pending: boolean
}

type ReadBack =
  | { readonly _tag: "NotLinked" }
  | { readonly _tag: "Read"; readonly person: Option.Option<ConsentTarget.HeldPerson> }
  | { readonly _tag: "Unavailable"; readonly reason: string }

const targetLabel = (name: string): string => systemLabel(name)

/** What a target holds for the person now, read through its adapter (the "reading back"). */
const readBack = (
  target: ConsentTarget.ConsentTarget,
  links: ReadonlyArray<SyncStore.Link>
): Effect.Effect<ReadBack> => {
  const link = links.find((l) => l.target === target.name)
  if (link === undefined) return Effect.succeed({ _tag: "NotLinked" })
  return target.read([{ externalId: link.externalId }]).pipe(
    Effect.timeout("5 seconds"),
    Effect.map((held): ReadBack => ({ _tag: "Read", person: held[0] ?? Option.none() })),
    Effect.catchAll((e) =>
      Effect.succeed<ReadBack>({
        _tag: "Unavailable",
        reason: e._tag === "AdapterError" ? e.reason : "Timeout"
      })
    )
  )
}

const severity: Record<PropagationState, number> = { applied: 0, pending: 1, failed: 2 }

const failureText = (reason: string): string =>
  reason === "Rejected" ? "refused by the system" : `${reason}, retrying`

/** The state of one key in one target, from the outbox, the dead letters and the read-back. */
const keyState = (
  target: ConsentTarget.ConsentTarget,
  mapped: ConsentDiff.TargetMapping["keys"][number],
  want: ConsentLedger.Effective,
  pending: ReadonlyArray<Outbox.Item>,
  dead: ReadonlyArray<Outbox.DeadLetter>,
  read: ReadBack,
  addressable: boolean,
  acknowledged: ConsentDiff.KnownState | undefined
): TargetState => {
  const base = { target: target.name, label: targetLabel(target.name) }
  const touches = (item: Outbox.Item) =>
    item._tag === "Push" &&
    item.target === target.name &&
    item.diff.changes.some((c) => c.field === mapped.field)
  const inFlight = pending.find(touches)
  if (inFlight !== undefined) {
    return inFlight.lastError === undefined
      ? { ...base, state: "pending" }
      : { ...base, state: "failed", detail: failureText(inFlight.lastError.reason) }
  }
  const wanted = ConsentDiff.asHeld(target.mapping, mapped.field, want.status)
  if (read._tag === "Unavailable")
    return { ...base, state: "failed", detail: `could not check: ${read.reason}` }
  // What the system holds now decides, whatever became of earlier diffs (a parked one may be stale).
  if (read._tag === "Read" && Option.isSome(read.person)) {
    const held = read.person.value.fields.get(mapped.field)
    if (held !== undefined && held.status === wanted) return { ...base, state: "applied" }
    // Some fields show only one side (a Salesforce opt-out checkbox: set is denied, clear is no
    // state at all); a field showing nothing holds what the target last acknowledged.
    if (held === undefined && acknowledged?.status === wanted) return { ...base, state: "applied" }
  }
  const parked = dead.find((l) => touches(l.item))
  if (parked !== undefined)
    return { ...base, state: "failed", detail: `not delivered: ${parked.failure.reason}` }
  if (!addressable && read._tag === "NotLinked")
    return { ...base, state: "failed", detail: "no e-mail address to find you by" }
  return { ...base, state: "pending" }
}

const stringOf = (v: string | number | boolean): string => (typeof v === "string" ? v : String(v))

/** Loads the stored profile of a verified link, or says why there is none. */
const load = (profileId: string) =>
  Effect.gen(function* () {
    const store = yield* ProfileStore.ProfileStore
    const found = yield* store.profile(profileId)
    if (Option.isSome(found)) return found.value
    const erasures = yield* Erasures
    const erased = erasures.get(profileId)
    if (erased !== undefined) return yield* Effect.fail(new Erased({ erasure: yield* erasureView(erased) }))
    return yield* Effect.fail(new IdentityResolver.ProfileNotFound({ profileId }))
  })

/** Everything the page shows about the person of `profileId`. */
export const view = (profileId: string) =>
  Effect.gen(function* () {
    const store = yield* ProfileStore.ProfileStore
    const sync = yield* SyncStore.SyncStore
    const engine = yield* SyncEngine.SyncEngine
    const targets = yield* Targets
    const stored = yield* load(profileId)
    const P = stored.profileId
    const now = yield* Clock.currentTimeMillis
    const profile = IdentityResolver.view(stored, store.config, now)
    const ledger = IdentityResolver.ledgerOf(stored.records, stored.profileEvents)
    const desired = ConsentLedger.effectiveAll(ledger, now)
    const links = yield* sync.links(P)
    const pending = (yield* engine.pending).filter((i) => i.profileId === P)
    const dead = (yield* engine.deadLetters).filter((l) => l.item.profileId === P)
    const reads = yield* Effect.forEach(targets, (t) => readBack(t, links), { concurrency: "unbounded" })
    const known = yield* Effect.forEach(targets, (t) => sync.known(t.name, P))
    const addressable = (profile.identifiers["email"]?.length ?? 0) > 0

    const perTarget = new Map<string, Array<TargetState>>()
    const purposeViews: Array<PurposeView> = purposes.map((p) => ({
      purpose: p.purpose,
      title: p.title,
      description: p.description,
      channels: p.channels.map((c): ChannelView => {
        const key = `${p.purpose}/${c.channel}`
        const want = ConsentLedger.lookup(desired, { purpose: p.purpose, channel: c.channel })
        const states: Array<TargetState> = []
        const heldBy: Array<{ target: string; label: string }> = []
        targets.forEach((t, i) => {
          const mapped = t.mapping.keys.find((k) => k.purpose === p.purpose && k.channel === c.channel)
          if (mapped === undefined) return
          heldBy.push({ target: t.name, label: targetLabel(t.name) })
          // Nothing chosen yet: nothing to send, so no state to show.
          if (want === undefined) return
          const s = keyState(
            t,
            mapped,
            want,
            pending,
            dead,
            reads[i]!,
            addressable,
            known[i]!.get(mapped.field)
          )
          states.push(s)
          const list = perTarget.get(t.name)
          if (list === undefined) perTarget.set(t.name, [s])
          else list.push(s)
        })
        return {
          key,
          purpose: p.purpose,
          channel: c.channel,
          label: c.label,
          granted: want?.status === "granted",
          status: want?.status ?? null,
          ...(want === undefined
            ? {}
            : { capturedAt: want.capturedAt, source: want.source, sourceLabel: systemLabel(want.source) }),
          ...(want?.policyVersion === undefined ? {} : { policyVersion: want.policyVersion }),
          targets: states,
          heldBy
        }
      })
    }))

    const connected: Array<ConnectedView> = targets.map((t, i) => {
      const link = links.find((l) => l.target === t.name)
      const states = perTarget.get(t.name) ?? []
      const read = reads[i]!
      const worst = states.reduce<TargetState | undefined>(
        (acc, s) => (acc === undefined || severity[s.state] > severity[acc.state] ? s : acc),
        undefined
      )
      const base = {
        target: t.name,
        label: targetLabel(t.name),
        ...(link === undefined ? {} : { externalId: link.externalId })
      }
      if (read._tag === "Unavailable")
        return { ...base, state: "failed", detail: `could not check: ${read.reason}` } satisfies ConnectedView
      if (link === undefined && worst === undefined)
        return {
          ...base,
          state: "not-connected",
          detail: addressable ? "nothing to send yet" : "no e-mail address to find you by"
        } satisfies ConnectedView
      return {
        ...base,
        state: worst?.state ?? "applied",
        ...(worst?.detail === undefined ? {} : { detail: worst.detail })
      } satisfies ConnectedView
    })

    const attributes = Object.entries(profile.attributes)
      .sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : 1))
      .map(([name, v]) => ({
        name,
        label: attributeLabel(name),
        value: stringOf(v.value),
        source: v.source,
        sourceLabel: systemLabel(v.source),
        record: v.id,
        ...(v.updatedAt === undefined ? {} : { updatedAt: v.updatedAt }),
        rectified: v.policy === "rectified"
      }))

    const identifiers = Object.entries(profile.identifiers).map(([type, values]) => ({
      type,
      label: identifierLabel(type),
      values: values.map((v) => ({
        value: v.value,
        records: v.records.map((r) => ({ source: r.source, sourceLabel: systemLabel(r.source), id: r.id }))
      }))
    }))

    const bySystem = new Map<string, Array<string>>()
    for (const r of stored.records) {
      const ids = bySystem.get(r.source)
      if (ids === undefined) bySystem.set(r.source, [r.id])
      else ids.push(r.id)
    }
    const systems = [...bySystem.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([system, records]) => ({ system, label: systemLabel(system), records: records.sort() }))

    const history = ConsentLedger.events(ledger)
      .filter((e) => e.kind === "consent")
      .sort((a, b) => (a.capturedAt < b.capturedAt ? 1 : a.capturedAt > b.capturedAt ? -1 : 0))
      .map((e) => ({
        at: e.capturedAt,
        key: `${e.purpose}/${e.channel}`,
        label: `${purposeTitle(e.purpose)}: ${channelLabel(e.channel)}`,
        status: e.status,
        source: e.source,
        sourceLabel: systemLabel(e.source),
        ...(e.policyVersion === undefined ? {} : { policyVersion: e.policyVersion })
      }))

    const firstName = profile.attributes["firstName"]?.value
    return {
      profileId: P,
      policyVersion: POLICY_VERSION,
      ...(firstName === undefined ? {} : { firstName: stringOf(firstName) }),
      purposes: purposeViews,
      attributes,
      identifiers,
      systems,
      connected,
      history,
      pending: connected.some((c) => c.state === "pending")
    } satisfies CenterView
  })

const attributeOrder = ["firstName", "lastName", "birthDate", "street", "postcode", "city", "country"]
const order = (name: string): number => {
  const i = attributeOrder.indexOf(name)
  return i < 0 ? attributeOrder.length : i
}

const purposeTitle = (purpose: string): string =>
  purposes.find((p) => p.purpose === purpose)?.title ?? purpose

// ---------------------------------------------------------------------------------------------
// Requests

/**
 * A switch: a profile-level consent event with the policy version shown on the page, then a sync
 * cycle for the profile. Switching off withdraws a grant, or denies what was never granted.
 */
export const choose = (profileId: string, purpose: string, channel: string, granted: boolean) =>
  Effect.gen(function* () {
    if (!isOffered(purpose, channel))
      return yield* Effect.fail(new NotOffered({ key: `${purpose}/${channel}` }))
    const stored = yield* load(profileId)
    const now = yield* Clock.currentTimeMillis
    const desired = ConsentLedger.effectiveAll(
      IdentityResolver.ledgerOf(stored.records, stored.profileEvents),
      now
    )
    const current = ConsentLedger.lookup(desired, {
      purpose,
      channel: channel as ConsentLedger.ConsentKey["channel"]
    })
    const status = granted ? "granted" : current?.status === "granted" ? "withdrawn" : "denied"
    const { event, receipt } = yield* DataSubject.choose(
      stored.profileId,
      {
        purpose,
        channel: channel as ConsentLedger.ConsentKey["channel"],
        status,
        legalBasis: "consent",
        policyVersion: POLICY_VERSION
      },
      requester()
    )
    const engine = yield* SyncEngine.SyncEngine
    yield* engine.touch([stored.profileId])
    yield* (yield* Propagator).kick
    return { eventId: event.eventId, receipt }
  })

/** Access and portability: the whole profile as one JSON document (the library's export schema). */
export const exportProfile = (profileId: string) =>
  Effect.gen(function* () {
    const stored = yield* load(profileId)
    return yield* DataSubject.access(stored.profileId, requester())
  })

/** An erasure as this process remembers it: ids, counts and outbox item ids, no personal data. */
export interface ErasureRecord {
  readonly profileId: string
  readonly erasedAt: string
  readonly sources: ReadonlyArray<{ readonly system: string; readonly records: number }>
  /** Per target: the erase item sent, if the target held the person. */
  readonly targets: ReadonlyArray<{ readonly target: string; readonly itemId?: string }>
}

/** What the page shows after an erasure. */
export interface ErasureView {
  readonly profileId: string
  readonly erasedAt: string
  readonly sources: ReadonlyArray<{
    readonly system: string
    readonly label: string
    readonly records: number
  }>
  readonly targets: ReadonlyArray<{
    readonly target: string
    readonly label: string
    readonly state: PropagationState | "nothing-held"
    readonly detail?: string
  }>
}

const erasureView = (r: ErasureRecord) =>
  Effect.gen(function* () {
    const engine = yield* SyncEngine.SyncEngine
    const pending = yield* engine.pending
    const dead = yield* engine.deadLetters
    return {
      profileId: r.profileId,
      erasedAt: r.erasedAt,
      sources: r.sources.map((s) => ({ ...s, label: systemLabel(s.system) })),
      targets: r.targets.map((t) => {
        const base = { target: t.target, label: targetLabel(t.target) }
        if (t.itemId === undefined) return { ...base, state: "nothing-held" as const }
        const waiting = pending.find((i) => i.id === t.itemId)
        if (waiting !== undefined)
          return waiting.lastError === undefined
            ? { ...base, state: "pending" as const }
            : { ...base, state: "failed" as const, detail: failureText(waiting.lastError.reason) }
        const parked = dead.find((l) => l.item.id === t.itemId)
        if (parked !== undefined)
          return { ...base, state: "failed" as const, detail: `not erased: ${parked.failure.reason}` }
        return { ...base, state: "applied" as const }
      })
    } satisfies ErasureView
  })

/**
 * Erasure: the library erases the profile (leaving suppression tombstones so that re-ingesting the
 * records does not bring the person back), the sync engine turns it into erase items for every
 * system holding the person, and one cycle runs them through the adapters' `erase` at once.
 */
export const erase = (profileId: string) =>
  Effect.gen(function* () {
    const stored = yield* load(profileId)
    const engine = yield* SyncEngine.SyncEngine
    const targets = yield* Targets
    const { erasure, items } = yield* engine.eraseProfile(stored.profileId, requester())
    yield* (yield* Propagator).cycleNow
    const record: ErasureRecord = {
      profileId: erasure.profileId,
      erasedAt: new Date(yield* Clock.currentTimeMillis).toISOString(),
      sources: erasure.tasks.map((t) => ({ system: t.system, records: t.records.length })),
      targets: targets.map((t) => {
        const item = items.find((i) => i.target === t.name)
        return item === undefined ? { target: t.name } : { target: t.name, itemId: item.id }
      })
    }
    const erasures = yield* Erasures
    erasures.set(profileId, record)
    if (erasure.profileId !== profileId) erasures.set(erasure.profileId, record)
    return yield* erasureView(record)
  })
