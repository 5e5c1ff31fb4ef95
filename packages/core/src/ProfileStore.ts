/**
 * The ProfileStore: where records, the match graph, clusters, profile ids and aliases live.
 * A write is one batch of record upserts and removals, applied atomically with the
 * re-clustering it causes; reads return profiles with their member records.
 * The in-memory implementation is the embedded default.
 */
import { createHmac, randomBytes } from "node:crypto"
import { Context, Data, Effect, Layer, Option, Redacted, Stream } from "effect"
import * as Audit from "./Audit.js"
import type { ConsentEvent } from "./ConsentEvent.js"
import { Engine, type EngineStats } from "./internal/engine.js"
import * as Matcher from "./Matcher.js"
import type { ProfileEvent } from "./ProfileEvent.js"
import * as ResolverConfig from "./ResolverConfig.js"
import { type RecordRef, recordKey, type SourceRecord } from "./SourceRecord.js"

/** A corrected attribute value (GDPR Art. 16), recorded on the profile; it outranks every source. */
export interface Rectification {
  readonly attribute: string
  readonly value: string | number | boolean
  /** When it was made (ISO-8601). */
  readonly at: string
  /** Who made it (the person through a preference center, an operator). */
  readonly by: string
}

/** A profile as stored: its id, its member records, and what belongs to the profile itself. */
export interface StoredProfile {
  readonly profileId: string
  readonly records: ReadonlyArray<SourceRecord>
  /** Consent events attached to the profile rather than to a record (preference-center choices, GDPR flags). */
  readonly profileEvents: ReadonlyArray<ConsentEvent>
  readonly rectifications: ReadonlyArray<Rectification>
}

/** What erasing a profile removed: references only, so source systems can be told to erase too. */
export interface Erased {
  readonly profileId: string
  readonly records: ReadonlyArray<RecordRef>
  /** Suppression entries added (keyed hashes of record keys and identifiers, never the values). */
  readonly tombstones: number
}

/** An edge of the match graph between two member records. */
export interface StoredEdge {
  readonly a: SourceRecord
  readonly b: SourceRecord
}

/** A batch of changes. */
export interface WriteBatch {
  readonly upserts?: Iterable<SourceRecord>
  readonly removes?: Iterable<RecordRef>
  /** Collect typed events (default true); bulk loads turn this off to save memory. */
  readonly events?: boolean
}

/** What a batch did. */
export interface WriteResult {
  readonly created: number
  readonly updated: number
  readonly unchanged: number
  /** Upserts older (by updatedAt) than the stored record, ignored. */
  readonly stale: number
  readonly removed: number
  /** Removals of records the store did not hold. */
  readonly unknown: number
  /** Upserts refused because they belong to an erased person (their record key or an identifier is suppressed). */
  readonly suppressed: number
  readonly events: ReadonlyArray<ProfileEvent>
}

/** The state of one record pair in the match graph, for explanations. */
export interface PairState {
  readonly a: SourceRecord
  readonly b: SourceRecord
  readonly profileA: string | undefined
  readonly profileB: string | undefined
  /** They share a blocking key that is small enough to produce candidates. */
  readonly candidate: boolean
  /** Identifier types they share whose value is ambiguous (carried by people that veto each other) or too common. */
  readonly ambiguousIdentifierTypes: ReadonlyArray<string>
  readonly edge: boolean
}

/** A store failure (connection, conflict...). The in-memory store never fails. */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason: "Transport" | "Conflict" | "Unknown"
  readonly detail: string
}> {
  /** Whether trying again may succeed. */
  get isRetryable(): boolean {
    return this.reason !== "Unknown"
  }
  override get message(): string {
    return `ProfileStore ${this.reason}: ${this.detail}`
  }
}

