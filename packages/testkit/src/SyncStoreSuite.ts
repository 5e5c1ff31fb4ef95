/**
 * The conformance suite of SyncStores (core's `SyncStore` contract). A store's whole test is
 *
 * ```ts
 * import { syncStoreSuite } from "@living-profile/testkit/SyncStoreSuite"
 * syncStoreSuite({ name: "my-store", makeStore: () => makeMyStoreOnAFreshNamespace() })
 * ```
 *
 * Every test makes its own store and its own random names, so no test depends on another. The
 * expectations come from the contract's documentation and the in-memory reference store, which
 * runs this suite first. There is no backdoor here: each write is instead observed through every
 * read of the contract that should see it (an item through `pendingFor`, `pending`, `due`,
 * `nextDue` and `oldestPending`), so that a store cannot pass by keeping one index right and
 * another wrong. Persistence across restarts is the adapter's own test (reopen on the same data).
 */
import { describe, expect, it } from "@effect/vitest"
import { Outbox, type SyncStore } from "@living-profile/core"
import { Effect, Option, type Scope } from "effect"
import {
  awkward,
  eraseItem,
  failures,
  fresh,
  pushItem,
  scheduled,
  T,
  withoutError
} from "./internal/syncStore.js"

/** Options of the suite. */
export interface SuiteOptions {
  /** Names the describe block. */
  readonly name: string
  /**
   * A fresh, empty store for one test: nothing pending, no dead letters, no dirty marks (a new
   * in-memory store, or a persistent one over a namespace of its own, cleaned up with the scope).
   */
  readonly makeStore: () => Effect.Effect<SyncStore.SyncStore["Type"], unknown, Scope.Scope>
  /** Per-test timeout in milliseconds (default 30 s). */
  readonly timeout?: number
}

type Store = SyncStore.SyncStore["Type"]

/** The value of an option that must be there. */
const some = <A>(o: Option.Option<A>, what: string): A => {
  expect(Option.isSome(o), `${what} is none`).toBe(true)
  return Option.getOrThrow(o)
}

/** A map as a plain record, for strict comparison (an `undefined` property is not an absent one). */
const record = <V>(m: ReadonlyMap<string, V>): Record<string, V> => Object.fromEntries(m)

const ids = (items: ReadonlyArray<Outbox.Item>): Array<string> => items.map((i) => i.id)

/** Every read that sees pending items agrees that `items` (and nothing else) are pending. */
const expectPending = (store: Store, items: ReadonlyArray<Outbox.Item>) =>
  Effect.gen(function* () {
    const byAge = [...items].sort((a, b) => a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : 1))
    expect(yield* store.pending).toStrictEqual(byAge)
    expect(yield* store.oldestPending).toEqual(
      byAge.length === 0 ? Option.none() : Option.some(byAge[0]!.enqueuedAt)
    )
    for (const i of items)
      expect(some(yield* store.pendingFor(i._tag, i.target, i.profileId), "pendingFor")).toStrictEqual(i)
    for (const target of new Set(items.map((i) => i.target))) {
      const mine = items.filter((i) => i.target === target)
      const next = Math.min(...mine.map((i) => i.nextAttemptAt))
      expect(yield* store.nextDue(target)).toEqual(Option.some(next))
      const due = yield* store.due(target, Math.max(...mine.map((i) => i.nextAttemptAt)), mine.length + 5)
      expect(ids(due).sort()).toEqual(ids(mine).sort())
    }
  })

