/**
 * The SyncStore: what the sync engine checkpoints so that it resumes after a crash or a restart.
 *
 * - per source or target: the pull cursor and when it was last pulled;
 * - per (target, profile): the known state, field name to what the target holds (what it last
 *   acknowledged or what was last pulled from it);
 * - links between a target's person (`PersonRef.externalId`) and a profile id;
 * - the profiles whose diffs are still to be computed (dirty), so that a crash between a pull and
 *   the outbox loses no change;
 * - the outbox (at most one pending item per kind, target and profile) and the dead letters.
 *
 * Every operation is small and atomic on its own (a persistent store maps each onto one Redis
 * command or one short script) and takes no callback, so an implementation needs no transactions
 * spanning the engine's logic. The engine orders its writes so that any prefix of them is safe.
 * The in-memory implementation is the embedded default; `overlay` is what a dry run writes to.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { KnownState } from "./ConsentDiff.js"
import * as Outbox from "./Outbox.js"
import { StoreError } from "./ProfileStore.js"

/** A target's person linked to a profile. */
export interface Link {
  readonly target: string
  /** The id the target gave the person. */
  readonly externalId: string
  readonly profileId: string
}

/**
 * What `enqueue` did: `added`; `replaced` a pending item of the same key (see `Outbox.supersede`);
 * `unchanged` (the same item was pending); `dead` (the same item is a dead letter: not retried
 * until it is requeued, so that a refused diff is not sent again every cycle).
 */
export type EnqueueOutcome = "added" | "replaced" | "unchanged" | "dead"

/** How a store operation failed (the same error as the ProfileStore's). */
export { StoreError }

