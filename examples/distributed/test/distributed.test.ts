/**
 * Runs the example small, in-process as `npm start` does (the workers are the built
 * `dist/worker.js`), and checks what it claims through a read path of its own: the profiles'
 * member sets read with raw commands from the store's documented key layout (`pm:{id}` sets of
 * record hashes), against core's in-memory store run here over the same records.
 */
import { existsSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { ProfileStore, SourceRecord } from "@living-profile/core"
import { RedisProfileStore } from "@living-profile/redis"
import { Chunk, Effect, Stream } from "effect"
import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { type Inspection, parse, run, type Summary } from "../src/main.js"
import * as Partition from "../src/Partition.js"
import { REDIS_URL, scanKeys, whenRedis } from "./support/redis.js"

const RECORDS = 3_000
const WORKERS = 3
const BATCH = 100

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..")
const workerScript = join(pkg, "dist", "worker.js")

/** Fails unless dist/ is newer than the modules the workers run (turbo builds before `test`). */
const assertBuilt = (): void => {
  const hint = "run `npm run build -w @living-profile/example-distributed`"
  if (!existsSync(workerScript)) throw new Error(`examples/distributed/dist is missing: ${hint}`)
  const built = statSync(workerScript).mtimeMs
  const newer = ["worker.ts", "RecordStream.ts", "WorkerProcess.ts"].filter(
    (f) => statSync(join(pkg, "src", f)).mtimeMs > built
  )
  if (newer.length > 0) throw new Error(`dist is older than src (${newer.join(", ")}): ${hint}`)
}

/** What Redis held before the run deleted it, read with raw commands. */
interface Seen {
  /** Groups of record keys, one per `pm:{id}` set. */
  readonly groups: ReadonlyArray<ReadonlyArray<string>>
  readonly pending: number
  readonly lastLogEntry: string | undefined
  readonly materialisedThrough: string | null
}

const readRaw = async (r: Redis, i: Inspection): Promise<Seen> => {
  const keyOfHash = new Map<string, string>()
  for (const rec of i.records)
    keyOfHash.set(RedisProfileStore.recordHashWith(i.secret, rec), SourceRecord.recordKey(rec))
  const groups: Array<Array<string>> = []
  for (const key of await scanKeys(r, `${i.storePrefix}pm:`))
    groups.push((await r.smembers(key)).map((h) => keyOfHash.get(h) ?? `unknown hash ${h}`))
  const [pending] = (await r.xpending(i.stream.stream, i.stream.group)) as [number]
  const [last] = await r.xrevrange(`${i.storePrefix}{g}log`, "+", "-", "COUNT", 1)
  return {
    groups,
    pending,
    lastLogEntry: last?.[0],
    materialisedThrough: await r.get(`${i.storePrefix}{g}mat`)
  }
}

/** Core's single-process in-memory store over the records, as groups of record keys. */
const inMemory = (records: ReadonlyArray<SourceRecord.SourceRecord>): Array<Array<string>> =>
  Effect.runSync(
    Effect.gen(function* () {
      const memory = ProfileStore.makeMemory()
      yield* memory.write({ upserts: records, events: false })
      return Chunk.toReadonlyArray(yield* Stream.runCollect(memory.profiles)).map((p) =>
        p.records.map(SourceRecord.recordKey)
      )
    })
  )

/** Groups compared as a set of sets. */
const canonical = (groups: ReadonlyArray<ReadonlyArray<string>>): Array<string> =>
  groups.map((g) => [...g].sort().join("\n")).sort()

interface Outcome {
  readonly summary: Summary
  readonly lines: ReadonlyArray<string>
  readonly seen: Seen
  readonly expected: Array<Array<string>>
  readonly left: ReadonlyArray<string>
}

const runSmall = async (extra: { crashAfter?: number; minIdleMs?: number } = {}): Promise<Outcome> => {
  assertBuilt()
  const r = new Redis(REDIS_URL)
  try {
    const lines: Array<string> = []
    let seen: Seen | undefined
    let expected: Array<Array<string>> = []
    let prefix = ""
    const summary = await run((line) => lines.push(line), {
      records: RECORDS,
      workers: WORKERS,
      batch: BATCH,
      redisUrl: REDIS_URL,
      workerScript,
      ...extra,
      inspect: async (i) => {
        prefix = i.prefix
        seen = await readRaw(r, i)
        expected = inMemory(i.records)
      }
    })
    if (seen === undefined) throw new Error("inspect was not called")
    return { summary, lines, seen, expected, left: await scanKeys(r, prefix) }
  } finally {
    await r.quit()
  }
}

describe("the command line", () => {
  it("has the documented defaults", () => {
    expect(parse([])).toEqual({
      records: 20_000,
      workers: 2,
      batch: 200,
      seed: 20_240_611,
      minIdleMs: 10_000
    })
    expect(parse(["--records", "3000", "--workers", "3", "--crash", "2"])).toMatchObject({
      records: 3_000,
      workers: 3,
      crashAfter: 2
    })
  })

  it("refuses what it cannot run", () => {
    expect(() => parse(["--workers", "0"])).toThrow("--workers must be a positive integer")
    expect(() => parse(["--records", "1e3x"])).toThrow("--records must be a positive integer")
    expect(() => parse(["--nodes", "3"])).toThrow()
  })
})

describe("Partition", () => {
  it("ignores profile ids and order, not grouping", () => {
    const p = (id: string, ...keys: Array<string>): ProfileStore.StoredProfile => ({
      profileId: id,
      records: keys.map((k) => ({ source: "s", id: k })),
      profileEvents: [],
      rectifications: []
    })
    const a = Partition.of([p("p1", "1", "2"), p("p2", "3")])
    expect(Partition.equal(a, Partition.of([p("x", "3"), p("y", "2", "1")]))).toBe(true)
    expect(Partition.equal(a, Partition.of([p("p1", "1"), p("p2", "2", "3")]))).toBe(false)
    expect(Partition.equal(a, Partition.of([p("p1", "1", "2", "3")]))).toBe(false)
  })
})

whenRedis(() =>
  describe(`${WORKERS} workers, ${RECORDS.toLocaleString("en-US")} records`, () => {
    it("end with the single-process partition, every worker having consumed some of the stream", async () => {
      const { summary, lines, seen, expected, left } = await runSmall()

      // What it reports.
      expect(summary.equal).toBe(true)
      expect(lines).toContain("partition equal to single-process run: yes")
      expect(lines).toContain(`records:  ${RECORDS.toLocaleString("en-US")}`)
      expect(lines).toContain(`workers:  ${WORKERS}`)

      // What Redis held, read around the store, against the in-memory store run here.
      expect(expected.length).toBeLessThan(RECORDS)
      expect(seen.groups.flat()).toHaveLength(RECORDS)
      expect(canonical(seen.groups)).toEqual(canonical(expected))
      expect(summary.profiles).toBe(expected.length)
      // Every entry acknowledged, the derived state materialised through the last log entry.
      expect(seen.pending).toBe(0)
      expect(seen.materialisedThrough).toBe(seen.lastLogEntry)

      // Every worker consumed something, and every entry was acknowledged exactly once.
      expect(summary.workers).toHaveLength(WORKERS)
      for (const w of summary.workers) {
        expect(w.counts.records, `worker ${w.id}`).toBeGreaterThan(0)
        expect(w.exit).toEqual({ code: 0, signal: null })
      }
      expect(summary.workers.reduce((n, w) => n + w.counts.records, 0)).toBe(RECORDS)

      // Nothing of the run is left in Redis.
      expect(summary.deletedKeys).toBeGreaterThan(0)
      expect(left).toEqual([])
    })

    it("a worker killed while holding a batch: another claims it and the partition is the same", async () => {
      const { summary, seen, expected, left } = await runSmall({ crashAfter: 2, minIdleMs: 2_000 })
      const [crashed, ...others] = summary.workers
      expect(crashed!.exit.signal).toBe("SIGKILL")
      expect(crashed!.crashed).toBe(true)
      // It acknowledged at most its first batch; the one it held when it died was claimed by the others.
      expect(crashed!.counts.records).toBeLessThanOrEqual(BATCH)
      expect(crashed!.counts.batches).toBeLessThanOrEqual(1)
      expect(others.reduce((n, w) => n + w.counts.claimed, 0)).toBeGreaterThanOrEqual(BATCH)
      expect(summary.workers.reduce((n, w) => n + w.counts.records, 0)).toBe(RECORDS)
      expect(summary.equal).toBe(true)
      expect(canonical(seen.groups)).toEqual(canonical(expected))
      expect(seen.pending).toBe(0)
      expect(left).toEqual([])
    })
  })
)
