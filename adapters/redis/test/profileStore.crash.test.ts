/**
 * A writer killed mid-run (SIGKILL, no cleanup) loses nothing it acknowledged and leaves nothing
 * half-done: a worker process ingests batches and prints an acknowledgement after each write has
 * returned; the test kills it after some of them, then a fresh store on the same prefix reads every
 * acknowledged record, holds whole batches only, materialises what the dead writer left pending to
 * exactly the in-memory store's partition over the records it holds, and ingesting the rest ends
 * where ingesting everything in one process would.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { makeProfileStore } from "../src/index.js"
import {
  batches,
  expectIdsAgree,
  keyOf,
  listed,
  memoryPartition,
  partitionOf,
  synthetic
} from "./support/partition.js"
import { freshPrefix, rawRedis, REDIS_URL, whenRedis } from "./support/redis.js"
import { acks, assertBuilt, worker } from "./support/worker.js"

const RECORDS = 2_000
const SEED = 77_001
const BATCH = 40
/** Kill once this many batches are acknowledged (of 50). */
const KILL_AT = 12
const SECRET = "crash-secret"

whenRedis(() =>
  describe("RedisProfileStore: a writer killed mid-run", () => {
    it.scopedLive(
      "keeps every acknowledged record, whole batches only, and a consistent partition",
      () =>
        Effect.gen(function* () {
          assertBuilt()
          const prefix = freshPrefix()
          const r = yield* rawRedis(prefix)
          const records = synthetic(RECORDS, SEED)
          const all = batches(records, BATCH)
          const w = yield* worker({
            mode: "ingest",
            url: REDIS_URL,
            prefix,
            secret: SECRET,
            records: RECORDS,
            seed: SEED,
            batchSize: BATCH,
            slot: 0,
            of: 1
          })
          yield* Effect.promise(() => w.waitFor((l) => l === "ready"))
          w.send("go")
          yield* Effect.promise(() => w.waitFor((l) => l === `ack ${KILL_AT - 1}`))
          yield* Effect.promise(() => w.kill())
          const acked = acks(w)
          expect(w.lines, "killed before it finished").not.toContain("done")
          expect(acked).toEqual(Array.from({ length: acked.length }, (_, i) => i))
          expect(acked.length).toBeGreaterThanOrEqual(KILL_AT)
          expect(acked.length).toBeLessThan(all.length)

          const store = yield* makeProfileStore({
            url: REDIS_URL,
            keyPrefix: prefix,
            secret: Redacted.make(SECRET)
          })
          // Every acknowledged record reads back as written (before anyone syncs).
          for (const i of acked)
            for (const rec of all[i]!) expect(yield* store.record(rec), keyOf(rec)).toEqual(Option.some(rec))

          // What the store holds is whole batches, in order: the acknowledged ones and perhaps the one in flight.
          const held = yield* Effect.forEach(records, (rec) => Effect.map(store.record(rec), Option.isSome), {
            concurrency: 32
          })
          const heldBatches = all.map((b, i) => {
            const n = b.filter((_, j) => held[i * BATCH + j]).length
            expect(n === 0 || n === b.length, `batch ${i} is half there (${n} of ${b.length})`).toBe(true)
            return n > 0
          })
          const n = heldBatches.filter(Boolean).length
          expect(heldBatches).toEqual(all.map((_, i) => i < n))
          expect(n).toBeGreaterThanOrEqual(acked.length)
          const holds = records.filter((_, i) => held[i])
          expect(yield* Effect.promise(() => r.hlen(`${prefix}{g}rec`))).toBe(holds.length)

          // After a sync the derived state is exactly the partition of what is held; no record lacks a profile.
          yield* store.sync
          const profiles = yield* listed(store)
          expect(profiles.flatMap((p) => p.records.map(keyOf)).sort()).toEqual(holds.map(keyOf).sort())
          expect(partitionOf(profiles)).toEqual(yield* memoryPartition(holds))
          yield* expectIdsAgree(store, profiles, holds)

          // Ingesting the rest ends where one process ingesting everything would.
          for (const batch of all.slice(n)) {
            const result = yield* store.write({ upserts: batch, events: false })
            expect(result.created).toBe(batch.length)
          }
          const end = yield* listed(store)
          expect(partitionOf(end)).toEqual(yield* memoryPartition(records))
          yield* expectIdsAgree(store, end, records)
        }),
      60_000
    )
  })
)
