/**
 * Scenario `resolve --store redis`: W worker processes ingest one synthetic set into one
 * RedisProfileStore at once (batch i goes to worker i mod W), under a fresh key prefix deleted
 * afterwards. Reported: wall time from the workers' start to the last one's end, records/s over
 * all workers, each worker's own records/s and peak RSS, Redis memory per record (INFO memory,
 * `used_memory` after minus before), and pairwise accuracy of what the store holds at the end.
 *
 * Every worker holds a replica of every record (see the adapter's README): W workers share the
 * writes, not the matching, so the aggregate is not expected to grow with W.
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { join } from "node:path"
import { Normalize, SourceRecord } from "@living-profile/core"
import { makeProfileStore } from "@living-profile/redis"
import { Accuracy, Synthetic } from "@living-profile/testkit"
import { Effect, Either, Redacted, Stream } from "effect"
import { type BenchResult, median, peakRssMb, round } from "./stats.js"

/** Options of one measurement. */
export interface ResolveRedisOptions {
  readonly records: number
  readonly workers: number
  readonly runs: number
  readonly url: string
  readonly batch?: number
}

const SECRET = Redacted.make("bench-secret")

/** What a worker reports on its last stdout line. */
interface WorkerReport {
  readonly records: number
  readonly seconds: number
  readonly peakRssMb: number
}

/** The worker: ingests its share of the batches, then prints a WorkerReport. */
export const worker = async (argv: ReadonlyArray<string>): Promise<void> => {
  const [url, prefix, records, index, workers, batch] = argv
  const n = Number(records)
  const w = Number(workers)
  const i = Number(index)
  const size = Number(batch)
  Normalize.clearCaches()
  const report = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const store = yield* makeProfileStore({ url: url!, keyPrefix: prefix!, secret: SECRET })
        let mine = 0
        let chunk: Array<SourceRecord.SourceRecord> = []
        let k = 0
        const t0 = process.hrtime.bigint()
        for (const { record } of Synthetic.generate({ records: n, seed: 7 })) {
          // Through JSON text, as real input arrives (see resolve.ts).
          const decoded = SourceRecord.decode(JSON.parse(JSON.stringify(record)))
          if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
          chunk.push(decoded.right)
          if (chunk.length === size) {
            if (k++ % w === i) {
              yield* store.write({ upserts: chunk, events: false })
              mine += chunk.length
            }
            chunk = []
          }
        }
        if (chunk.length > 0 && k % w === i) {
          yield* store.write({ upserts: chunk, events: false })
          mine += chunk.length
        }
        yield* store.sync
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9
        return { records: mine, seconds, peakRssMb: peakRssMb() }
      })
    )
  )
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

const runWorker = (args: ReadonlyArray<string>): Promise<WorkerReport> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "redisWorker.js"), ...args], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8")
    })
    child.on("error", reject)
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`redis worker exited with ${code}`))
      const last = out.trim().split("\n").pop() ?? ""
      resolve(JSON.parse(last) as WorkerReport)
    })
  })

/** Whether a Redis answers at REDIS_URL (the full run skips the scenario, saying so, when none does). */
export const redisAnswers = async (): Promise<boolean> => {
  const { Redis } = await import("ioredis")
  const r = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null
  })
  r.on("error", () => undefined)
  try {
    await r.connect()
    return (await r.ping()) === "PONG"
  } catch {
    return false
  } finally {
    r.disconnect()
  }
}

const usedMemory = (info: string): number => Number(/used_memory:(\d+)/.exec(info)?.[1] ?? "0")

/** One run: W workers at once under a fresh prefix, then accuracy and memory, then cleanup. */
const once = (o: ResolveRedisOptions, truth: ReadonlyMap<string, string>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const prefix = `lp-bench:${randomUUID().slice(0, 8)}:`
      const store = yield* makeProfileStore({ url: o.url, keyPrefix: prefix, secret: SECRET })
      const redis = store.redis
      const before = usedMemory(yield* Effect.promise(() => redis.info("memory")))
      const t0 = process.hrtime.bigint()
      const args = (i: number) => [
        o.url,
        prefix,
        String(o.records),
        String(i),
        String(o.workers),
        String(o.batch ?? 5_000)
      ]
      const reports = yield* Effect.promise(() =>
        Promise.all(Array.from({ length: o.workers }, (_, i) => runWorker(args(i))))
      )
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9
      const after = usedMemory(yield* Effect.promise(() => redis.info("memory")))
      const predicted = new Map<string, string>()
      yield* Stream.runForEach(store.profiles, (p) =>
        Effect.sync(() => {
          for (const r of p.records) predicted.set(SourceRecord.recordKey(r), p.profileId)
        })
      )
      const accuracy = Accuracy.pairwise(truth, predicted)
      yield* Effect.promise(async () => {
        let cursor = "0"
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
          cursor = next
          if (keys.length > 0) await redis.unlink(...keys)
        } while (cursor !== "0")
      })
      return {
        seconds,
        reports,
        bytesPerRecord: (after - before) / o.records,
        accuracy,
        held: predicted.size
      }
    })
  )

/** Runs the scenario: one result line. */
export const runResolveRedis = async (o: ResolveRedisOptions): Promise<Array<BenchResult>> => {
  const truth = new Map<string, string>()
  for (const { record, entity } of Synthetic.generate({ records: o.records, seed: 7 })) {
    truth.set(SourceRecord.recordKey(record), entity)
  }
  const runs: Array<Effect.Effect.Success<ReturnType<typeof once>>> = []
  for (let k = 0; k < o.runs; k++) runs.push(await Effect.runPromise(once(o, truth)))
  const seconds = median(runs.map((r) => r.seconds))
  const last = runs[runs.length - 1]!
  if (last.held !== o.records) throw new Error(`the store holds ${last.held} of ${o.records} records`)
  return [
    {
      scenario: "resolve-redis",
      dataset: `synthetic-${o.workers}w`,
      store: "redis",
      workers: o.workers,
      records: o.records,
      runs: o.runs,
      medianSeconds: round(seconds),
      perSecond: Math.round(o.records / seconds),
      perWorkerPerSecond: last.reports.map((r) => Math.round(r.records / r.seconds)),
      peakRssMb: Math.max(peakRssMb(), ...last.reports.map((r) => r.peakRssMb)),
      workerPeakRssMb: last.reports.map((r) => r.peakRssMb),
      redisBytesPerRecord: Math.round(median(runs.map((r) => r.bytesPerRecord))),
      precision: round(last.accuracy.precision),
      recall: round(last.accuracy.recall),
      f1: round(last.accuracy.f1)
    }
  ]
}
