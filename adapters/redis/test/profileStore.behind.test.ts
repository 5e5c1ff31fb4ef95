/**
 * A write with `events: false` returns once its batch is durable and leaves its catch-up and
 * materialisation to run behind it (while the next write's script runs on the server). What must
 * still hold: the same process's next operation of any kind sees the write (its reads settle
 * first), closing the store finishes what runs behind, and a read of another process after that
 * finds the derived state complete, through the last log entry.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { makeProfileStore } from "../src/index.js"
import {
  batches,
  expectIdsAgree,
  listed,
  memoryPartition,
  partitionOf,
  synthetic
} from "./support/partition.js"
import { freshPrefix, rawRedis, REDIS_URL, whenRedis } from "./support/redis.js"

const SECRET = Redacted.make("behind-secret")

whenRedis(() =>
  describe("RedisProfileStore: writes without events", () => {
    it.scopedLive("the same process reads its writes at once; closing finishes the derived state", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const records = synthetic(600, 99)
        const head = async () => (await r.xrevrange(`${prefix}{g}log`, "+", "-", "COUNT", 1))[0]?.[0]
        yield* Effect.scoped(
          Effect.gen(function* () {
            const store = yield* makeProfileStore({ url: REDIS_URL, keyPrefix: prefix, secret: SECRET })
            for (const batch of batches(records, 100)) {
              const result = yield* store.write({ upserts: batch, events: false })
              expect(result.created).toBe(batch.length)
              expect(result.events).toEqual([])
              // Read at once, with no sync: every record of the batch has its profile id.
              for (const rec of [batch[0]!, batch[batch.length - 1]!]) {
                const id = yield* store.profileIdOf(rec)
                expect(Option.isSome(id)).toBe(true)
                const profile = yield* store.profile(Option.getOrThrow(id))
                expect(Option.isSome(profile)).toBe(true)
              }
            }
            // The last write's derived state may still be running behind it: closing finishes it.
            yield* store.write({ upserts: records.slice(0, 10), events: false })
          })
        )
        expect(yield* Effect.promise(() => r.get(`${prefix}{g}mat`))).toBe(yield* Effect.promise(head))
        // Another process (here: a fresh store, no sync) reads the complete partition straight from Redis.
        const reader = yield* makeProfileStore({ url: REDIS_URL, keyPrefix: prefix, secret: SECRET })
        const profiles = yield* listed(reader)
        expect(partitionOf(profiles)).toEqual(yield* memoryPartition(records))
        yield* expectIdsAgree(reader, profiles, records)
      })
    )

    it.scopedLive("a write with events after writes without them reports what it changed", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        yield* rawRedis(prefix)
        const store = yield* makeProfileStore({ url: REDIS_URL, keyPrefix: prefix, secret: SECRET })
        const records = synthetic(200, 7)
        yield* store.write({ upserts: records.slice(0, 100), events: false })
        const result = yield* store.write({ upserts: records.slice(100) })
        expect(result.created).toBe(100)
        expect(result.events.length).toBeGreaterThan(0)
        const profiles = yield* listed(store)
        expect(partitionOf(profiles)).toEqual(yield* memoryPartition(records))
        yield* expectIdsAgree(store, profiles, records)
      })
    )
  })
)
