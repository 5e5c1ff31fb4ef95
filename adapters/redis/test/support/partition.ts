/**
 * Clusterings compared as sets of sets of record keys: what a store lists through its `profiles`
 * stream, and what core's single-process in-memory store computes over the same records (the
 * reference every replica of the Redis store must agree with).
 */
import { expect } from "@effect/vitest"
import { ProfileStore, type SourceRecord } from "@living-profile/core"
import { Synthetic } from "@living-profile/testkit"
import { Effect, Option, Stream } from "effect"

type Rec = SourceRecord.SourceRecord
type Ref = SourceRecord.RecordRef
type Store = ProfileStore.ProfileStore["Type"]

/** The seeded synthetic records (the same in the test and in every worker). */
export const synthetic = (records: number, seed: number): Array<Rec> =>
  [...Synthetic.generate({ records, seed })].map(({ record }) => record as Rec)

/** Consecutive batches of `size`. */
export const batches = <A>(xs: ReadonlyArray<A>, size: number): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

/** An unambiguous printable key of a record. */
export const keyOf = (r: Ref): string => JSON.stringify([r.source, r.id])

/** A clustering as a sorted list of sorted groups of keys: equal iff the set of sets is. */
export type Partition = ReadonlyArray<ReadonlyArray<string>>

const byJoined = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => {
  const x = a.join("\n")
  const y = b.join("\n")
  return x < y ? -1 : x > y ? 1 : 0
}

/** The partition of some profiles. */
export const partitionOf = (profiles: Iterable<ProfileStore.StoredProfile>): Partition =>
  [...profiles].map((p) => p.records.map(keyOf).sort()).sort(byJoined)

/** Every profile the store lists. */
export const listed = (
  store: Store
): Effect.Effect<Array<ProfileStore.StoredProfile>, ProfileStore.StoreError> =>
  Effect.map(Stream.runCollect(store.profiles), (c) => [...c])

/** What core's in-memory store makes of `records`, written in batches of 100. */
export const memoryPartition = (records: ReadonlyArray<Rec>): Effect.Effect<Partition> =>
  Effect.gen(function* () {
    const memory = ProfileStore.makeMemory()
    for (const batch of batches(records, 100)) yield* memory.write({ upserts: batch, events: false })
    return partitionOf(yield* listed(memory))
  }).pipe(Effect.orDie)

/**
 * The listed profiles are a partition (no record twice, no profile id twice) and every record's
 * `profileIdOf` names the profile that lists it; `refs` must each have a profile.
 */
export const expectIdsAgree = (
  store: Store,
  profiles: ReadonlyArray<ProfileStore.StoredProfile>,
  refs: ReadonlyArray<Ref> = []
): Effect.Effect<void, ProfileStore.StoreError> =>
  Effect.gen(function* () {
    const owner = new Map<string, string>()
    const ids = new Set<string>()
    for (const p of profiles) {
      expect(ids.has(p.profileId), `profile ${p.profileId} listed twice`).toBe(false)
      ids.add(p.profileId)
      for (const r of p.records) {
        expect(owner.get(keyOf(r)), `${keyOf(r)} in two profiles`).toBeUndefined()
        owner.set(keyOf(r), p.profileId)
      }
    }
    const all = new Map<string, Ref>()
    for (const p of profiles) for (const r of p.records) all.set(keyOf(r), r)
    for (const r of refs) all.set(keyOf(r), r)
    const found = yield* Effect.forEach(
      [...all.values()],
      (r) => Effect.map(store.profileIdOf(r), (id) => [keyOf(r), Option.getOrUndefined(id)] as const),
      { concurrency: 32 }
    )
    const wrong = found.filter(([k, id]) => id === undefined || owner.get(k) !== id)
    expect(
      wrong.slice(0, 5).map(([k, id]) => `${k}: profileIdOf ${id}, listed in ${owner.get(k)}`),
      `${wrong.length} records whose profileIdOf disagrees with the profile listing them`
    ).toEqual([])
  })
