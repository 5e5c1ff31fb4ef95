/**
 * The Redis SyncStore: the kit's SyncStore suite (each test on its own random prefix, deleted
 * afterwards), persistence across a restart, the documented key layout read with raw commands,
 * and the mapping of failures onto StoreError reasons.
 */
import { describe, expect, it } from "@effect/vitest"
import { Outbox, SyncStore } from "@living-profile/core"
import { syncStoreSuite } from "@living-profile/testkit/SyncStoreSuite"
import { Duration, Effect, Option } from "effect"
import { layerSyncStore, makeSyncStore, RedisKeys } from "../src/index.js"
import {
  freePort,
  freshPrefix,
  optionsFor,
  rawRedis,
  scanKeys,
  throwaway,
  whenRedis
} from "./support/redis.js"

const fast = { commandTimeout: Duration.millis(500), connectTimeout: Duration.millis(500) }

/** A diff naming a person by an identifier, so that the item holds personal data. */
const MAIL = "ada.lovelace@example.test"
const itemFor = (target: string, profileId: string, at: number): Outbox.PushItem =>
  Outbox.push(
    {
      profileId,
      target,
      ref: { identifiers: { email: [MAIL] } },
      changes: [
        {
          key: "marketing/email",
          field: "marketing.email",
          from: null,
          to: "granted",
          because: {
            status: "granted",
            capturedAt: new Date(at).toISOString(),
            source: "shop",
            eventId: `e-${at}`,
            legalBasis: "consent"
          }
        }
      ]
    },
    at
  )

/** Every operation of the store, each expected to fail. */
const everyOperation = (s: SyncStore.Service) => {
  const item = itemFor("crm", "p1", 1_000)
  return [
    s.cursor("shop"),
    s.setCursor("shop", "c1"),
    s.lastSync("crm"),
    s.setLastSync("crm", 1),
    s.known("crm", "p1"),
    s.setKnown("crm", "p1", new Map([["f", { status: "granted" as const }]])),
    s.forget("crm", "p1"),
    s.linked("crm", "x1"),
    s.links("p1"),
    s.link({ target: "crm", externalId: "x1", profileId: "p1" }),
    s.unlink("crm", "x1"),
    s.markDirty(["p1"]),
    s.dirty(10),
    s.clearDirty(["p1"]),
    s.enqueue(item),
    s.pendingFor("Push", "crm", "p1"),
    s.cancel("Push", "crm", "p1"),
    s.due("crm", 2_000, 10),
    s.nextDue("crm"),
    s.pending,
    s.oldestPending,
    s.reschedule(item),
    s.complete(item.id),
    s.park(Outbox.parkWith(item, { reason: "Rejected", detail: "refused" }, 1_000)),
    s.deadLetters,
    s.requeue(item.id, 2_000),
    s.clearDeadLetters("Push", "crm", "p1")
  ] as ReadonlyArray<Effect.Effect<unknown, SyncStore.StoreError>>
}

const expectStoreError = (e: unknown, reason: SyncStore.StoreError["reason"]) => {
  expect(e).toBeInstanceOf(SyncStore.StoreError)
  const err = e as SyncStore.StoreError
  expect(err.reason, err.message).toBe(reason)
  expect(err.isRetryable).toBe(reason !== "Unknown")
  // Neither an identifier nor a stored value ends up in the error.
  expect(err.message).not.toContain(MAIL)
  expect(err.detail).toMatch(/^SyncStore /)
  return err
}