/** The ProfileStore service. */
export class ProfileStore extends Context.Tag("@living-profile/core/ProfileStore")<
  ProfileStore,
  {
    readonly config: ResolverConfig.ResolverConfig
    readonly write: (batch: WriteBatch) => Effect.Effect<WriteResult, StoreError>
    readonly profile: (profileId: string) => Effect.Effect<Option.Option<StoredProfile>, StoreError>
    readonly profileIdOf: (ref: RecordRef) => Effect.Effect<Option.Option<string>, StoreError>
    readonly record: (ref: RecordRef) => Effect.Effect<Option.Option<SourceRecord>, StoreError>
    readonly edges: (profileId: string) => Effect.Effect<ReadonlyArray<StoredEdge>, StoreError>
    readonly pair: (a: RecordRef, b: RecordRef) => Effect.Effect<Option.Option<PairState>, StoreError>
    readonly profiles: Stream.Stream<StoredProfile, StoreError>
    readonly stats: Effect.Effect<EngineStats, StoreError>
    /** Attaches consent events to a profile itself; false when the profile does not exist. */
    readonly addProfileEvents: (
      profileId: string,
      events: ReadonlyArray<ConsentEvent>
    ) => Effect.Effect<boolean, StoreError>
    /** Records a rectification on a profile; false when the profile does not exist. */
    readonly addRectification: (
      profileId: string,
      rectification: Rectification
    ) => Effect.Effect<boolean, StoreError>
    /**
     * Erases a profile: every member record, everything attached to the profile, and its aliases;
     * leaves suppression tombstones so that re-ingesting the person's records does not bring them back.
     */
    readonly erase: (profileId: string) => Effect.Effect<Option.Option<Erased>, StoreError>
    /** Appends to the hash-chained audit log. */
    readonly appendAudit: (input: Audit.AuditInput) => Effect.Effect<Audit.AuditEntry, StoreError>
    /** The audit log, oldest first. */
    readonly auditEntries: Effect.Effect<ReadonlyArray<Audit.AuditEntry>, StoreError>
  }
>() {}

/** Options of the in-memory store. */
export interface MemoryOptions {
  /** Profile id for the n-th profile created (default `p` + base-36 sequence). */
  readonly profileId?: (seq: number) => string
  /**
   * Key of the suppression tombstones (HMAC-SHA-256). Default: random per store, which is enough
   * for a store that lives in one process; a persistent store must configure it.
   */
  readonly suppressionSecret?: Redacted.Redacted<string>
}

/**
 * The keyed hashes (HMAC-SHA-256, base64) that suppress an erased person's record: its record key
 * and each of its normalised identifiers (those `keep` accepts, default all). A persistent store
 * keeps these instead of the values.
 */
export const suppressionKeys = (
  record: SourceRecord,
  config: ResolverConfig.ResolverConfig,
  secret: Uint8Array | string,
  keep: (identifier: string) => boolean = () => true
): Array<string> => {
  const mac = (text: string) => createHmac("sha256", secret).update(text, "utf8").digest("base64")
  const out = [mac(`record\u001f${recordKey(record)}`)]
  for (const id of Matcher.identifierKeys(record, config)) if (keep(id)) out.push(mac(`id\u001f${id}`))
  return out
}

/**
 * The in-memory store with what a replicating store needs besides the contract: the member
 * references of a profile without decoding its records. A persistent store (Redis) keeps one of
 * these per process as its resolution engine, so that it has no matching logic of its own.
 */
export interface Replica extends ProfileStoreService {
  /** Member references of a live profile (aliases resolved), or undefined. */
  readonly membersOf: (profileId: string) => ReadonlyArray<RecordRef> | undefined
  /** The profile of a live record, synchronously. */
  readonly localProfileOf: (ref: RecordRef) => string | undefined
  /** Every live profile as (id, member references), in creation order. */
  readonly components: () => Iterable<{ readonly id: string; readonly members: ReadonlyArray<RecordRef> }>
  /** Engine counters, synchronously. */
  readonly engineStats: () => EngineStats
  /**
   * The suppression keys of erasing these records (see `tombstonesOf`): identifiers that a live
   * record outside them also carries (a shared info@ address, a household phone) are not the
   * erased person's to suppress, and are left out.
   */
  readonly tombstonesFor: (refs: ReadonlyArray<RecordRef>) => Array<string>
}

type ProfileStoreService = ProfileStore["Type"]

/** The in-memory store: everything in one process, no persistence. */
export const makeMemory = (
  config: ResolverConfig.ResolverConfig = ResolverConfig.defaults,
  options: MemoryOptions = {}
): ProfileStore["Type"] => makeReplica(config, options)