/** The SyncStore service. */
export class SyncStore extends Context.Tag("@living-profile/core/SyncStore")<
  SyncStore,
  {
    /** The cursor to resume a source's or target's pull from; none: from the beginning. */
    readonly cursor: (source: string) => Effect.Effect<Option.Option<string>, StoreError>
    /** Checkpoints a pull cursor. */
    readonly setCursor: (source: string, cursor: string) => Effect.Effect<void, StoreError>
    /** When the last complete pull of a target started (epoch millis). */
    readonly lastSync: (target: string) => Effect.Effect<Option.Option<number>, StoreError>
    /** Records when a complete pull of a target started. */
    readonly setLastSync: (target: string, at: number) => Effect.Effect<void, StoreError>
    /** The known state of a profile in a target, field name to state; empty when nothing is known. */
    readonly known: (
      target: string,
      profileId: string
    ) => Effect.Effect<ReadonlyMap<string, KnownState>, StoreError>
    /** Sets the given fields of a profile's known state in a target; other fields stay. */
    readonly setKnown: (
      target: string,
      profileId: string,
      fields: ReadonlyMap<string, KnownState>
    ) => Effect.Effect<void, StoreError>
    /** Drops a profile's known state in a target. */
    readonly forget: (target: string, profileId: string) => Effect.Effect<void, StoreError>
    /** The profile a target's person is linked to. */
    readonly linked: (target: string, externalId: string) => Effect.Effect<Option.Option<string>, StoreError>
    /** The persons linked to a profile, in every target, oldest link first. */
    readonly links: (profileId: string) => Effect.Effect<ReadonlyArray<Link>, StoreError>
    /** Links a target's person to a profile (moving it from another profile if it was linked). */
    readonly link: (link: Link) => Effect.Effect<void, StoreError>
    /** Removes a target's person's link. */
    readonly unlink: (target: string, externalId: string) => Effect.Effect<void, StoreError>
    /** Marks profiles whose diffs must be computed again. */
    readonly markDirty: (profileIds: ReadonlyArray<string>) => Effect.Effect<void, StoreError>
    /** Up to `limit` dirty profiles, oldest mark first. */
    readonly dirty: (limit: number) => Effect.Effect<ReadonlyArray<string>, StoreError>
    /** Clears the dirty marks of profiles whose diffs are in the outbox. */
    readonly clearDirty: (profileIds: ReadonlyArray<string>) => Effect.Effect<void, StoreError>
    /** Records an item, one pending per key (see EnqueueOutcome). */
    readonly enqueue: (item: Outbox.Item) => Effect.Effect<EnqueueOutcome, StoreError>
    /** The pending item of a key. */
    readonly pendingFor: (
      kind: Outbox.Kind,
      target: string,
      profileId: string
    ) => Effect.Effect<Option.Option<Outbox.Item>, StoreError>
    /** Removes and returns the pending item of a key (its diff is no longer wanted). */
    readonly cancel: (
      kind: Outbox.Kind,
      target: string,
      profileId: string
    ) => Effect.Effect<Option.Option<Outbox.Item>, StoreError>
    /** Up to `limit` pending items of a target due at `now`, earliest `nextAttemptAt` first. */
    readonly due: (
      target: string,
      now: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<Outbox.Item>, StoreError>
    /** The earliest `nextAttemptAt` of a target's pending items. */
    readonly nextDue: (target: string) => Effect.Effect<Option.Option<number>, StoreError>
    /** Every pending item, oldest first. */
    readonly pending: Effect.Effect<ReadonlyArray<Outbox.Item>, StoreError>
    /** The `enqueuedAt` of the oldest pending item. */
    readonly oldestPending: Effect.Effect<Option.Option<number>, StoreError>
    /** Stores a failed attempt of a pending item (same id); false when it is no longer pending. */
    readonly reschedule: (item: Outbox.Item) => Effect.Effect<boolean, StoreError>
    /** Marks a pending item done (removes it if that id is still pending); false when it was not. */
    readonly complete: (id: string) => Effect.Effect<boolean, StoreError>
    /** Moves an item to the dead letters (removing it from the pending items if it was there). */
    readonly park: (letter: Outbox.DeadLetter) => Effect.Effect<void, StoreError>
    /** Every dead letter, oldest first. */
    readonly deadLetters: Effect.Effect<ReadonlyArray<Outbox.DeadLetter>, StoreError>
    /** Puts a dead letter back into the outbox, due at `now`; none when no dead letter has that id. */
    readonly requeue: (id: string, now: number) => Effect.Effect<Option.Option<Outbox.Item>, StoreError>
    /** Removes the dead letters of a key (superseded by a success, or erased); returns how many. */
    readonly clearDeadLetters: (
      kind: Outbox.Kind,
      target: string,
      profileId: string
    ) => Effect.Effect<number, StoreError>
  }
>() {}

/** The SyncStore service's shape. */
export type Service = SyncStore["Type"]

const pair = (a: string, b: string): string => `${a}\u001f${b}`

const byNextAttempt = (a: Outbox.Item, b: Outbox.Item): number =>
  a.nextAttemptAt - b.nextAttemptAt || a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The in-memory SyncStore: everything in one process, gone when it ends. */
export const makeMemory = (): Service => {
  const cursors = new Map<string, string>()
  const synced = new Map<string, number>()
  const known = new Map<string, Map<string, KnownState>>()
  const linkOf = new Map<string, Link>()
  const linksBy = new Map<string, Array<Link>>()
  const dirtySet = new Set<string>()
  const pending = new Map<string, Outbox.Item>()
  const pendingKey = new Map<string, string>()
  const dead = new Map<string, Outbox.DeadLetter>()

  const removePending = (id: string): Outbox.Item | undefined => {
    const item = pending.get(id)
    if (item === undefined) return undefined
    pending.delete(id)
    const key = Outbox.keyOf(item)
    if (pendingKey.get(key) === id) pendingKey.delete(key)
    return item
  }
  const putPending = (item: Outbox.Item): void => {
    pending.set(item.id, item)
    pendingKey.set(Outbox.keyOf(item), item.id)
  }
  const unlinkOne = (target: string, externalId: string): void => {
    const key = pair(target, externalId)
    const old = linkOf.get(key)
    if (old === undefined) return
    linkOf.delete(key)
    const list = linksBy
      .get(old.profileId)
      ?.filter((l) => !(l.target === target && l.externalId === externalId))
    if (list === undefined || list.length === 0) linksBy.delete(old.profileId)
    else linksBy.set(old.profileId, list)
  }

  return {
    cursor: (source) => Effect.sync(() => Option.fromNullable(cursors.get(source))),
    setCursor: (source, cursor) =>
      Effect.sync(() => {
        cursors.set(source, cursor)
      }),
    lastSync: (target) => Effect.sync(() => Option.fromNullable(synced.get(target))),
    setLastSync: (target, at) =>
      Effect.sync(() => {
        synced.set(target, at)
      }),
    known: (target, profileId) => Effect.sync(() => new Map(known.get(pair(target, profileId)) ?? [])),
    setKnown: (target, profileId, fields) =>
      Effect.sync(() => {
        const key = pair(target, profileId)
        const map = known.get(key) ?? new Map<string, KnownState>()
        for (const [field, state] of fields) map.set(field, state)
        known.set(key, map)
      }),
    forget: (target, profileId) =>
      Effect.sync(() => {
        known.delete(pair(target, profileId))
      }),
    linked: (target, externalId) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(linkOf.get(pair(target, externalId))), (l) => l.profileId)
      ),
    links: (profileId) => Effect.sync(() => [...(linksBy.get(profileId) ?? [])]),
    link: (link) =>
      Effect.sync(() => {
        const current = linkOf.get(pair(link.target, link.externalId))
        if (current?.profileId === link.profileId) return
        unlinkOne(link.target, link.externalId)
        const entry: Link = { target: link.target, externalId: link.externalId, profileId: link.profileId }
        linkOf.set(pair(link.target, link.externalId), entry)
        const list = linksBy.get(link.profileId)
        if (list === undefined) linksBy.set(link.profileId, [entry])
        else list.push(entry)
      }),
    unlink: (target, externalId) => Effect.sync(() => unlinkOne(target, externalId)),
    markDirty: (profileIds) =>
      Effect.sync(() => {
        for (const id of profileIds) dirtySet.add(id)
      }),
    dirty: (limit) =>
      Effect.sync(() => {
        const out: Array<string> = []
        for (const id of dirtySet) {
          if (out.length >= limit) break
          out.push(id)
        }
        return out
      }),
    clearDirty: (profileIds) =>
      Effect.sync(() => {
        for (const id of profileIds) dirtySet.delete(id)
      }),
    enqueue: (item) =>
      Effect.sync((): EnqueueOutcome => {
        if (dead.has(item.id)) return "dead"
        const key = Outbox.keyOf(item)
        const previousId = pendingKey.get(key)
        const previous = previousId === undefined ? undefined : pending.get(previousId)
        if (previous === undefined) {
          putPending(item)
          return "added"
        }
        if (previous.id === item.id) return "unchanged"
        removePending(previous.id)
        putPending(Outbox.supersede(previous, item))
        return "replaced"
      }),
    pendingFor: (kind, target, profileId) =>
      Effect.sync(() => {
        const id = pendingKey.get(Outbox.keyOf({ _tag: kind, target, profileId }))
        return Option.fromNullable(id === undefined ? undefined : pending.get(id))
      }),
    cancel: (kind, target, profileId) =>
      Effect.sync(() => {
        const id = pendingKey.get(Outbox.keyOf({ _tag: kind, target, profileId }))
        return Option.fromNullable(id === undefined ? undefined : removePending(id))
      }),
    due: (target, now, limit) =>
      Effect.sync(() =>
        [...pending.values()]
          .filter((i) => i.target === target && Outbox.isDue(i, now))
          .sort(byNextAttempt)
          .slice(0, Math.max(0, limit))
      ),
    nextDue: (target) =>
      Effect.sync(() => {
        let next: number | undefined
        for (const i of pending.values())
          if (i.target === target && (next === undefined || i.nextAttemptAt < next)) next = i.nextAttemptAt
        return Option.fromNullable(next)
      }),
    pending: Effect.sync(() =>
      [...pending.values()].sort((a, b) => a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : 1))
    ),
    oldestPending: Effect.sync(() => {
      let oldest: number | undefined
      for (const i of pending.values())
        if (oldest === undefined || i.enqueuedAt < oldest) oldest = i.enqueuedAt
      return Option.fromNullable(oldest)
    }),
    reschedule: (item) =>
      Effect.sync(() => {
        if (!pending.has(item.id)) return false
        pending.set(item.id, item)
        return true
      }),
    complete: (id) => Effect.sync(() => removePending(id) !== undefined),
    park: (letter) =>
      Effect.sync(() => {
        removePending(letter.item.id)
        dead.set(letter.item.id, letter)
      }),
    deadLetters: Effect.sync(() => [...dead.values()].sort((a, b) => a.parkedAt - b.parkedAt)),
    requeue: (id, now) =>
      Effect.sync(() => {
        const letter = dead.get(id)
        if (letter === undefined) return Option.none()
        dead.delete(id)
        const key = Outbox.keyOf(letter.item)
        const current = pendingKey.get(key)
        // A newer item of the same key is pending: it supersedes the parked one.
        if (current !== undefined) return Option.fromNullable(pending.get(current))
        const item = Outbox.revive(letter, now)
        putPending(item)
        return Option.some(item)
      }),
    clearDeadLetters: (kind, target, profileId) =>
      Effect.sync(() => {
        const key = Outbox.keyOf({ _tag: kind, target, profileId })
        let n = 0
        for (const [id, letter] of dead)
          if (Outbox.keyOf(letter.item) === key) {
            dead.delete(id)
            n++
          }
        return n
      })
  }
}

