/**
 * Building blocks of the profile store suite: persons that cannot match each other by accident,
 * records with ids and e-mails unique to one test, and comparisons that look at record keys and
 * profile-id equality only (profile ids are opaque: the suite never reads their format).
 */
import { ConsentEvent, type ProfileStore, type SourceRecord } from "@living-profile/core"
import { Effect, Option, Stream } from "effect"
import { token } from "./consentTarget.js"

type Store = ProfileStore.ProfileStore["Type"]
type Rec = SourceRecord.SourceRecord
type Ref = SourceRecord.RecordRef
/** A profile event (core's bundled declarations drop the `ProfileEvent.ProfileEvent` type, so it is read off the write result). */
type Event = ProfileStore.WriteResult["events"][number]

/** A person: names and birth date that differ from every other person's beyond any fuzzy match. */
export interface Person {
  readonly firstName: string
  readonly lastName: string
  readonly birthDate: string
}

/**
 * Sixteen people whose first names, last names and birth dates all differ, so that any two of them
 * veto each other (different first names without an agreeing birth date).
 */
export const people: ReadonlyArray<Person> = [
  ["Ayşe", "Yılmaz", "1950-01-05"],
  ["Kenji", "Sato", "1953-02-10"],
  ["Priya", "Nair", "1956-03-15"],
  ["Olumide", "Adeyemi", "1959-04-20"],
  ["Bartholomew", "Fitzgerald", "1962-05-25"],
  ["Ingrid", "Lindqvist", "1965-06-03"],
  ["Mateo", "Quintero", "1968-07-08"],
  ["Zofia", "Wiśniewska", "1971-08-13"],
  ["Hamza", "Bouazizi", "1974-09-18"],
  ["Chidinma", "Okafor", "1977-10-23"],
  ["Ruairí", "Ó Briain", "1980-11-28"],
  ["Xiadani", "Tzompa", "1983-12-02"],
  ["Gunnhild", "Haraldsen", "1986-01-17"],
  ["Thandiwe", "Mokoena", "1989-02-22"],
  ["Vikram", "Raghunathan", "1992-03-27"],
  ["Eulalia", "Bustamante", "1995-04-09"]
].map(([firstName, lastName, birthDate]) => ({
  firstName: firstName!,
  lastName: lastName!,
  birthDate: birthDate!
}))

/** The person at `i` (the list is fixed, so an out-of-range index is a bug in the suite). */
export const person = (i: number): Person => {
  const p = people[i]
  if (p === undefined) throw new Error(`the suite has no person ${i}`)
  return p
}

/**
 * A person's names without a birth date: two such records agree on names only, which is not enough
 * to match, so whatever links them is the evidence the test gives them (a shared e-mail).
 */
export const namesOf = (p: Person): Readonly<Record<string, string>> => ({
  firstName: p.firstName,
  lastName: p.lastName
})

/** A person's names and birth date. */
export const fullOf = (p: Person): Readonly<Record<string, string>> => ({
  firstName: p.firstName,
  lastName: p.lastName,
  birthDate: p.birthDate
})

/** An instant `k` days after a fixed past moment: updates use larger `k`, stale writes smaller. */
export const day = (k: number): string => new Date(Date.UTC(2024, 0, 10) + k * 86_400_000).toISOString()

/** Names for one test: record ids and e-mail addresses no other test (or run) uses. */
export interface Names {
  readonly ref: (source: string, name: string) => Ref
  readonly email: (name: string) => string
}

/** Fresh names for one test. */
export const fresh = (): Names => {
  const t = token()
  return {
    ref: (source, name) => ({ source, id: `${name}-${t}` }),
    email: (name) => `kit.${name}.${t}@example.test`
  }
}

/** A record at `ref` with these attributes and identifiers, updated at `updatedAt` (default day 0). */
export const rec = (
  ref: Ref,
  attributes: Readonly<Record<string, string | number | boolean | null>>,
  identifiers: Readonly<Record<string, ReadonlyArray<string>>> = {},
  updatedAt: string = day(0)
): Rec => ({ source: ref.source, id: ref.id, updatedAt, attributes, identifiers })

/** The ref of a record (only its key). */
export const refOf = (r: Ref): Ref => ({ source: r.source, id: r.id })

/** An unambiguous printable key of a record ref (ids may hold `/`, `:` and braces). */
export const keyOf = (r: Ref): string => JSON.stringify([r.source, r.id])

/** The sorted keys of some records or refs. */
export const keysOf = (rs: Iterable<Ref>): Array<string> => [...rs].map(keyOf).sort()