/** Registers the conformance tests of a SyncStore (call it at the top level of a test file). */
export const syncStoreSuite = (options: SuiteOptions): void => {
  const timeout = options.timeout ?? 30_000
  const test = (title: string, body: (store: Store) => Effect.Effect<void, unknown>) =>
    it.scopedLive(title, () => Effect.flatMap(options.makeStore(), body), timeout)

  describe(`${options.name}: SyncStore conformance`, () => {
    test("a fresh store is empty", (store) =>
      Effect.gen(function* () {
        yield* expectPending(store, [])
        expect(yield* store.deadLetters).toEqual([])
        expect(yield* store.dirty(100)).toEqual([])
      }))

    // Cursors and last sync ------------------------------------------------------------------------

    describe("cursors and last sync", () => {
      test("a cursor is none until set, then the last one set, per source", (store) =>
        Effect.gen(function* () {
          const [shop, crm] = [fresh("shop"), fresh("crm")]
          expect(yield* store.cursor(shop)).toEqual(Option.none())
          yield* store.setCursor(shop, "c1")
          yield* store.setCursor(shop, "r1.1700000000000-7")
          expect(yield* store.cursor(shop)).toEqual(Option.some("r1.1700000000000-7"))
          expect(yield* store.cursor(crm)).toEqual(Option.none())
          yield* store.setCursor(crm, "page 2 {ağ}")
          expect(yield* store.cursor(crm)).toEqual(Option.some("page 2 {ağ}"))
          expect(yield* store.cursor(shop)).toEqual(Option.some("r1.1700000000000-7"))
        }))

      test("lastSync is none until set, then the last instant set, per target, apart from cursors", (store) =>
        Effect.gen(function* () {
          const [crm, edge] = [fresh("crm"), fresh("edge")]
          expect(yield* store.lastSync(crm)).toEqual(Option.none())
          yield* store.setLastSync(crm, T(1))
          yield* store.setLastSync(crm, T(2))
          expect(yield* store.lastSync(crm)).toEqual(Option.some(T(2)))
          expect(yield* store.lastSync(edge)).toEqual(Option.none())
          // A target's last sync is not its cursor, nor the other way round.
          expect(yield* store.cursor(crm)).toEqual(Option.none())
          yield* store.setCursor(edge, "c9")
          expect(yield* store.lastSync(edge)).toEqual(Option.none())
        }))
    })

    // Known state ----------------------------------------------------------------------------------

    describe("known state", () => {
      test("known is empty until set; setKnown sets the given fields and keeps the others", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          expect((yield* store.known(t, p)).size).toBe(0)
          yield* store.setKnown(
            t,
            p,
            new Map([
              ["marketing.email", { status: "granted", at: "2024-03-04T05:06:07.000Z", eventId: "e1" }],
              ["sms", { status: "denied" }]
            ])
          )
          yield* store.setKnown(
            t,
            p,
            new Map([["push", { status: "withdrawn", at: "2024-03-05T00:00:00.000Z" }]])
          )
          expect(record(yield* store.known(t, p))).toStrictEqual({
            "marketing.email": { status: "granted", at: "2024-03-04T05:06:07.000Z", eventId: "e1" },
            sms: { status: "denied" },
            push: { status: "withdrawn", at: "2024-03-05T00:00:00.000Z" }
          })
          // Setting nothing changes nothing.
          yield* store.setKnown(t, p, new Map())
          expect((yield* store.known(t, p)).size).toBe(3)
        }))

      test("setting a field replaces its whole state (absent properties stay absent)", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          yield* store.setKnown(
            t,
            p,
            new Map([
              ["f", { status: "granted", at: "2024-01-01T00:00:00.000Z", eventId: "e1" }],
              ["g", { status: "granted" }]
            ])
          )
          yield* store.setKnown(t, p, new Map([["f", { status: "expired" }]]))
          expect(record(yield* store.known(t, p))).toStrictEqual({
            f: { status: "expired" },
            g: { status: "granted" }
          })
          yield* store.setKnown(t, p, new Map([["g", { status: "pending", eventId: "e2" }]]))
          expect(record(yield* store.known(t, p))).toStrictEqual({
            f: { status: "expired" },
            g: { status: "pending", eventId: "e2" }
          })
        }))

      test("known state is per target and profile; forget drops one pair only", (store) =>
        Effect.gen(function* () {
          const [t1, t2, p, q] = [fresh("t"), fresh("t"), fresh("p"), fresh("p")]
          yield* store.setKnown(t1, p, new Map([["f", { status: "granted" }]]))
          yield* store.setKnown(t2, p, new Map([["f", { status: "denied" }]]))
          yield* store.setKnown(t1, q, new Map([["g", { status: "withdrawn" }]]))
          expect(record(yield* store.known(t1, p))).toStrictEqual({ f: { status: "granted" } })
          expect(record(yield* store.known(t2, p))).toStrictEqual({ f: { status: "denied" } })
          expect(record(yield* store.known(t1, q))).toStrictEqual({ g: { status: "withdrawn" } })
          yield* store.forget(t1, p)
          expect((yield* store.known(t1, p)).size).toBe(0)
          expect(record(yield* store.known(t2, p))).toStrictEqual({ f: { status: "denied" } })
          expect(record(yield* store.known(t1, q))).toStrictEqual({ g: { status: "withdrawn" } })
          // Forgetting what is not known is harmless; a forgotten pair starts again from nothing.
          yield* store.forget(t1, p)
          yield* store.forget(fresh("t"), fresh("p"))
          yield* store.setKnown(t1, p, new Map([["h", { status: "granted" }]]))
          expect(record(yield* store.known(t1, p))).toStrictEqual({ h: { status: "granted" } })
        }))
    })

    // Links ----------------------------------------------------------------------------------------

    describe("links", () => {
      test("linked is none until linked; link and unlink", (store) =>
        Effect.gen(function* () {
          const [t, x, p] = [fresh("t"), fresh("x"), fresh("p")]
          expect(yield* store.linked(t, x)).toEqual(Option.none())
          expect(yield* store.links(p)).toEqual([])
          yield* store.link({ target: t, externalId: x, profileId: p })
          expect(yield* store.linked(t, x)).toEqual(Option.some(p))
          expect(yield* store.links(p)).toStrictEqual([{ target: t, externalId: x, profileId: p }])
          // The same externalId in another target is another person.
          expect(yield* store.linked(fresh("t"), x)).toEqual(Option.none())
          yield* store.unlink(t, x)
          expect(yield* store.linked(t, x)).toEqual(Option.none())
          expect(yield* store.links(p)).toEqual([])
          // Unlinking what is not linked is harmless.
          yield* store.unlink(t, x)
          yield* store.unlink(fresh("t"), fresh("x"))
          expect(yield* store.links(p)).toEqual([])
        }))

      test("links lists a profile's persons in every target, oldest link first", (store) =>
        Effect.gen(function* () {
          const [t1, t2, p, q] = [fresh("t"), fresh("t"), fresh("p"), fresh("p")]
          const [x1, x2, x3, x4] = [fresh("x"), fresh("x"), fresh("x"), fresh("x")]
          yield* store.link({ target: t1, externalId: x1, profileId: p })
          yield* store.link({ target: t2, externalId: x2, profileId: p })
          yield* store.link({ target: t1, externalId: x4, profileId: q })
          yield* store.link({ target: t1, externalId: x3, profileId: p })
          // The same externalId in another target: a link of its own.
          yield* store.link({ target: t2, externalId: x1, profileId: p })
          const expected = [
            { target: t1, externalId: x1, profileId: p },
            { target: t2, externalId: x2, profileId: p },
            { target: t1, externalId: x3, profileId: p },
            { target: t2, externalId: x1, profileId: p }
          ]
          expect(yield* store.links(p)).toStrictEqual(expected)
          expect(yield* store.links(q)).toStrictEqual([{ target: t1, externalId: x4, profileId: q }])
          // Linking a person to the profile it is linked to already keeps its place.
          yield* store.link({ target: t1, externalId: x1, profileId: p })
          expect(yield* store.links(p)).toStrictEqual(expected)
          // Unlinking one leaves the order of the others.
          yield* store.unlink(t2, x2)
          expect(yield* store.links(p)).toStrictEqual([expected[0], expected[2], expected[3]])
          expect(yield* store.linked(t2, x1)).toEqual(Option.some(p))
        }))

      test("link moves a person from another profile; the moved link is the newest", (store) =>
        Effect.gen(function* () {
          const [t, p, q] = [fresh("t"), fresh("p"), fresh("p")]
          const [x, y] = [fresh("x"), fresh("x")]
          yield* store.link({ target: t, externalId: x, profileId: p })
          yield* store.link({ target: t, externalId: y, profileId: p })
          yield* store.link({ target: t, externalId: x, profileId: q })
          expect(yield* store.linked(t, x)).toEqual(Option.some(q))
          expect(yield* store.links(p)).toStrictEqual([{ target: t, externalId: y, profileId: p }])
          expect(yield* store.links(q)).toStrictEqual([{ target: t, externalId: x, profileId: q }])
          yield* store.link({ target: t, externalId: x, profileId: p })
          expect(yield* store.linked(t, x)).toEqual(Option.some(p))
          expect(yield* store.links(p)).toStrictEqual([
            { target: t, externalId: y, profileId: p },
            { target: t, externalId: x, profileId: p }
          ])
          expect(yield* store.links(q)).toEqual([])
        }))
    })

    // Dirty marks ----------------------------------------------------------------------------------

    describe("dirty marks", () => {
      test("dirty lists marks oldest first, up to the limit; marking again keeps the place", (store) =>
        Effect.gen(function* () {
          const [a, b, c] = [fresh("p"), fresh("p"), fresh("p")]
          yield* store.markDirty([a, b])
          yield* store.markDirty([c, a])
          yield* store.markDirty([])
          expect(yield* store.dirty(10)).toEqual([a, b, c])
          expect(yield* store.dirty(Number.MAX_SAFE_INTEGER)).toEqual([a, b, c])
          expect(yield* store.dirty(2)).toEqual([a, b])
          expect(yield* store.dirty(1)).toEqual([a])
          expect(yield* store.dirty(0)).toEqual([])
          // Reading does not clear.
          expect(yield* store.dirty(3)).toEqual([a, b, c])
        }))

      test("clearDirty removes marks; a mark after clearing is the newest", (store) =>
        Effect.gen(function* () {
          const [a, b, c, d] = [fresh("p"), fresh("p"), fresh("p"), fresh("p")]
          yield* store.markDirty([a, b, c, d, d])
          expect(yield* store.dirty(10)).toEqual([a, b, c, d])
          yield* store.clearDirty([a, fresh("never-marked"), c])
          expect(yield* store.dirty(10)).toEqual([b, d])
          yield* store.markDirty([a])
          expect(yield* store.dirty(10)).toEqual([b, d, a])
          yield* store.clearDirty([])
          yield* store.clearDirty([b, d, a])
          expect(yield* store.dirty(10)).toEqual([])
        }))
    })

    // Outbox: enqueue ------------------------------------------------------------------------------

    describe("outbox: enqueue", () => {
      test("enqueue adds an item; pendingFor finds it by kind, target and profile only", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const item = pushItem(t, p, T(1))
          expect(yield* store.enqueue(item)).toBe("added")
          yield* expectPending(store, [item])
          expect(yield* store.pendingFor("Erase", t, p)).toEqual(Option.none())
          expect(yield* store.pendingFor("Push", fresh("t"), p)).toEqual(Option.none())
          expect(yield* store.pendingFor("Push", t, fresh("p"))).toEqual(Option.none())
        }))

      test("the same item again is unchanged and keeps what is pending", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const item = pushItem(t, p, T(1))
          expect(yield* store.enqueue(item)).toBe("added")
          expect(yield* store.enqueue(item)).toBe("unchanged")
          // Same id (same content) recorded later: still the first one.
          expect(yield* store.enqueue(scheduled(item, { enqueuedAt: T(5), nextAttemptAt: T(5) }))).toBe(
            "unchanged"
          )
          yield* expectPending(store, [item])
        }))

      test("another item of the key replaces the pending one as Outbox.supersede says", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const first = pushItem(t, p, T(1))
          expect(yield* store.enqueue(first)).toBe("added")
          // The first has failed twice and waits for its backoff.
          const failing = scheduled(first, {
            attempts: 2,
            nextAttemptAt: T(60),
            lastError: failures.transport
          })
          expect(yield* store.reschedule(failing)).toBe(true)
          const second = pushItem(t, p, T(10), { status: "denied" })
          expect(yield* store.enqueue(second)).toBe("replaced")
          const expected = Outbox.supersede(failing, second)
          // Spelled out, so that the suite does not only agree with supersede.
          expect(expected).toStrictEqual({
            ...second,
            enqueuedAt: T(1),
            attempts: 2,
            nextAttemptAt: T(60),
            lastError: failures.transport
          })
          yield* expectPending(store, [expected])
          // The replaced id is gone: completing it does nothing to the new one.
          expect(yield* store.complete(first.id)).toBe(false)
          expect(some(yield* store.pendingFor("Push", t, p), "pendingFor")).toStrictEqual(expected)
        }))

      test("a replacement takes the earlier enqueuedAt and the later nextAttemptAt of either", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const first = scheduled(pushItem(t, p, T(20)), { nextAttemptAt: T(20) })
          expect(yield* store.enqueue(first)).toBe("added")
          // Recorded earlier and due later, with an error of its own that is not carried over.
          const second = scheduled(pushItem(t, p, T(5)), {
            nextAttemptAt: T(40),
            lastError: failures.rejected
          })
          expect(yield* store.enqueue(second)).toBe("replaced")
          const expected = Outbox.supersede(first, second)
          expect(expected).toStrictEqual({ ...withoutError(second), enqueuedAt: T(5), nextAttemptAt: T(40) })
          yield* expectPending(store, [expected])
          // And a third replaces the replacement.
          const third = pushItem(t, p, T(30))
          expect(yield* store.enqueue(third)).toBe("replaced")
          yield* expectPending(store, [Outbox.supersede(expected, third)])
          expect(yield* store.enqueue(third)).toBe("unchanged")
        }))

      test("kinds, targets and profiles are separate keys", (store) =>
        Effect.gen(function* () {
          const [t, u, p, q] = [fresh("t"), fresh("t"), fresh("p"), fresh("p")]
          const items = [
            pushItem(t, p, T(1)),
            eraseItem(t, p, T(2)),
            pushItem(u, p, T(3)),
            pushItem(t, q, T(4))
          ]
          for (const i of items) expect(yield* store.enqueue(i)).toBe("added")
          yield* expectPending(store, items)
        }))

      test("an item that is a dead letter is not enqueued again (dead)", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const a = pushItem(t, p, T(1))
          expect(yield* store.enqueue(a)).toBe("added")
          yield* store.park(Outbox.parkWith(a, failures.rejected, T(2)))
          expect(yield* store.enqueue(a)).toBe("dead")
          yield* expectPending(store, [])
          // Another item of the key is welcome, and the dead one stays out even then.
          const b = pushItem(t, p, T(3))
          expect(yield* store.enqueue(b)).toBe("added")
          expect(yield* store.enqueue(a)).toBe("dead")
          yield* expectPending(store, [b])
        }))

      test("cancel removes and returns the pending item of a key", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          expect(yield* store.cancel("Push", t, p)).toEqual(Option.none())
          const push = pushItem(t, p, T(1))
          const erase = eraseItem(t, p, T(2))
          yield* store.enqueue(push)
          yield* store.enqueue(erase)
          expect(some(yield* store.cancel("Push", t, p), "cancel")).toStrictEqual(push)
          yield* expectPending(store, [erase])
          expect(yield* store.cancel("Push", t, p)).toEqual(Option.none())
          expect(yield* store.complete(push.id)).toBe(false)
          expect(some(yield* store.cancel("Erase", t, p), "cancel")).toStrictEqual(erase)
          yield* expectPending(store, [])
          expect(yield* store.nextDue(t)).toEqual(Option.none())
          // A cancelled item is not dead: it may come again.
          expect(yield* store.enqueue(push)).toBe("added")
        }))
    })

    // Outbox: reading ------------------------------------------------------------------------------

    describe("outbox: due, nextDue, pending", () => {
      test("due lists a target's items due at now, earliest nextAttemptAt first, up to the limit", (store) =>
        Effect.gen(function* () {
          const [t, u] = [fresh("t"), fresh("t")]
          const at = (k: number, target = t) =>
            scheduled(pushItem(target, fresh("p"), T(0)), { nextAttemptAt: T(k) })
          const [i3, i1, i2, i5, other] = [at(3), at(1), at(2), at(5), at(0, u)]
          for (const i of [i3, i1, i2, i5, other]) yield* store.enqueue(i)
          expect(yield* store.due(t, T(4), 10)).toStrictEqual([i1, i2, i3])
          expect(ids(yield* store.due(t, T(4), 2))).toEqual(ids([i1, i2]))
          expect(ids(yield* store.due(t, T(4), 0))).toEqual([])
          // Due at exactly nextAttemptAt; nothing before.
          expect(ids(yield* store.due(t, T(1), 10))).toEqual(ids([i1]))
          expect(ids(yield* store.due(t, T(1) - 1, 10))).toEqual([])
          expect(ids(yield* store.due(t, T(9), Number.MAX_SAFE_INTEGER))).toEqual(ids([i1, i2, i3, i5]))
          expect(ids(yield* store.due(u, T(9), 10))).toEqual(ids([other]))
          expect(ids(yield* store.due(fresh("t"), T(9), 10))).toEqual([])
          // Reading does not take items out.
          expect((yield* store.pending).length).toBe(5)
        }))

      test("due breaks ties of nextAttemptAt by enqueuedAt, also across the limit", (store) =>
        Effect.gen(function* () {
          const t = fresh("t")
          const made = (enqueuedAt: number) =>
            scheduled(pushItem(t, fresh("p"), enqueuedAt), { nextAttemptAt: T(50) })
          const [late, early, middle] = [made(T(3)), made(T(1)), made(T(2))]
          const sooner = scheduled(pushItem(t, fresh("p"), T(9)), { nextAttemptAt: T(40) })
          for (const i of [late, early, middle, sooner]) yield* store.enqueue(i)
          expect(ids(yield* store.due(t, T(50), 10))).toEqual(ids([sooner, early, middle, late]))
          expect(ids(yield* store.due(t, T(50), 2))).toEqual(ids([sooner, early]))
          expect(ids(yield* store.due(t, T(50), 3))).toEqual(ids([sooner, early, middle]))
        }))

      test("nextDue is the earliest nextAttemptAt of a target's items, due or not", (store) =>
        Effect.gen(function* () {
          const [t, u] = [fresh("t"), fresh("t")]
          expect(yield* store.nextDue(t)).toEqual(Option.none())
          const a = scheduled(pushItem(t, fresh("p"), T(0)), { nextAttemptAt: T(30) })
          const b = scheduled(pushItem(t, fresh("p"), T(0)), { nextAttemptAt: T(20) })
          const c = scheduled(pushItem(u, fresh("p"), T(0)), { nextAttemptAt: T(10) })
          for (const i of [a, b, c]) yield* store.enqueue(i)
          expect(yield* store.nextDue(t)).toEqual(Option.some(T(20)))
          expect(yield* store.nextDue(u)).toEqual(Option.some(T(10)))
          expect(yield* store.complete(b.id)).toBe(true)
          expect(yield* store.nextDue(t)).toEqual(Option.some(T(30)))
          expect(yield* store.complete(a.id)).toBe(true)
          expect(yield* store.nextDue(t)).toEqual(Option.none())
          expect(yield* store.nextDue(u)).toEqual(Option.some(T(10)))
        }))

      test("pending lists every item, oldest enqueuedAt first; oldestPending is its enqueuedAt", (store) =>
        Effect.gen(function* () {
          const [t, u, p] = [fresh("t"), fresh("t"), fresh("p")]
          const c = pushItem(t, fresh("p"), T(3))
          const a = pushItem(u, p, T(1))
          const b = eraseItem(t, p, T(2))
          for (const i of [c, a, b]) yield* store.enqueue(i)
          expect(yield* store.pending).toStrictEqual([a, b, c])
          expect(yield* store.oldestPending).toEqual(Option.some(T(1)))
          expect(yield* store.complete(a.id)).toBe(true)
          expect(yield* store.pending).toStrictEqual([b, c])
          expect(yield* store.oldestPending).toEqual(Option.some(T(2)))
          // A replacement keeps the older enqueuedAt, so its place.
          const c2 = pushItem(t, c.profileId, T(9))
          expect(yield* store.enqueue(c2)).toBe("replaced")
          expect(ids(yield* store.pending)).toEqual([b.id, c2.id])
          expect(yield* store.oldestPending).toEqual(Option.some(T(2)))
        }))
    })

    // Outbox: attempts -----------------------------------------------------------------------------

    describe("outbox: reschedule and complete", () => {
      test("reschedule stores a failed attempt of a pending item", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const item = pushItem(t, p, T(1))
          yield* store.enqueue(item)
          const failed = scheduled(item, {
            attempts: 1,
            nextAttemptAt: T(31),
            lastError: failures.rateLimited
          })
          expect(yield* store.reschedule(failed)).toBe(true)
          yield* expectPending(store, [failed])
          expect(yield* store.due(t, T(30), 10)).toEqual([])
          expect(ids(yield* store.due(t, T(31), 10))).toEqual([item.id])
          // The item is stored as given: a later attempt may carry no error.
          const again = withoutError(scheduled(failed, { attempts: 2, nextAttemptAt: T(5) }))
          expect(yield* store.reschedule(again)).toBe(true)
          yield* expectPending(store, [again])
          expect(ids(yield* store.due(t, T(5), 10))).toEqual([item.id])
        }))

      test("reschedule is false and stores nothing when the item is not pending", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const item = pushItem(t, p, T(1))
          const failed = scheduled(item, { attempts: 1, nextAttemptAt: T(2), lastError: failures.transport })
          expect(yield* store.reschedule(failed)).toBe(false)
          yield* expectPending(store, [])
          yield* store.enqueue(item)
          expect(yield* store.complete(item.id)).toBe(true)
          expect(yield* store.reschedule(failed)).toBe(false)
          yield* expectPending(store, [])
          // An item replaced meanwhile: its old id is no longer pending, the new one stays as it is.
          const first = pushItem(t, p, T(3))
          yield* store.enqueue(first)
          const second = pushItem(t, p, T(4))
          yield* store.enqueue(second)
          expect(yield* store.reschedule(scheduled(first, { attempts: 1, nextAttemptAt: T(99) }))).toBe(false)
          yield* expectPending(store, [Outbox.supersede(first, second)])
        }))

      test("complete removes the item if that id is still pending", (store) =>
        Effect.gen(function* () {
          const [t, p, q] = [fresh("t"), fresh("p"), fresh("p")]
          expect(yield* store.complete("ob_kit_never_enqueued")).toBe(false)
          const a = pushItem(t, p, T(1))
          const b = pushItem(t, q, T(2))
          yield* store.enqueue(a)
          yield* store.enqueue(b)
          expect(yield* store.complete(a.id)).toBe(true)
          expect(yield* store.complete(a.id)).toBe(false)
          yield* expectPending(store, [b])
          expect(yield* store.pendingFor("Push", t, p)).toEqual(Option.none())
          // Completed is not dead: the same item may be enqueued again.
          expect(yield* store.enqueue(a)).toBe("added")
          yield* expectPending(store, [a, b])
        }))
    })

    // Dead letters ---------------------------------------------------------------------------------

    describe("dead letters", () => {
      test("park moves an item to the dead letters, oldest parkedAt first", (store) =>
        Effect.gen(function* () {
          const t = fresh("t")
          const [a, b, c] = [
            pushItem(t, fresh("p"), T(1)),
            pushItem(t, fresh("p"), T(2)),
            pushItem(t, fresh("p"), T(3))
          ]
          for (const i of [a, b, c]) yield* store.enqueue(i)
          const la = Outbox.parkWith(scheduled(a, { attempts: 5 }), failures.transport, T(300))
          const lb = Outbox.parkWith(b, failures.rejected, T(100))
          yield* store.park(la)
          yield* store.park(lb)
          expect(yield* store.deadLetters).toStrictEqual([lb, la])
          yield* expectPending(store, [c])
          // An item that was never pending is parked too (a target that cannot erase).
          const erase = eraseItem(t, fresh("p"), T(4))
          const le = Outbox.parkWith(erase, failures.unsupported, T(200))
          yield* store.park(le)
          expect(yield* store.deadLetters).toStrictEqual([lb, le, la])
          yield* expectPending(store, [c])
        }))

      test("parking an item leaves a newer pending item of its key", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const a = pushItem(t, p, T(1))
          const b = pushItem(t, p, T(2))
          yield* store.enqueue(a)
          expect(yield* store.enqueue(b)).toBe("replaced")
          const letter = Outbox.parkWith(a, failures.rejected, T(3))
          yield* store.park(letter)
          yield* expectPending(store, [Outbox.supersede(a, b)])
          expect(yield* store.deadLetters).toStrictEqual([letter])
        }))

      test("requeue puts a dead letter back, due at now, without attempts or error", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          expect(yield* store.requeue("ob_kit_never_parked", T(1))).toEqual(Option.none())
          const item = pushItem(t, p, T(1))
          yield* store.enqueue(item)
          const letter = Outbox.parkWith(
            scheduled(item, { attempts: 5, nextAttemptAt: T(50), lastError: failures.transport }),
            failures.transport,
            T(60)
          )
          yield* store.park(letter)
          const back = some(yield* store.requeue(item.id, T(90)), "requeue")
          expect(back).toStrictEqual(Outbox.revive(letter, T(90)))
          expect(back).toStrictEqual({ ...item, attempts: 0, nextAttemptAt: T(90) })
          yield* expectPending(store, [back])
          expect(yield* store.deadLetters).toEqual([])
          expect(ids(yield* store.due(t, T(90), 10))).toEqual([item.id])
          expect(yield* store.requeue(item.id, T(91))).toEqual(Option.none())
          // Pending again, so no longer dead.
          expect(yield* store.enqueue(item)).toBe("unchanged")
        }))

      test("requeue gives the newer pending item of the key instead, and drops the letter", (store) =>
        Effect.gen(function* () {
          const [t, p] = [fresh("t"), fresh("p")]
          const a = pushItem(t, p, T(1))
          yield* store.enqueue(a)
          yield* store.park(Outbox.parkWith(a, failures.rejected, T(2)))
          const b = pushItem(t, p, T(3))
          expect(yield* store.enqueue(b)).toBe("added")
          expect(some(yield* store.requeue(a.id, T(4)), "requeue")).toStrictEqual(b)
          yield* expectPending(store, [b])
          expect(yield* store.deadLetters).toEqual([])
          expect(yield* store.enqueue(a)).toBe("replaced")
        }))

      test("clearDeadLetters removes the dead letters of one key and counts them", (store) =>
        Effect.gen(function* () {
          const [t, u, p, q] = [fresh("t"), fresh("t"), fresh("p"), fresh("p")]
          const a1 = pushItem(t, p, T(1))
          const a2 = pushItem(t, p, T(2))
          const others = [pushItem(t, q, T(3)), eraseItem(t, p, T(4)), pushItem(u, p, T(5))]
          const letters = [a1, a2, ...others].map((i, k) => Outbox.parkWith(i, failures.rejected, T(10 + k)))
          for (const l of letters) yield* store.park(l)
          expect(yield* store.clearDeadLetters("Push", fresh("t"), p)).toBe(0)
          expect(yield* store.clearDeadLetters("Push", t, p)).toBe(2)
          expect(yield* store.deadLetters).toStrictEqual(letters.slice(2))
          expect(yield* store.clearDeadLetters("Push", t, p)).toBe(0)
          // No longer dead: the items may be enqueued again.
          expect(yield* store.enqueue(a1)).toBe("added")
          expect(yield* store.enqueue(others[0]!)).toBe("dead")
          expect(yield* store.clearDeadLetters("Erase", t, p)).toBe(1)
          expect(yield* store.clearDeadLetters("Push", t, q)).toBe(1)
          expect(yield* store.clearDeadLetters("Push", u, p)).toBe(1)
          expect(yield* store.deadLetters).toEqual([])
          yield* expectPending(store, [a1])
        }))
    })

    // Values ---------------------------------------------------------------------------------------

    describe("values", () => {
      test("names with separators, braces, glob characters and Unicode are kept apart and intact", (store) =>
        Effect.gen(function* () {
          const [t, p, q, x, y, src] = [
            awkward("t"),
            awkward("p"),
            awkward("q"),
            awkward("x"),
            awkward("y"),
            awkward("src")
          ]
          // Two pairs that a layout joining names with ":" would confuse.
          const [tA, pA, tB, pB] = [t, `${p}:${q}`, `${t}:${p}`, q]
          yield* store.setCursor(src, "cursör {1}")
          expect(yield* store.cursor(src)).toEqual(Option.some("cursör {1}"))
          yield* store.setLastSync(t, T(7))
          expect(yield* store.lastSync(t)).toEqual(Option.some(T(7)))
          yield* store.setKnown(tA, pA, new Map([["ağ.🎉 {f}", { status: "granted", eventId: "é" }]]))
          yield* store.setKnown(tB, pB, new Map([["g", { status: "denied" }]]))
          expect(record(yield* store.known(tA, pA))).toStrictEqual({
            "ağ.🎉 {f}": { status: "granted", eventId: "é" }
          })
          expect(record(yield* store.known(tB, pB))).toStrictEqual({ g: { status: "denied" } })
          yield* store.forget(tB, pB)
          expect((yield* store.known(tA, pA)).size).toBe(1)
          yield* store.link({ target: t, externalId: `${x}:${y}`, profileId: pA })
          yield* store.link({ target: `${t}:${x}`, externalId: y, profileId: pB })
          expect(yield* store.linked(t, `${x}:${y}`)).toEqual(Option.some(pA))
          expect(yield* store.linked(`${t}:${x}`, y)).toEqual(Option.some(pB))
          expect(yield* store.links(pA)).toStrictEqual([
            { target: t, externalId: `${x}:${y}`, profileId: pA }
          ])
          expect(yield* store.links(pB)).toStrictEqual([
            { target: `${t}:${x}`, externalId: y, profileId: pB }
          ])
          yield* store.markDirty([pA, pB])
          expect(yield* store.dirty(5)).toEqual([pA, pB])
          const items = [
            pushItem(tA, pA, T(1), { field: "ağ.🎉 {f}", policyVersion: "2025-05 ğ" }),
            pushItem(tB, pB, T(2), { ref: { identifiers: { email: ["ayşe.yılmaz.🎉@örnek.example"] } } }),
            eraseItem(tA, pB, T(3))
          ]
          for (const i of items) expect(yield* store.enqueue(i)).toBe("added")
          yield* expectPending(store, items)
          expect(ids(yield* store.due(tA, T(9), 10))).toEqual(ids([items[0]!, items[2]!]))
          const letter = Outbox.parkWith(items[1]!, failures.rejected, T(4))
          yield* store.park(letter)
          expect(yield* store.deadLetters).toStrictEqual([letter])
          expect(yield* store.clearDeadLetters("Push", tA, pB)).toBe(0)
          expect(yield* store.clearDeadLetters("Push", tB, pB)).toBe(1)
        }))

      test("instants keep their exact value, from zero to far ahead", (store) =>
        Effect.gen(function* () {
          const t = fresh("t")
          const far = 8_640_000_000_000_000
          const zero = scheduled(pushItem(t, fresh("p"), 0), { nextAttemptAt: 0 })
          const odd = scheduled(pushItem(t, fresh("p"), 1_700_000_000_123), {
            nextAttemptAt: 1_700_000_000_123.5
          })
          const late = scheduled(pushItem(t, fresh("p"), far - 1), { nextAttemptAt: far })
          for (const i of [late, odd, zero]) yield* store.enqueue(i)
          yield* expectPending(store, [zero, odd, late])
          expect(ids(yield* store.due(t, 1_700_000_000_123, 10))).toEqual([zero.id])
          expect(ids(yield* store.due(t, 1_700_000_000_124, 10))).toEqual([zero.id, odd.id])
          expect(ids(yield* store.due(t, far, 10))).toEqual([zero.id, odd.id, late.id])
          yield* store.setLastSync(t, far)
          expect(yield* store.lastSync(t)).toEqual(Option.some(far))
        }))
    })
  })
}
