/**
 * The IdentityResolver: ingest source records, read living profiles (attributes with
 * provenance, identifiers, records), and explain why records were or were not merged.
 * It sits on a ProfileStore; the in-memory store is the default.
 */
import { Context, Data, Effect, Either, Layer, Option, Stream } from "effect"
import * as ConsentEvent from "./ConsentEvent.js"
import * as ConsentLedger from "./ConsentLedger.js"
import * as Matcher from "./Matcher.js"
import * as ProfileStore from "./ProfileStore.js"
import * as ResolverConfig from "./ResolverConfig.js"
import type { RecordDecodeError, RecordRef, SourceRecord } from "./SourceRecord.js"
import * as Survivorship from "./Survivorship.js"

/** A living profile: one person, resolved from every source's records. */
export interface Profile {
  readonly profileId: string
  readonly records: ReadonlyArray<RecordRef>
  readonly attributes: Record<string, Survivorship.SurvivingValue>
  readonly identifiers: Record<string, ReadonlyArray<Survivorship.IdentifierValue>>
  /** Effective consent for every key that occurs in the profile's events, keyed `purpose/channel`. */
  readonly consent: ReturnType<typeof ConsentLedger.consentObject>
}

/** Why two member records of a profile are linked. */
export interface EdgeExplanation {
  readonly a: RecordRef
  readonly b: RecordRef
  /** `identifier`: a shared, unambiguous identifier; `fuzzy`: the score reached the threshold. */
  readonly rule: "identifier" | "fuzzy"
  /** Identifier types (never values) the two records share. */
  readonly sharedIdentifierTypes: ReadonlyArray<string>
  readonly score: number
  readonly threshold: number
  readonly evidence: ReadonlyArray<Matcher.Evidence>
}

/** What holds a profile together. */
export interface ProfileExplanation {
  readonly profileId: string
  readonly records: ReadonlyArray<RecordRef>
  readonly edges: ReadonlyArray<EdgeExplanation>
}

/** Why two records were or were not merged. */
export interface PairExplanation {
  readonly a: RecordRef
  readonly b: RecordRef
  readonly sameProfile: boolean
  readonly profileA: string | undefined
  readonly profileB: string | undefined
  /** `linked`: a direct edge; `connected`: same profile through other records; `separate`. */
  readonly outcome: "linked" | "connected" | "separate"
  readonly reason: string
  readonly candidate: boolean
  readonly vetoed: boolean
  readonly sharedIdentifierTypes: ReadonlyArray<string>
  readonly ambiguousIdentifierTypes: ReadonlyArray<string>
  readonly score: number
  readonly threshold: number
  readonly evidence: ReadonlyArray<Matcher.Evidence>
}

/** A profile id that is neither a live profile nor an alias of one. */
export class ProfileNotFound extends Data.TaggedError("ProfileNotFound")<{ readonly profileId: string }> {
  override get message(): string {
    return `no profile ${this.profileId}`
  }
}

/** A record the store does not hold. */
export class RecordNotFound extends Data.TaggedError("RecordNotFound")<{ readonly record: RecordRef }> {
  override get message(): string {
    return `no record ${this.record.source}/${this.record.id}`
  }
}

const ref = (r: SourceRecord): RecordRef => ({ source: r.source, id: r.id })

const typesOf = (ids: ReadonlyArray<string>): Array<string> => [
  ...new Set(ids.map((id) => id.slice(0, id.indexOf(":"))))
]

/** The consent ledger of a profile: its records' events (validated on ingestion) and its own. */
export const ledgerOf = (
  records: ReadonlyArray<SourceRecord>,
  profileEvents: ReadonlyArray<ConsentEvent.ConsentEvent> = []
): ConsentLedger.Ledger => {
  const events: Array<ConsentEvent.ConsentEvent> = [...profileEvents]
  for (const r of records) {
    if (r.consents === undefined || r.consents.length === 0) continue
    const decoded = ConsentEvent.fromRecordConsents(r)
    // Records reach the store through ingest, which rejects bad events; a bad one here is a bug.
    if (Either.isLeft(decoded)) throw decoded.left[0]
    for (const e of decoded.right) events.push(e)
  }
  return ConsentLedger.fromEvents(events)
}

/** Builds the living-profile view of stored member records; consent is read as of `now`. */
export const view = (
  stored: ProfileStore.StoredProfile,
  config: ResolverConfig.ResolverConfig,
  now: ConsentLedger.Now = Date.now()
): Profile => ({
  profileId: stored.profileId,
  records: stored.records.map(ref),
  attributes: Survivorship.attributes(stored.records, config.survivorship, stored.rectifications),
  identifiers: Survivorship.identifiers(stored.records),
  consent: ConsentLedger.consentObject(ledgerOf(stored.records, stored.profileEvents), now)
})

/** The IdentityResolver service. */
export class IdentityResolver extends Context.Tag("@living-profile/core/IdentityResolver")<
  IdentityResolver,
  {
    /**
     * Adds or updates records and re-clusters; returns what changed, with typed events. A record
     * with an invalid consent event fails the batch with a located error before anything is written.
     */
    readonly ingest: (
      records: Iterable<SourceRecord>,
      options?: { readonly events?: boolean }
    ) => Effect.Effect<ProfileStore.WriteResult, ProfileStore.StoreError | RecordDecodeError>
    /** Removes records; their profiles are re-evaluated and split where the evidence no longer holds. */
    readonly remove: (
      refs: Iterable<RecordRef>
    ) => Effect.Effect<ProfileStore.WriteResult, ProfileStore.StoreError>
    /** A profile by id or alias. */
    readonly profile: (profileId: string) => Effect.Effect<Profile, ProfileNotFound | ProfileStore.StoreError>
    /** The profile id a record belongs to. */
    readonly profileIdOf: (ref: RecordRef) => Effect.Effect<string, RecordNotFound | ProfileStore.StoreError>
    /** Every profile. */
    readonly profiles: Stream.Stream<Profile, ProfileStore.StoreError>
    /** The edges and evidence that hold a profile together. */
    readonly explain: (
      profileId: string
    ) => Effect.Effect<ProfileExplanation, ProfileNotFound | ProfileStore.StoreError>
    /** Why two records were or were not merged. */
    readonly explainPair: (
      a: RecordRef,
      b: RecordRef
    ) => Effect.Effect<PairExplanation, RecordNotFound | ProfileStore.StoreError>
  }
