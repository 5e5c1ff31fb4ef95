/**
 * Several processes write one store at once: four workers (child processes on the built adapter)
 * ingest interleaved quarters of one seeded synthetic set into one prefix, started together. Every
 * replica applies the one log in its order, so the profiles Redis ends with must be exactly what
 * core's single-process in-memory store makes of the same records, with every record's profile id
 * naming the profile that lists it, and the derived state materialised through the last log entry.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { makeProfileStore, RedisProfileStore } from "../src/index.js"
import {
  batches,
  expectIdsAgree,
  listed,
  memoryPartition,
  partitionOf,
  synthetic
} from "./support/partition.js"
import { freshPrefix, rawRedis, REDIS_URL, whenRedis } from "./support/redis.js"
import { acks, assertBuilt, worker } from "./support/worker.js"

const RECORDS = 4_000
const SEED = 20_240_611
const BATCH = 100
const WORKERS = 4
const SECRET = "concurrency-secret"

whenRedis(() =>
  describe("RedisProfileStore: concurrent processes", () => {
    it.scopedLive(
      `${WORKERS} processes ingesting one synthetic set at once end with the in-memory store's partition`,
      () =>
        Effect.gen(function* () {
          assertBuilt()
          const prefix = freshPrefix()
          const r = yield* rawRedis(prefix)
          const records = synthetic(RECORDS, SEED)
          const workers = yield* Effect.forEach(
            Array.from({ length: WORKERS }, (_, slot) => slot),
            (slot) =>
              worker({
                mode: "ingest",
                url: REDIS_URL,
                prefix,
                secret: SECRET,
                records: RECORDS,
                seed: SEED,
                batchSize: BATCH,
                slot,
                of: WORKERS
              })
          )
          yield* Effect.promise(() => Promise.all(workers.map((w) => w.waitFor((l) => l === "ready"))))
          for (const w of workers) w.send("go")
          const codes = yield* Effect.promise(() => Promise.all(workers.map((w) => w.exited)))
          expect(codes, workers.map((w) => `${w.lines.slice(-1)} ${w.stderr()}`).join("\n")).toEqual(
            workers.map(() => 0)
          )
          // Every batch was written once, by the worker it was dealt to.
          const written = workers.flatMap(acks).sort((a, b) => a - b)
          expect(written).toEqual(Array.from({ length: RECORDS / BATCH }, (_, i) => i))
          const log = (yield* Effect.promise(() => r.xrange(`${prefix}{g}log`, "-", "+"))).map(
            ([id, fields]) => ({ id, upserts: (fields[fields.indexOf("u") + 1] ?? "").split(",") })
          )
          expect(log).toHaveLength(RECORDS / BATCH)
          // They did run at once: each worker's first batch is in the log before every other's last.
          const slotOf = new Map<string, number>()
          batches(records, BATCH).forEach((b, i) => {
            for (const rec of b)
              slotOf.set(RedisProfileStore.recordHashWith(Redacted.make(SECRET), rec), i % WORKERS)
          })
          const order = log.map((e) => slotOf.get(e.upserts[0]!))
          for (let a = 0; a < WORKERS; a++)
            for (let b = 0; b < WORKERS; b++)
              if (a !== b)
                expect(order.indexOf(a), `log order ${order.join("")}`).toBeLessThan(order.lastIndexOf(b))

          // Each write materialises before it returns, so the last writer left nothing pending.
          expect(yield* Effect.promise(() => r.get(`${prefix}{g}mat`))).toBe(log[log.length - 1]!.id)

          // A fresh process reads the profiles straight from Redis, without syncing first.
          const store = yield* makeProfileStore({
            url: REDIS_URL,
            keyPrefix: prefix,
            secret: Redacted.make(SECRET)
          })
          const profiles = yield* listed(store)
          const expected = yield* memoryPartition(records)
          expect(expected.length).toBeLessThan(RECORDS)
          expect(profiles.reduce((n, p) => n + p.records.length, 0)).toBe(RECORDS)
          expect(partitionOf(profiles)).toEqual(expected)
          yield* expectIdsAgree(store, profiles, records)
          // Its own replica, caught up with the log, computes the same profiles: a reconcile rewrites nothing.
          const before = yield* Effect.promise(() => r.hgetall(`${prefix}{g}rp`))
          expect(yield* store.reconcile).toBe(expected.length)
          expect(yield* Effect.promise(() => r.hgetall(`${prefix}{g}rp`))).toEqual(before)
          expect(partitionOf(yield* listed(store))).toEqual(expected)
        }),
      60_000
    )
  })
)
