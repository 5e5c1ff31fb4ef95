/**
 * Materialisation: turning the partition the local engine computed into the profile ids held in
 * Redis, by the same rules as core's engine, from what Redis holds rather than from one process's
 * history (so every process, and a process replaying the log after an erasure, agrees):
 *
 * - a component whose members held no profile gets a new id;
 * - an old id goes to the component holding most of the records that hold it (ties: the older id
 *   first, then the component whose smallest record hash is smallest), preferring a component that
 *   has no id yet, so that a record moving from one profile to another moves alone; the other
 *   components holding some of its records are split off under new ids;
 * - a component that wins several old ids (a merge) keeps the oldest (ids sort by age) and the
 *   others become its aliases, their absorbed sets joining its own;
 * - an old id no component holds any more is deleted.
 *
 * This module is pure: it reads maps and returns commands and events; the store reads Redis,
 * allocates ids and applies the commands in one compare-and-set script.
 */
import { ProfileEvent, type ProfileStore, type SourceRecord } from "@living-profile/core"
import type { ProfileKeys } from "./ProfileKeys.js"

/** A profile event (core's bundled types keep the type only through WriteResult). */
type Event = ProfileStore.WriteResult["events"][number]

/** A component of the current partition, as record hashes. */
export interface Component {
  readonly members: ReadonlyArray<string>
}

/** What Redis holds for the records and profiles involved. */
export interface Held {
  /** Record hash -> its profile id (for every member and dead record involved). */
  readonly profileOf: ReadonlyMap<string, string>
  /** Old profile id -> its member hashes. */
  readonly membersOf: ReadonlyMap<string, ReadonlySet<string>>
  /** Old profile id -> the ids it absorbed. */
  readonly absorbedOf: ReadonlyMap<string, ReadonlyArray<string>>
}

/** Which old ids each component wins. */
export interface Assignment {
  /** Per component, the old ids it wins, oldest first. */
  readonly won: ReadonlyArray<ReadonlyArray<string>>
  /** Old ids held by no component. */
  readonly orphaned: ReadonlyArray<string>
  /** Old id -> indexes of the components holding some of its records. */
  readonly claimants: ReadonlyMap<string, ReadonlyArray<number>>
  /** How many components need a new id. */
  readonly fresh: number
}

const smallest = (xs: ReadonlyArray<string>): string => {
  let m = xs[0]!
  for (const x of xs) if (x < m) m = x
  return m
}

/** Decides which component keeps which old id. */
export const assign = (components: ReadonlyArray<Component>, held: Held): Assignment => {
  // How many of each old id's records each component holds.
  const counts = new Map<string, Map<number, number>>()
  components.forEach((c, i) => {
    for (const m of c.members) {
      const old = held.profileOf.get(m)
      if (old === undefined) continue
      let perComponent = counts.get(old)
      if (perComponent === undefined) counts.set(old, (perComponent = new Map()))
      perComponent.set(i, (perComponent.get(i) ?? 0) + 1)
    }
  })
  const mins = components.map((c) => smallest(c.members))
  const pairs: Array<{ old: string; i: number; n: number }> = []
  for (const [old, perComponent] of counts) for (const [i, n] of perComponent) pairs.push({ old, i, n })
  // Most records first, then the older id, then the component with the smaller first hash.
  pairs.sort(
    (a, b) => b.n - a.n || (a.old < b.old ? -1 : a.old > b.old ? 1 : 0) || (mins[a.i]! < mins[b.i]! ? -1 : 1)
  )
  const won: Array<Array<string>> = components.map(() => [])
  const owner = new Map<string, number>()
  // First every component takes at most one id, so that a record moving between profiles does not
  // drag the profile it left into the one it joined; then ids nobody took go to the component
  // holding most of their records, as aliases (a merge).
  for (const { old, i } of pairs) {
    if (owner.has(old) || won[i]!.length > 0) continue
    owner.set(old, i)
    won[i]!.push(old)
  }
  for (const { old, i } of pairs) {
    if (owner.has(old)) continue
    owner.set(old, i)
    won[i]!.push(old)
  }
  for (const w of won) w.sort()
  const claimants = new Map<string, Array<number>>()
  for (const [old, perComponent] of counts) claimants.set(old, [...perComponent.keys()])
  const orphaned = [...held.membersOf.keys()].filter((id) => !counts.has(id))
  return { won, orphaned, claimants, fresh: won.filter((w) => w.length === 0).length }
}

