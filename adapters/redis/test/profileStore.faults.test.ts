/**
 * The server going away mid-run: a throw-away redis-server (append-only file on, so that what it
 * acknowledged survives a restart) is killed while the store ingests; the write in flight and every
 * operation after it fail with a StoreError of reason Transport, each within a bounded time and
 * naming no value; once a server is back on the same port the same store continues, and the
 * partition it ends with is the in-memory store's over everything.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import type { ProfileStore } from "@living-profile/core"
import { Effect, Either, Fiber, Option, Redacted, Stream } from "effect"
import { Redis } from "ioredis"
import { makeProfileStore, ProfileKeys } from "../src/index.js"
import {
  batches,
  expectIdsAgree,
  keyOf,
  listed,
  memoryPartition,
  partitionOf,
  synthetic
} from "./support/partition.js"
import { freshPrefix, throwaway, whenRedis } from "./support/redis.js"

const RECORDS = 1_200
const SEED = 4_711
const BATCH = 40
/** Kill the server once this many batches are written (of 30). */
const KILL_AT = 8
const ATTEMPTS = 2
const COMMAND_TIMEOUT_MS = 500
/**
 * How long an operation may take to give up while the server is down: every attempt times out,
 * plus the backoff between attempts (from 50 ms) and a second of slack for a loaded machine.
 */
const BOUND_MS = ATTEMPTS * COMMAND_TIMEOUT_MS + 50 * (2 ** ATTEMPTS - 1) + 1_000
/** How soon after the restart the store must be reachable again. */
const RECONNECT_MS = 10_000

/** An operation's failure and how long it took; a success or a defect fails the test. */
const failure = <A>(op: Effect.Effect<A, ProfileStore.StoreError>) =>
  Effect.gen(function* () {
    const start = Date.now()
    const result = yield* Effect.either(op)
    const ms = Date.now() - start
    if (Either.isRight(result)) throw new Error("expected the operation to fail while the server is down")
    return { error: result.left, ms }
  })

whenRedis(() =>
  describe("RedisProfileStore: the server killed and restarted", () => {
    it.scopedLive(
      "fails with Transport in bounded time while it is down and continues once it is back",
      () =>
        Effect.gen(function* () {
          const dir = yield* Effect.acquireRelease(
            Effect.promise(() => mkdtemp(join(tmpdir(), "lp-faults-"))),
            (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
          )
          const server = yield* throwaway(["--appendonly", "yes", "--dir", dir])
          const prefix = freshPrefix()
          // The server and its directory are this test's alone: no prefix cleanup needed, and none could run while it is down.
          const r = yield* Effect.acquireRelease(
            Effect.sync(() =>
              new Redis(server.url, { maxRetriesPerRequest: 1 }).on("error", () => undefined)
            ),
            (c) => Effect.sync(() => c.disconnect())
          )
          const store = yield* makeProfileStore({
            url: server.url,
            keyPrefix: prefix,
            secret: Redacted.make("faults-secret"),
            attempts: ATTEMPTS,
            commandTimeout: COMMAND_TIMEOUT_MS,
            connectTimeout: 500
          })
          const records = synthetic(RECORDS, SEED)
          const all = batches(records, BATCH)

          // Ingest in a fiber; the server is killed under it.
          const written: Array<number> = []
          let failedAt = 0
          const ingest = yield* Effect.fork(
            Effect.gen(function* () {
              for (const [i, batch] of all.entries()) {
                yield* store.write({ upserts: batch, events: false })
                written.push(i)
              }
            }).pipe(
              Effect.tapError(() => Effect.sync(() => (failedAt = Date.now()))),
              Effect.either
            )
          )
          while (written.length < KILL_AT) yield* Effect.sleep("5 millis")
          const killedAt = Date.now()
          yield* Effect.promise(() => server.kill())
          const ended = yield* Fiber.join(ingest)
          const inFlight = failedAt - killedAt
          expect(Either.isLeft(ended), "the ingest stopped with the server").toBe(true)
          const cut = Either.isLeft(ended) ? ended.left : undefined
          expect(cut?._tag).toBe("StoreError")
          expect(cut?.reason).toBe("Transport")
          expect(inFlight).toBeLessThan(BOUND_MS)
          expect(written.length).toBeLessThan(all.length)

          // Every operation fails the same way while the server is down, and says nothing of the records.
          const probe = all[0]![0]!
          const someId = ProfileKeys.profileId(1)
          // The reads take no lock and go at once; the writes queue on the store's lock, so one at a time.
          const reads = yield* Effect.all(
            {
              record: failure(store.record(probe)),
              profileIdOf: failure(store.profileIdOf(probe)),
              profile: failure(store.profile(someId)),
              profiles: failure(Stream.runDrain(store.profiles))
            },
            { concurrency: "unbounded" }
          )
          const down = {
            ...reads,
            write: yield* failure(store.write({ upserts: all[written.length]! })),
            sync: yield* failure(store.sync),
            erase: yield* failure(store.erase(someId))
          }
          for (const [op, { error, ms }] of Object.entries(down)) {
            expect(error._tag, op).toBe("StoreError")
            expect(error.reason, `${op}: ${error.message}`).toBe("Transport")
            expect(error.isRetryable, op).toBe(true)
            expect(ms, op).toBeLessThan(BOUND_MS)
            expect(error.message, op).not.toContain(probe.id)
          }

          // Back on the same port, with what it had written to its append-only file.
          yield* Effect.promise(() => server.restart())
          // The client reconnects on its own backoff (ioredis caps it at 5 s): until then reads still fail, with Transport.
          const back = Date.now()
          for (;;) {
            const read = yield* Effect.either(store.record(probe))
            if (Either.isRight(read)) break
            expect(read.left.reason).toBe("Transport")
            expect(Date.now() - back, "reconnected after the restart").toBeLessThan(RECONNECT_MS)
          }
          for (const i of written)
            for (const rec of all[i]!) expect(yield* store.record(rec), keyOf(rec)).toEqual(Option.some(rec))
          for (const batch of all.slice(written.length)) {
            const result = yield* store.write({ upserts: batch, events: false })
            // The batch in flight at the kill may have been applied (then it is unchanged now).
            expect(result.created + result.unchanged).toBe(batch.length)
          }
          const profiles = yield* listed(store)
          expect(partitionOf(profiles)).toEqual(yield* memoryPartition(records))
          yield* expectIdsAgree(store, profiles, records)
          expect(yield* Effect.promise(() => r.hlen(`${prefix}{g}rec`))).toBe(RECORDS)
        }),
      60_000
    )
  })
)