/** The value of an option, or a failure naming what was missing. */
export const get = <A>(o: Option.Option<A>, what: string): A => {
  if (Option.isNone(o)) throw new Error(`expected ${what}, got none`)
  return o.value
}

/** Every profile the store lists. */
export const allProfiles = (store: Store): Effect.Effect<Array<ProfileStore.StoredProfile>, unknown> =>
  Effect.map(Stream.runCollect(store.profiles), (c) => [...c])

/** A clustering as a sorted list of sorted groups of record keys: equal iff the set of sets is. */
export const partitionOf = (profiles: Iterable<ProfileStore.StoredProfile>): Array<Array<string>> =>
  [...profiles].map((p) => keysOf(p.records)).sort(compareGroups)

/** The partition the store lists. */
export const storedPartition = (store: Store): Effect.Effect<Array<Array<string>>, unknown> =>
  Effect.map(allProfiles(store), partitionOf)

const compareGroups = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  const x = a.join("\n")
  const y = b.join("\n")
  return x < y ? -1 : x > y ? 1 : 0
}

/** The partition read record by record through `profileIdOf` (a second read path to the same clustering). */
export const partitionByIds = (
  store: Store,
  refs: ReadonlyArray<Ref>
): Effect.Effect<Array<Array<string>>, unknown> =>
  Effect.gen(function* () {
    const groups = new Map<string, Array<Ref>>()
    for (const ref of refs) {
      const id = get(yield* store.profileIdOf(ref), `the profile id of ${keyOf(ref)}`)
      const g = groups.get(id)
      if (g === undefined) groups.set(id, [ref])
      else g.push(ref)
    }
    return [...groups.values()].map(keysOf).sort(compareGroups)
  })

/** The profile id of each ref, by key. */
export const idsOf = (store: Store, refs: ReadonlyArray<Ref>): Effect.Effect<Map<string, string>, unknown> =>
  Effect.gen(function* () {
    const out = new Map<string, string>()
    for (const ref of refs)
      out.set(keyOf(ref), get(yield* store.profileIdOf(ref), `the profile id of ${keyOf(ref)}`))
    return out
  })

/** The counters of a write result (everything but the events). */
export const counts = (w: ProfileStore.WriteResult) => ({
  created: w.created,
  updated: w.updated,
  unchanged: w.unchanged,
  stale: w.stale,
  removed: w.removed,
  unknown: w.unknown,
  suppressed: w.suppressed
})

/** Zero counters, to spread the expected ones over. */
export const none = {
  created: 0,
  updated: 0,
  unchanged: 0,
  stale: 0,
  removed: 0,
  unknown: 0,
  suppressed: 0
} as const

/** The event tags of write results. */
export const tagsOf = (...results: ReadonlyArray<ProfileStore.WriteResult>): Set<string> =>
  new Set(results.flatMap((w) => w.events.map((e) => e._tag)))

/** The events with one tag. */
export const eventsTagged = <T extends Event["_tag"]>(
  w: ProfileStore.WriteResult,
  tag: T
): Array<Extract<Event, { readonly _tag: T }>> =>
  w.events.filter((e): e is Extract<Event, { readonly _tag: T }> => e._tag === tag)

/** A profile-level consent event (a preference-center choice), distinct per `n`. */
export const choice = (n: number, status: ConsentEvent.Status = "granted"): ConsentEvent.ConsentEvent =>
  ConsentEvent.make({
    eventId: `kit-choice-${n}-${token()}`,
    purpose: n % 2 === 0 ? "marketing" : "analytics",
    channel: n % 2 === 0 ? "email" : "any",
    status,
    legalBasis: "consent",
    capturedAt: day(n),
    source: "preference-center",
    policyVersion: `2025-0${1 + (n % 9)}`
  })

/** Sorts events by id, to compare lists whose order the contract leaves open. */
export const byEventId = (es: ReadonlyArray<ConsentEvent.ConsentEvent>): Array<ConsentEvent.ConsentEvent> =>
  [...es].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0))

/** A seeded shuffle (mulberry32, Fisher-Yates): another order of the same records, the same every run. */
export const shuffled = <A>(items: ReadonlyArray<A>, seed: number): Array<A> => {
  let s = seed | 0
  const next = () => {
    let t = (s = (s + 0x6d2b79f5) | 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}

/** Splits items into consecutive batches of the given sizes, cycling through them. */
export const batches = <A>(items: ReadonlyArray<A>, sizes: ReadonlyArray<number>): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  for (let i = 0, k = 0; i < items.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]!)
    out.push(items.slice(i, i + n))
    i += n
  }
  return out
}