>() {}

/** Builds the resolver over the ProfileStore in context. */
export const make = Effect.gen(function* () {
  const store = yield* ProfileStore.ProfileStore
  const config = store.config
  const featuresOf = (r: SourceRecord) => Matcher.features(r, config)

  const explainEdge = (a: SourceRecord, b: SourceRecord): EdgeExplanation => {
    const c = Matcher.compare(featuresOf(a), featuresOf(b), config)
    return {
      a: ref(a),
      b: ref(b),
      rule: c.score >= config.threshold ? "fuzzy" : "identifier",
      sharedIdentifierTypes: typesOf(c.sharedIds),
      score: c.score,
      threshold: config.threshold,
      evidence: c.evidence
    }
  }

  const service: IdentityResolver["Type"] = {
    ingest: (records, options) =>
      Effect.suspend(
        (): Effect.Effect<ProfileStore.WriteResult, ProfileStore.StoreError | RecordDecodeError> => {
          const valid: Array<SourceRecord> = []
          for (const r of records) {
            const checked = ConsentEvent.checkRecord(r)
            if (Either.isLeft(checked)) return Effect.fail(checked.left)
            valid.push(r)
          }
          return store.write({
            upserts: valid,
            ...(options?.events === undefined ? {} : { events: options.events })
          })
        }
      ),
    remove: (refs) => store.write({ removes: refs }),
    profile: (profileId) =>
      store.profile(profileId).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(new ProfileNotFound({ profileId })),
            onSome: (p) => Effect.succeed(view(p, config))
          })
        )
      ),
    profileIdOf: (r) =>
      store.profileIdOf(r).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(new RecordNotFound({ record: r })),
            onSome: Effect.succeed
          })
        )
      ),
    profiles: store.profiles.pipe(Stream.map((p) => view(p, config))),
    explain: (profileId) =>
      Effect.gen(function* () {
        const p = yield* store.profile(profileId)
        if (Option.isNone(p)) return yield* Effect.fail(new ProfileNotFound({ profileId }))
        const edges = yield* store.edges(p.value.profileId)
        return {
          profileId: p.value.profileId,
          records: p.value.records.map(ref),
          edges: edges.map((e) => explainEdge(e.a, e.b))
        }
      }),
    explainPair: (a, b) =>
      Effect.gen(function* () {
        const state = yield* store.pair(a, b)
        if (Option.isNone(state)) {
          const missing = Option.isNone(yield* store.record(a)) ? a : b
          return yield* Effect.fail(new RecordNotFound({ record: missing }))
        }
        const s = state.value
        const c = Matcher.compare(featuresOf(s.a), featuresOf(s.b), config)
        const shared = typesOf(c.sharedIds)
        const sameProfile = s.profileA !== undefined && s.profileA === s.profileB
        const usableIds = shared.filter((t) => !s.ambiguousIdentifierTypes.includes(t))
        let reason: string
        if (!s.candidate) reason = "never compared: no shared blocking key small enough to produce candidates"
        else if (c.veto)
          reason =
            "vetoed: strong conflicting evidence (first names differ without an agreeing birth date, or birth dates differ without an agreeing first name)"
        else if (s.edge && c.score >= config.threshold)
          reason = `fuzzy score ${c.score} reached the threshold ${config.threshold}`
        else if (s.edge) reason = `shared identifier (${usableIds.join(", ")}) with no conflicting evidence`
        else if (shared.length > 0 && usableIds.length === 0)
          reason = `shared identifier (${shared.join(", ")}) is ambiguous or too common to link by itself, and the fuzzy score ${c.score} is below the threshold ${config.threshold}`
        else reason = `fuzzy score ${c.score} is below the threshold ${config.threshold}`
        if (!s.edge && sameProfile) reason += "; they are in one profile through other records"
        return {
          a,
          b,
          sameProfile,
          profileA: s.profileA,
          profileB: s.profileB,
          outcome: s.edge ? "linked" : sameProfile ? "connected" : "separate",
          reason,
          candidate: s.candidate,
          vetoed: c.veto,
          sharedIdentifierTypes: shared,
          ambiguousIdentifierTypes: s.ambiguousIdentifierTypes,
          score: c.score,
          threshold: config.threshold,
          evidence: c.evidence
        } satisfies PairExplanation
      })
  }
  return service
})

/** The resolver over the ProfileStore in context. */
export const layer: Layer.Layer<IdentityResolver, never, ProfileStore.ProfileStore> = Layer.effect(
  IdentityResolver,
  make
)

/** The resolver on the in-memory store: the embedded default. Provides both tags. */
export const layerMemory = (
  config: ResolverConfig.ResolverConfig = ResolverConfig.defaults,
  options: ProfileStore.MemoryOptions = {}
): Layer.Layer<IdentityResolver | ProfileStore.ProfileStore> =>
  Layer.provideMerge(layer, ProfileStore.layerMemory(config, options))