whenRedis(() => {
  syncStoreSuite({
    name: "RedisSyncStore",
    makeStore: () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        yield* rawRedis(prefix)
        return yield* makeSyncStore(optionsFor(prefix))
      })
  })

  describe("RedisSyncStore", () => {
    it.scopedLive("a store reopened on the same prefix sees everything the first one wrote", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        yield* rawRedis(prefix)
        const [a, b] = [itemFor("crm", "p1", 1_000), itemFor("edge", "p2", 2_000)]
        const letter = Outbox.parkWith(b, { reason: "Rejected", detail: "refused", code: "400" }, 3_000)
        // The first process writes, then its connection closes.
        yield* Effect.scoped(
          Effect.gen(function* () {
            const first = yield* makeSyncStore(optionsFor(prefix))
            yield* first.setCursor("shop", "r1.5-0")
            yield* first.setLastSync("crm", 4_000)
            yield* first.setKnown(
              "crm",
              "p1",
              new Map([["marketing.email", { status: "granted", eventId: "e1" }]])
            )
            yield* first.link({ target: "crm", externalId: "x1", profileId: "p1" })
            yield* first.link({ target: "edge", externalId: "x2", profileId: "p1" })
            yield* first.markDirty(["p2", "p1"])
            expect(yield* first.enqueue(a)).toBe("added")
            expect(yield* first.enqueue(b)).toBe("added")
            yield* first.park(letter)
          })
        )
        const second = yield* makeSyncStore(optionsFor(prefix))
        expect(yield* second.cursor("shop")).toEqual(Option.some("r1.5-0"))
        expect(yield* second.lastSync("crm")).toEqual(Option.some(4_000))
        expect(Object.fromEntries(yield* second.known("crm", "p1"))).toStrictEqual({
          "marketing.email": { status: "granted", eventId: "e1" }
        })
        expect(yield* second.links("p1")).toStrictEqual([
          { target: "crm", externalId: "x1", profileId: "p1" },
          { target: "edge", externalId: "x2", profileId: "p1" }
        ])
        expect(yield* second.dirty(10)).toEqual(["p2", "p1"])
        expect(yield* second.pending).toStrictEqual([a])
        expect(yield* second.deadLetters).toStrictEqual([letter])
        expect(yield* second.enqueue(b)).toBe("dead")
        // And it carries on from there: the order of new links and marks follows the old ones.
        yield* second.link({ target: "crm", externalId: "x3", profileId: "p1" })
        expect((yield* second.links("p1")).map((l) => l.externalId)).toEqual(["x1", "x2", "x3"])
        yield* second.markDirty(["p3"])
        expect(yield* second.dirty(10)).toEqual(["p2", "p1", "p3"])
      })
    )

    it.scopedLive("writes land in the keys RedisKeys documents, hash-tagged as documented", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const store = yield* makeSyncStore(optionsFor(prefix))
        const k = RedisKeys.syncKeys(prefix)
        const item = itemFor("crm:eu", "p {1}", 1_000)
        yield* store.setCursor("shop", "c1")
        yield* store.setLastSync("crm:eu", 5_000)
        yield* store.setKnown(
          "crm:eu",
          "p {1}",
          new Map([["f", { status: "denied", at: "2024-01-01T00:00:00.000Z" }]])
        )
        yield* store.link({ target: "crm:eu", externalId: "x 1", profileId: "p {1}" })
        yield* store.markDirty(["p {1}"])
        yield* store.enqueue(item)
        const raw = yield* Effect.promise(async () => ({
          cursor: await r.hget(`${prefix}sync:cursors`, "shop"),
          lastSync: await r.hget(`${prefix}sync:last-sync`, "crm:eu"),
          known: await r.hgetall(`${prefix}sync:known:crm%3Aeu:{p%20%7B1%7D}`),
          linkTo: await r.hget(`${prefix}sync:{links}:to`, JSON.stringify(["crm:eu", "x 1"])),
          linksOf: await r.zrange(`${prefix}sync:{links}:of`, 0, "-1"),
          dirty: await r.zrange(`${prefix}sync:{dirty}:marks`, 0, "-1"),
          id: await r.hget(`${prefix}sync:{outbox}:keys`, "Push:crm%3Aeu:p%20%7B1%7D"),
          parts: await r.hmget(
            `${prefix}sync:{outbox}:pending`,
            `e:${item.id}`,
            `a:${item.id}`,
            `n:${item.id}`
          ),
          content: await r.hget(`${prefix}sync:{outbox}:pending`, `c:${item.id}`),
          due: await r.zrange(`${prefix}sync:{outbox}:due`, 0, "-1"),
          age: await r.zrange(`${prefix}sync:{outbox}:age`, 0, "-1", "WITHSCORES"),
          keys: await scanKeys(r, prefix)
        }))
        expect(raw.cursor).toBe("c1")
        expect(raw.lastSync).toBe("5000")
        expect(raw.known).toEqual({ f: JSON.stringify({ status: "denied", at: "2024-01-01T00:00:00.000Z" }) })
        const member = `p%20%7B1%7D 0000000000000001 ${JSON.stringify(["p {1}", "crm:eu", "x 1"])}`
        expect(raw.linkTo).toBe(member)
        expect(raw.linksOf).toEqual([member])
        expect(raw.dirty).toEqual(["p {1}"])
        expect(raw.id).toBe(item.id)
        expect(raw.parts).toEqual(["1000", "0", "1000"])
        const content = JSON.parse(raw.content ?? "{}") as Record<string, unknown>
        expect(content["id"]).toBe(item.id)
        expect(content["enqueuedAt"]).toBeUndefined()
        expect(raw.due).toEqual([
          `crm%3Aeu ${RedisKeys.sortableNumber(1_000)}${RedisKeys.sortableNumber(1_000)}${item.id}`
        ])
        expect(raw.age).toEqual([item.id, "1000"])
        // Every key is one the layout names; each group shares its hash tag.
        expect(raw.keys.sort()).toEqual(
          [
            k.cursors,
            k.lastSync,
            k.known("crm:eu", "p {1}"),
            k.linkTo,
            k.linksOf,
            k.linkSeq,
            k.dirty,
            k.dirtySeq,
            k.pending,
            k.pendingKeys,
            k.due,
            k.age
          ].sort()
        )
        const tag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1]
        expect(tag(k.known("crm:eu", "p {1}"))).toBe("p%20%7B1%7D")
        expect(new Set(k.outbox.map(tag))).toEqual(new Set(["outbox"]))
        expect(new Set([k.linkTo, k.linksOf, k.linkSeq].map(tag))).toEqual(new Set(["links"]))
        expect(new Set([k.dirty, k.dirtySeq].map(tag))).toEqual(new Set(["dirty"]))
        // Completing and parking leave no parts behind.
        expect(yield* store.complete(item.id)).toBe(true)
        const left = yield* Effect.promise(() => r.hgetall(k.pending))
        expect(left).toEqual({})
      })
    )

    it.scopedLive("sortableNumber sorts as the numbers do and reads back exactly", () =>
      Effect.sync(() => {
        const xs = [-1e20, -5.5, -0, 0, 1e-300, 0.1, 1, 1_700_000_000_000, 1_700_000_000_000.5, 8.64e15]
        const encoded = xs.map(RedisKeys.sortableNumber)
        expect([...encoded].sort()).toEqual(encoded)
        expect(encoded.map(RedisKeys.fromSortableNumber)).toEqual(xs.map((x) => (x === 0 ? 0 : x)))
        expect(RedisKeys.encodeName("a:b {c}*%ğ")).toBe("a%3Ab%20%7Bc%7D*%25%C4%9F")
        expect(RedisKeys.encodeName("\ud800x")).toBe("%uD800x")
      })
    )

    it.scopedLive("layerSyncStore provides core's SyncStore tag", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        yield* rawRedis(prefix)
        const cursor = yield* Effect.flatMap(SyncStore.SyncStore, (s) =>
          Effect.zipRight(s.setCursor("shop", "c7"), s.cursor("shop"))
        ).pipe(Effect.provide(layerSyncStore(optionsFor(prefix))))
        expect(cursor).toEqual(Option.some("c7"))
      })
    )
  })

  describe("RedisSyncStore failures as StoreError reasons", () => {
    it.scopedLive("a closed port (ECONNREFUSED): Transport, retryable, on every operation", () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        const store = yield* makeSyncStore(
          optionsFor(freshPrefix(), { url: `redis://127.0.0.1:${port}`, ...fast })
        )
        const errors = yield* Effect.forEach(everyOperation(store), Effect.flip, { concurrency: "unbounded" })
        expect(errors).toHaveLength(27)
        for (const e of errors) expect(expectStoreError(e, "Transport").detail).toContain("ECONNREFUSED")
      })
    )

    it.scopedLive("the server killed mid-run: Transport; after a restart the store works again", () =>
      Effect.gen(function* () {
        const server = yield* throwaway()
        const store = yield* makeSyncStore(optionsFor(freshPrefix(), { url: server.url, ...fast }))
        expect(yield* store.enqueue(itemFor("crm", "p1", 1_000))).toBe("added")
        yield* Effect.promise(() => server.kill())
        expectStoreError(yield* Effect.flip(store.enqueue(itemFor("crm", "p1", 2_000))), "Transport")
        yield* Effect.promise(() => server.restart())
        // The restarted server has neither the data nor the scripts: they are loaded again. An
        // attempt that timed out may still have run once the connection was back, so the retried
        // enqueue may find its own item ("unchanged"): the outcome is ambiguous, the state is not.
        const item = itemFor("crm", "p1", 2_000)
        const again = yield* store
          .enqueue(item)
          .pipe(Effect.retry({ times: 20, while: (e) => e.isRetryable }))
        expect(["added", "unchanged"]).toContain(again)
        expect(yield* store.pending).toStrictEqual([item])
      })
    )

    it.scopedLive("a key of the wrong type or a corrupt value: Unknown, not retryable, no value echoed", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const store = yield* makeSyncStore(optionsFor(prefix))
        const k = RedisKeys.syncKeys(prefix)
        yield* Effect.promise(() => r.set(k.cursors, "not a hash"))
        const wrong = expectStoreError(yield* Effect.flip(store.cursor("shop")), "Unknown")
        expect(wrong.detail).toContain("WRONGTYPE")
        const item = itemFor("crm", "p1", 1_000)
        expect(yield* store.enqueue(item)).toBe("added")
        yield* Effect.promise(() => r.hset(k.pending, `c:${item.id}`, `{"_tag":"Push","note":"${MAIL}"`))
        expectStoreError(yield* Effect.flip(store.pending), "Unknown")
        expectStoreError(yield* Effect.flip(store.pendingFor("Push", "crm", "p1")), "Unknown")
        yield* Effect.promise(() => r.hset(k.known("crm", "p1"), "f", `{"status":"${MAIL}"}`))
        expectStoreError(yield* Effect.flip(store.known("crm", "p1")), "Unknown")
      })
    )
  })
})