/** The in-memory store with the replica extras (see `Replica`). */
export const makeReplica = (
  config: ResolverConfig.ResolverConfig = ResolverConfig.defaults,
  options: MemoryOptions = {}
): Replica => {
  const engine = new Engine(config, options.profileId)
  const recordsOf = (members: ReadonlyArray<number>) => members.map((m) => engine.record(m)!)
  const profileData = new Map<string, { events: Array<ConsentEvent>; rectifications: Array<Rectification> }>()
  const audit = new Audit.AuditLog()
  const secret =
    options.suppressionSecret === undefined
      ? randomBytes(32)
      : Buffer.from(Redacted.value(options.suppressionSecret))
  const tombstones = new Set<string>()
  const keysOf = (record: SourceRecord) => suppressionKeys(record, config, secret)
  /** Tombstones of erasing `members`, leaving out identifiers a live record outside them carries. */
  const tombstonesOf = (members: ReadonlyArray<number>): Array<string> => {
    const erased = new Set(members)
    const own = (id: string) => engine.identifierHolders(id).every((h) => erased.has(h))
    const out: Array<string> = []
    for (const m of members) {
      const record = engine.record(m)
      if (record !== undefined) out.push(...suppressionKeys(record, config, secret, own))
    }
    return out
  }
  const isSuppressed = (record: SourceRecord): boolean => keysOf(record).some((k) => tombstones.has(k))
  /** Profile-level data of a profile and of every id merged into it. */
  const dataOf = (profileId: string) => {
    const events: Array<ConsentEvent> = []
    const rectifications: Array<Rectification> = []
    for (const id of [profileId, ...engine.aliasesOf(profileId)]) {
      const d = profileData.get(id)
      if (d === undefined) continue
      events.push(...d.events)
      rectifications.push(...d.rectifications)
    }
    return { profileEvents: events, rectifications }
  }
  const stored = (profileId: string, members: ReadonlyArray<number>): StoredProfile => ({
    profileId,
    records: recordsOf(members),
    ...dataOf(profileId)
  })
  const dataFor = (profileId: string) => {
    let d = profileData.get(profileId)
    if (d === undefined) profileData.set(profileId, (d = { events: [], rectifications: [] }))
    return d
  }
  const write = (batch: WriteBatch): WriteResult => {
    const events: Array<ProfileEvent> = []
    engine.collect(batch.events === false ? undefined : events)
    let created = 0
    let updated = 0
    let unchanged = 0
    let stale = 0
    let removed = 0
    let unknown = 0
    let suppressed = 0
    const fresh: Array<number> = []
    if (batch.upserts !== undefined) {
      for (const r of batch.upserts) {
        // A live record belongs to someone not erased: only new records can bring an erased person back.
        if (tombstones.size > 0 && engine.idOf(r) === undefined && isSuppressed(r)) {
          suppressed++
          continue
        }
        const outcome = engine.upsert(r)
        if (outcome === "created") {
          created++
          fresh.push(engine.refs.length - 1)
        } else if (outcome === "updated") updated++
        else if (outcome === "unchanged") unchanged++
        else stale++
      }
    }
    if (batch.removes !== undefined) {
      for (const ref of batch.removes) {
        if (engine.remove(ref)) removed++
        else unknown++
      }
    }
    engine.settle(fresh)
    engine.collect(undefined)
    return { created, updated, unchanged, stale, removed, unknown, suppressed, events }
  }
  const refsOf = (members: ReadonlyArray<number>) => members.map((m) => engine.refs[m]!)
  return {
    config,
    membersOf: (profileId) => {
      const members = engine.profileMembers(profileId)
      return members === undefined ? undefined : refsOf(members)
    },
    localProfileOf: (ref) => {
      const r = engine.idOf(ref)
      return r === undefined ? undefined : engine.profileOf(r)
    },
    components: function* () {
      for (const { id, members } of engine.profiles()) yield { id, members: refsOf(members) }
    },
    engineStats: () => ({ ...engine.stats }),
    tombstonesFor: (refs) => {
      const members: Array<number> = []
      for (const ref of refs) {
        const r = engine.idOf(ref)
        if (r !== undefined) members.push(r)
      }
      return tombstonesOf(members)
    },
    write: (batch) => Effect.sync(() => write(batch)),
    profile: (profileId) =>
      Effect.sync(() => {
        const current = engine.resolveProfileId(profileId)
        const members = current === undefined ? undefined : engine.profileMembers(current)
        return members === undefined || current === undefined
          ? Option.none()
          : Option.some(stored(current, members))
      }),
    profileIdOf: (ref) =>
      Effect.sync(() => {
        const r = engine.idOf(ref)
        return Option.fromNullable(r === undefined ? undefined : engine.profileOf(r))
      }),
    record: (ref) =>
      Effect.sync(() => {
        const r = engine.idOf(ref)
        return Option.fromNullable(r === undefined ? undefined : engine.record(r))
      }),
    edges: (profileId) =>
      Effect.sync(() => {
        const members = engine.profileMembers(profileId) ?? []
        const out: Array<StoredEdge> = []
        for (const m of members) {
          for (const n of engine.adj[m] ?? [])
            if (m < n) out.push({ a: engine.record(m)!, b: engine.record(n)! })
        }
        return out
      }),
    pair: (a, b) =>
      Effect.sync(() => {
        const x = engine.idOf(a)
        const y = engine.idOf(b)
        if (x === undefined || y === undefined) return Option.none()
        const bx = engine.blockStates(x)
        const by = engine.blockStates(y)
        const shared = bx.filter((s) => by.some((t) => t.block === s.block))
        const fx = Matcher.features(engine.record(x)!, config)
        const fy = Matcher.features(engine.record(y)!, config)
        const ambiguous = Matcher.sharedIds(fx, fy)
          .filter((id) => {
            const state = engine.identifierState(id)
            return state !== undefined && (state.ambiguous || !state.usable)
          })
          .map((id) => id.slice(0, id.indexOf(":")))
        return Option.some({
          a: engine.record(x)!,
          b: engine.record(y)!,
          profileA: engine.profileOf(x),
          profileB: engine.profileOf(y),
          candidate: shared.some((s) => s.usable),
          ambiguousIdentifierTypes: ambiguous,
          edge: (engine.adj[x] ?? []).includes(y)
        })
      }),
    profiles: Stream.suspend(() =>
      Stream.fromIterable(engine.profiles()).pipe(Stream.map(({ id, members }) => stored(id, members)))
    ),
    stats: Effect.sync(() => ({ ...engine.stats })),
    addProfileEvents: (profileId, events) =>
      Effect.sync(() => {
        const current = engine.resolveProfileId(profileId)
        if (current === undefined) return false
        dataFor(current).events.push(...events)
        return true
      }),
    addRectification: (profileId, rectification) =>
      Effect.sync(() => {
        const current = engine.resolveProfileId(profileId)
        if (current === undefined) return false
        dataFor(current).rectifications.push(rectification)
        return true
      }),
    erase: (profileId) =>
      Effect.sync(() => {
        const current = engine.resolveProfileId(profileId)
        const members = current === undefined ? undefined : engine.profileMembers(current)
        if (current === undefined || members === undefined) return Option.none()
        const ids = [current, ...engine.aliasesOf(current)]
        const refs: Array<RecordRef> = []
        let added = 0
        for (const k of tombstonesOf(members)) {
          if (!tombstones.has(k)) added++
          tombstones.add(k)
        }
        for (const m of members) refs.push({ ...engine.refs[m]! })
        engine.collect(undefined)
        for (const ref of refs) engine.remove(ref)
        engine.settle([])
        for (const m of members) engine.forget(m)
        for (const id of ids) profileData.delete(id)
        return Option.some({ profileId: current, records: refs, tombstones: added })
      }),
    appendAudit: (input) => Effect.sync(() => audit.append(input)),
    auditEntries: Effect.sync(() => audit.entries.slice())
  }
}

/** The in-memory store as a layer. */
export const layerMemory = (
  config: ResolverConfig.ResolverConfig = ResolverConfig.defaults,
  options: MemoryOptions = {}
): Layer.Layer<ProfileStore> => Layer.sync(ProfileStore, () => makeMemory(config, options))