/** The in-memory SyncStore as a layer. */
export const layerMemory: Layer.Layer<SyncStore> = Layer.sync(SyncStore, makeMemory)

/**
 * A store whose writes stay in a scratch in-memory store and whose reads see them over `base`,
 * which is never written: what a dry run works against, so that it moves no cursor and records
 * no known state, link or outbox item.
 */
export const overlay = (base: Service): Service => {
  const scratch = makeMemory()
  const forgotten = new Set<string>()
  const unlinked = new Set<string>()
  const cleared = new Set<string>()
  const cancelled = new Set<string>()
  const mergeItems = (
    own: ReadonlyArray<Outbox.Item>,
    theirs: ReadonlyArray<Outbox.Item>
  ): Array<Outbox.Item> => {
    const keys = new Set(own.map(Outbox.keyOf))
    return [...own, ...theirs.filter((i) => !keys.has(Outbox.keyOf(i)) && !cancelled.has(Outbox.keyOf(i)))]
  }
  const firstSome = <A, E>(
    own: Effect.Effect<Option.Option<A>, E>,
    theirs: Effect.Effect<Option.Option<A>, E>
  ): Effect.Effect<Option.Option<A>, E> =>
    Effect.flatMap(own, (o) => (Option.isSome(o) ? Effect.succeed(o) : theirs))
  return {
    cursor: (source) => firstSome(scratch.cursor(source), base.cursor(source)),
    setCursor: scratch.setCursor,
    lastSync: (target) => firstSome(scratch.lastSync(target), base.lastSync(target)),
    setLastSync: scratch.setLastSync,
    known: (target, profileId) =>
      Effect.gen(function* () {
        const own = yield* scratch.known(target, profileId)
        const theirs = forgotten.has(pair(target, profileId))
          ? new Map()
          : yield* base.known(target, profileId)
        return new Map([...theirs, ...own])
      }),
    setKnown: scratch.setKnown,
    forget: (target, profileId) =>
      Effect.zipRight(
        Effect.sync(() => forgotten.add(pair(target, profileId))),
        scratch.forget(target, profileId)
      ),
    linked: (target, externalId) =>
      firstSome(
        scratch.linked(target, externalId),
        unlinked.has(pair(target, externalId))
          ? Effect.succeed(Option.none())
          : base.linked(target, externalId)
      ),
    links: (profileId) =>
      Effect.gen(function* () {
        const own = yield* scratch.links(profileId)
        const theirs = yield* base.links(profileId)
        const mine = new Set(own.map((l) => pair(l.target, l.externalId)))
        return [
          ...theirs.filter(
            (l) => !unlinked.has(pair(l.target, l.externalId)) && !mine.has(pair(l.target, l.externalId))
          ),
          ...own
        ]
      }),
    link: (link) =>
      Effect.zipRight(
        Effect.sync(() => unlinked.delete(pair(link.target, link.externalId))),
        scratch.link(link)
      ),
    unlink: (target, externalId) =>
      Effect.zipRight(
        Effect.sync(() => unlinked.add(pair(target, externalId))),
        scratch.unlink(target, externalId)
      ),
    markDirty: (ids) =>
      Effect.zipRight(
        Effect.sync(() => {
          for (const id of ids) cleared.delete(id)
        }),
        scratch.markDirty(ids)
      ),
    dirty: (limit) =>
      Effect.gen(function* () {
        const own = yield* scratch.dirty(limit)
        const theirs = (yield* base.dirty(limit + cleared.size)).filter((id) => !cleared.has(id))
        return [...new Set([...theirs, ...own])].slice(0, limit)
      }),
    clearDirty: (ids) =>
      Effect.zipRight(
        Effect.sync(() => {
          for (const id of ids) cleared.add(id)
        }),
        scratch.clearDirty(ids)
      ),
    enqueue: scratch.enqueue,
    pendingFor: (kind, target, profileId) =>
      firstSome(
        scratch.pendingFor(kind, target, profileId),
        cancelled.has(Outbox.keyOf({ _tag: kind, target, profileId }))
          ? Effect.succeed(Option.none())
          : base.pendingFor(kind, target, profileId)
      ),
    cancel: (kind, target, profileId) =>
      Effect.gen(function* () {
        const own = yield* scratch.cancel(kind, target, profileId)
        const key = Outbox.keyOf({ _tag: kind, target, profileId })
        const theirs = cancelled.has(key) ? Option.none() : yield* base.pendingFor(kind, target, profileId)
        cancelled.add(key)
        return Option.isSome(own) ? own : theirs
      }),
    due: (target, now, limit) =>
      Effect.gen(function* () {
        const own = yield* scratch.due(target, now, limit)
        const theirs = yield* base.due(target, now, limit)
        return mergeItems(own, theirs).sort(byNextAttempt).slice(0, limit)
      }),
    nextDue: (target) =>
      Effect.gen(function* () {
        const own = yield* scratch.nextDue(target)
        const theirs = yield* base.nextDue(target)
        return Option.isNone(own)
          ? theirs
          : Option.isNone(theirs)
            ? own
            : Option.some(Math.min(own.value, theirs.value))
      }),
    pending: Effect.gen(function* () {
      return mergeItems(yield* scratch.pending, yield* base.pending)
    }),
    oldestPending: Effect.gen(function* () {
      const all = mergeItems(yield* scratch.pending, yield* base.pending)
      return all.length === 0 ? Option.none() : Option.some(Math.min(...all.map((i) => i.enqueuedAt)))
    }),
    reschedule: scratch.reschedule,
    complete: scratch.complete,
    park: scratch.park,
    deadLetters: Effect.gen(function* () {
      return [...(yield* base.deadLetters), ...(yield* scratch.deadLetters)]
    }),
    requeue: scratch.requeue,
    clearDeadLetters: scratch.clearDeadLetters
  }
}
