/**
 * The ProfileStore: where records, the match graph, clusters, profile ids and aliases live.
 * A write is one batch of record upserts and removals, applied atomically with the
 * re-clustering it causes; reads return profiles with their member records.
 * The in-memory implementation is the embedded default.
 */
import { Context, Data, Effect, Layer, Option, Stream } from "effect"
import { Engine, type EngineStats } from "./internal/engine.js"
import * as Matcher from "./Matcher.js"
import type { ProfileEvent } from "./ProfileEvent.js"
import * as ResolverConfig from "./ResolverConfig.js"
import type { RecordRef, SourceRecord } from "./SourceRecord.js"

/** A profile as stored: its id and its member records. */
export interface StoredProfile {
  readonly profileId: string
  readonly records: ReadonlyArray<SourceRecord>
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
  }
>() {}

/** Options of the in-memory store. */
export interface MemoryOptions {
  /** Profile id for the n-th profile created (default `p` + base-36 sequence). */
  readonly profileId?: (seq: number) => string
}

/** The in-memory store: everything in one process, no persistence. */
export const makeMemory = (
  config: ResolverConfig.ResolverConfig = ResolverConfig.defaults,
  options: MemoryOptions = {}
): ProfileStore["Type"] => {
  const engine = new Engine(config, options.profileId)
  const recordsOf = (members: ReadonlyArray<number>) => members.map((m) => engine.records[m]!)
  const write = (batch: WriteBatch): WriteResult => {
    const events: Array<ProfileEvent> = []
    engine.collect(batch.events === false ? undefined : events)
    let created = 0
    let updated = 0
    let unchanged = 0
    let stale = 0
    let removed = 0
    let unknown = 0
    const fresh: Array<number> = []
    if (batch.upserts !== undefined) {
      for (const r of batch.upserts) {
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
    return { created, updated, unchanged, stale, removed, unknown, events }
  }
  return {
    config,
    write: (batch) => Effect.sync(() => write(batch)),
    profile: (profileId) =>
      Effect.sync(() => {
        const current = engine.resolveProfileId(profileId)
        const members = current === undefined ? undefined : engine.profileMembers(current)
        return members === undefined || current === undefined
          ? Option.none()
          : Option.some({ profileId: current, records: recordsOf(members) })
      }),
    profileIdOf: (ref) =>
      Effect.sync(() => {
        const r = engine.idOf(ref)
        return Option.fromNullable(r === undefined ? undefined : engine.profileOf(r))
      }),
    record: (ref) =>
      Effect.sync(() => {
        const r = engine.idOf(ref)
        return Option.fromNullable(r === undefined ? undefined : engine.records[r])
      }),
    edges: (profileId) =>
      Effect.sync(() => {
        const members = engine.profileMembers(profileId) ?? []
        const out: Array<StoredEdge> = []
        for (const m of members) {
          for (const n of engine.adj[m] ?? [])
            if (m < n) out.push({ a: engine.records[m]!, b: engine.records[n]! })
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
        const fx = Matcher.features(engine.records[x]!, config)
        const fy = Matcher.features(engine.records[y]!, config)
        const ambiguous = Matcher.sharedIds(fx, fy)
          .filter((id) => {
            const state = engine.identifierState(id)
            return state !== undefined && (state.ambiguous || !state.usable)
          })
          .map((id) => id.slice(0, id.indexOf(":")))
        return Option.some({
          a: engine.records[x]!,
          b: engine.records[y]!,
          profileA: engine.profileOf(x),
          profileB: engine.profileOf(y),
          candidate: shared.some((s) => s.usable),
          ambiguousIdentifierTypes: ambiguous,
          edge: (engine.adj[x] ?? []).includes(y)
        })
      }),
    profiles: Stream.suspend(() =>
      Stream.fromIterable(engine.profiles()).pipe(
        Stream.map(({ id, members }) => ({ profileId: id, records: recordsOf(members) }))
      )
    ),
    stats: Effect.sync(() => ({ ...engine.stats }))
  }
}

/** The in-memory store as a layer. */
export const layerMemory = (
  config: ResolverConfig.ResolverConfig = ResolverConfig.defaults,
  options: MemoryOptions = {}
): Layer.Layer<ProfileStore> => Layer.sync(ProfileStore, () => makeMemory(config, options))