/** Redis commands (each an argument list) and the events of one materialisation. */
export interface Plan {
  readonly commands: ReadonlyArray<ReadonlyArray<string>>
  readonly events: ReadonlyArray<Event>
  /** The id each component ended with. */
  readonly ids: ReadonlyArray<string>
}

/** Arguments per command at most (Lua's unpack has a stack limit of about 8,000). */
const CHUNK = 1_000

const chunked = (head: ReadonlyArray<string>, items: ReadonlyArray<string>, out: Array<Array<string>>) => {
  for (let i = 0; i < items.length; i += CHUNK) out.push([...head, ...items.slice(i, i + CHUNK)])
}

/**
 * The commands that make Redis hold `components` under the assignment, `fresh` giving the new ids
 * (at least `assignment.fresh` of them); `dead` are record hashes that are no longer live.
 */
export const plan = (
  keys: ProfileKeys,
  components: ReadonlyArray<Component>,
  dead: Iterable<string>,
  held: Held,
  assignment: Assignment,
  fresh: ReadonlyArray<string>,
  refOf: (hash: string) => SourceRecord.RecordRef | undefined,
  withEvents: boolean
): Plan => {
  const commands: Array<Array<string>> = []
  const events: Array<Event> = []
  const ids: Array<string> = []
  const rpSet: Array<string> = []
  let next = 0
  components.forEach((c, i) => {
    const won = assignment.won[i]!
    const isNew = won.length === 0
    const id = isNew ? fresh[next++]! : won[0]!
    ids.push(id)
    const aliases = won.slice(1)
    const before = held.membersOf.get(id)
    if (before === undefined || before.size !== c.members.length || c.members.some((m) => !before.has(m))) {
      if (!isNew) commands.push(["DEL", keys.members(id)])
      chunked(["SADD", keys.members(id)], c.members, commands)
    }
    for (const m of c.members) if (held.profileOf.get(m) !== id) rpSet.push(m, id)
    for (const a of aliases) {
      commands.push(["HSET", keys.alias, a, id], ["DEL", keys.members(a)], ["DEL", keys.absorbed(a)])
      chunked(["SADD", keys.absorbed(id)], [a, ...(held.absorbedOf.get(a) ?? [])], commands)
      if (withEvents) events.push(ProfileEvent.ProfileEvent.ProfileMerged({ profileId: id, absorbed: a }))
    }
    if (!withEvents) return
    const fromOld = c.members.some((m) => held.profileOf.has(m))
    if (isNew && !fromOld) {
      events.push(
        ProfileEvent.ProfileEvent.ProfileCreated({ profileId: id, records: refsOf(c.members, refOf) })
      )
      return
    }
    for (const m of c.members) {
      const old = held.profileOf.get(m)
      if (old === id || (old !== undefined && aliases.includes(old))) continue
      const record = refOf(m)
      if (record === undefined) continue
      if (old !== undefined) events.push(ProfileEvent.ProfileEvent.RecordDetached({ profileId: old, record }))
      events.push(ProfileEvent.ProfileEvent.RecordAttached({ profileId: id, record }))
    }
  })
  chunked(["HSET", keys.rp], rpSet, commands)
  const gone: Array<string> = []
  for (const d of dead) {
    const old = held.profileOf.get(d)
    if (old === undefined) continue
    gone.push(d)
    const record = refOf(d)
    if (withEvents && record !== undefined)
      events.push(ProfileEvent.ProfileEvent.RecordDetached({ profileId: old, record }))
  }
  chunked(["HDEL", keys.rp], gone, commands)
  for (const id of assignment.orphaned) {
    commands.push(["DEL", keys.members(id)])
    if (withEvents) events.push(ProfileEvent.ProfileEvent.ProfileDeleted({ profileId: id }))
  }
  if (withEvents) {
    for (const [old, list] of assignment.claimants) {
      if (list.length > 1)
        events.push(
          ProfileEvent.ProfileEvent.ProfileSplit({ profileId: old, into: list.map((i) => ids[i]!) })
        )
    }
  }
  return { commands, events, ids }
}

const refsOf = (
  members: ReadonlyArray<string>,
  refOf: (hash: string) => SourceRecord.RecordRef | undefined
): Array<SourceRecord.RecordRef> => {
  const out: Array<SourceRecord.RecordRef> = []
  for (const m of members) {
    const r = refOf(m)
    if (r !== undefined) out.push(r)
  }
  return out
}
