/**
 * Several worker processes on one Redis resolve a shared stream of records into one
 * RedisProfileStore, and the result is checked against a single-process run.
 *
 * The main process writes seeded synthetic records to a Redis Stream, forks the workers (each a
 * consumer of one group, each with the same store prefix and secret), tells them to go, and waits
 * until the group has delivered and acknowledged every entry. Then it reads the profiles back from
 * Redis with a store of its own, resolves the same records in memory with core's single-process
 * store, compares the two partitions and deletes every key it created. `npm start` runs it with
 * `--records`, `--workers`, `--batch`, `--seed`, `--min-idle` and `--crash`; the test calls `run`.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { realpathSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import { ProfileStore, SourceRecord } from "@living-profile/core"
import { RedisProfileStore } from "@living-profile/redis"
import { Synthetic } from "@living-profile/testkit"
import { Chunk, ConfigProvider, Effect, Either, Redacted, type Scope, Stream } from "effect"
import { Redis } from "ioredis"
import * as Partition from "./Partition.js"
import * as RecordStream from "./RecordStream.js"
import * as Report from "./report.js"
import * as WorkerProcess from "./WorkerProcess.js"

/** The seed of the synthetic records unless `--seed` says otherwise. */
export const DEFAULT_SEED = 20_240_611

/** Options of `run`; the defaults are the command's. */
export interface RunOptions {
  /** Records to produce (default 20,000). */
  readonly records?: number
  /** Worker processes (default 2). */
  readonly workers?: number
  /** Entries per batch, one store write each (default 200). */
  readonly batch?: number
  readonly seed?: number
  /** How long a worker may hold a batch before others claim it (default 10 s). */
  readonly minIdleMs?: number
  /** Worker 1 SIGKILLs itself after reading its n-th batch, before writing it, to show the claim. */
  readonly crashAfter?: number
  /** Default: `REDIS_URL`, else `redis://127.0.0.1:6379`. */
  readonly redisUrl?: string
  /** The worker script (default: `worker.js` beside this module, i.e. in `dist/`). */
  readonly workerScript?: string
  /** Called once the workers are done and before the keys are deleted (the test reads Redis here). */
  readonly inspect?: (run: Inspection) => Promise<void>
}

/** What `inspect` gets: where everything is, and the records that were produced. */
export interface Inspection {
  readonly url: string
  readonly prefix: string
  readonly storePrefix: string
  readonly secret: Redacted.Redacted<string>
  readonly stream: RecordStream.StreamKeys
  readonly records: ReadonlyArray<SourceRecord.SourceRecord>
}

/** What a run found. */
export interface Summary extends Report.Figures {
  readonly distributed: Partition.Partition
  readonly reference: Partition.Partition
}

const POLL = "25 millis"
const READY_WAIT_MS = 60_000
const STOP_WAIT_MS = 30_000

/** The seeded synthetic records, decoded as the library's records. */
const synthetic = (records: number, seed: number): Array<SourceRecord.SourceRecord> =>
  Array.from(Synthetic.generate({ records, seed }), ({ record }) => {
    const decoded = SourceRecord.decode(record)
    if (Either.isLeft(decoded)) throw decoded.left
    return decoded.right
  })

/** Every key under a prefix (SCAN, never KEYS), deleted; returns how many there were. */
const deletePrefix = async (redis: Redis, prefix: string): Promise<number> => {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`
  let deleted = 0
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000)
    cursor = next
    if (keys.length > 0) deleted += await redis.unlink(...keys)
  } while (cursor !== "0")
  return deleted
}

const seconds = (from: number): number => (performance.now() - from) / 1000

const program = (
  out: Report.Out,
  options: RunOptions
): Effect.Effect<Summary, ProfileStore.StoreError | Error, Scope.Scope> =>
  Effect.gen(function* () {
    const records = options.records ?? 20_000
    const workerCount = options.workers ?? 2
    const batch = options.batch ?? 200
    const seed = options.seed ?? DEFAULT_SEED
    const url = options.redisUrl ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
    const script = options.workerScript ?? fileURLToPath(new URL("./worker.js", import.meta.url))

    // One fresh prefix holds the stream and the store; a random secret, as one deployment would have one.
    const prefix = `lp-example:distributed:${randomUUID().slice(0, 8)}:`
    const storePrefix = `${prefix}store:`
    const secret = randomBytes(32).toString("base64url")
    const stream = RecordStream.keysOf(prefix)

    // The workers and this process read the same settings, the way a deployment sets them.
    const env: Record<string, string> = {
      REDIS_URL: url,
      LIVING_PROFILE_SECRET: secret,
      LIVING_PROFILE_KEY_PREFIX: storePrefix
    }
    const inherited = Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)
    const storeOptions = yield* RedisProfileStore.fromEnv().pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([...inherited, ...Object.entries(env)]))),
      Effect.mapError((e) => new Error(`store settings: ${String(e)}`))
    )

    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const r = new Redis(url, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          ...(storeOptions.username === undefined ? {} : { username: storeOptions.username }),
          ...(storeOptions.password === undefined ? {} : { password: Redacted.value(storeOptions.password) })
        })
        r.on("error", () => undefined)
        return r
      }),
      // Also on failure: nothing of the run stays in Redis.
      (r) =>
        Effect.promise(async () => {
          await deletePrefix(r, prefix).catch(() => 0)
          await r.quit().catch(() => undefined)
        })
    )
    // Redis errors may echo values: only the error's name and code are shown.
    const call = <A>(f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (e) => {
          const code = typeof e === "object" && e !== null && "code" in e ? ` (${String(e.code)})` : ""
          return new Error(`Redis at ${url}: ${e instanceof Error ? e.name : "failure"}${code}`)
        }
      })
    yield* call(() => redis.connect()).pipe(
      Effect.mapError(
        () => new Error(`no Redis answers at ${url}; start one with: redis-server --daemonize yes --save ''`)
      )
    )

    // 1. The producer: the whole backlog first, so the workers' time is the resolving alone.
    const input = synthetic(records, seed)
    const producing = performance.now()
    yield* call(() => RecordStream.createGroup(redis, stream))
    const last = yield* call(() => RecordStream.produce(redis, stream, input))
    const producedSeconds = seconds(producing)

    // 2. The workers: forked, ready once their store answers, then started together.
    const workers = yield* Effect.forEach(
      Array.from({ length: workerCount }, (_, i) => i + 1),
      (id) =>
        WorkerProcess.start(
          script,
          id,
          {
            stream: stream.stream,
            group: stream.group,
            consumer: `worker-${id}`,
            batch,
            minIdleMs: options.minIdleMs ?? 10_000,
            blockMs: 100,
            ...(id === 1 && options.crashAfter !== undefined ? { crashAfter: options.crashAfter } : {})
          },
          env
        )
    )
    yield* Effect.tryPromise({
      try: () => Promise.all(workers.map((w) => w.ready)),
      catch: (e) => (e instanceof Error ? e : new Error(String(e)))
    }).pipe(
      Effect.timeoutFail({
        duration: READY_WAIT_MS,
        onTimeout: () => new Error(`the workers were not ready within ${READY_WAIT_MS / 1000} s`)
      })
    )
    const started = performance.now()
    for (const w of workers) w.send({ type: "go" })

    // 3. Until every entry has been delivered and acknowledged (a crashed worker's batch included).
    for (;;) {
      const p = yield* call(() => RecordStream.progress(redis, stream))
      if (RecordStream.drained(p, last)) break
      if (!workers.some((w) => w.running())) {
        const why = workers.map((w) => `worker ${w.id}: ${w.failure() ?? w.stderr().trim()}`).join("; ")
        return yield* Effect.fail(new Error(`every worker exited with ${p.pending} entries pending (${why})`))
      }
      yield* Effect.sleep(POLL)
    }
    const took = seconds(started)
    for (const w of workers) w.send({ type: "stop" })
    const exits = yield* Effect.promise(() => Promise.all(workers.map((w) => w.exited))).pipe(
      Effect.timeoutFail({
        duration: STOP_WAIT_MS,
        onTimeout: () => new Error(`the workers did not stop within ${STOP_WAIT_MS / 1000} s`)
      })
    )

    // 4. The result as Redis holds it, read by a store of this process: it reads profiles straight
    // from Redis and never builds a replica of its own for that.
    const store = yield* RedisProfileStore.make(storeOptions)
    const profiles = Chunk.toReadonlyArray(yield* Stream.runCollect(store.profiles))
    const distributed = Partition.of(profiles)

    // 5. The reference: core's in-memory store, one process, the same records in the same batches.
    const referencing = performance.now()
    const memory = ProfileStore.makeMemory()
    for (let i = 0; i < input.length; i += batch)
      yield* memory.write({ upserts: input.slice(i, i + batch), events: false })
    const reference = Partition.of(Chunk.toReadonlyArray(yield* Stream.runCollect(memory.profiles)))
    const referenceSeconds = seconds(referencing)

    if (options.inspect !== undefined) {
      const inspect = options.inspect
      yield* Effect.promise(() =>
        inspect({ url, prefix, storePrefix, secret: Redacted.make(secret), stream, records: input })
      )
    }
    const deletedKeys = yield* call(() => deletePrefix(redis, prefix))

    const summary: Summary = {
      records,
      seed,
      batch,
      stream: stream.stream,
      producedSeconds,
      workers: workers.map((w, i) => ({
        id: w.id,
        counts: w.counts(),
        exit: exits[i]!,
        crashed: w.id === 1 && options.crashAfter !== undefined && exits[i]!.signal === "SIGKILL",
        failure: w.failure()
      })),
      profiles: profiles.length,
      recordsInStore: Partition.size(distributed),
      seconds: took,
      referenceProfiles: reference.length,
      referenceSeconds,
      equal: Partition.equal(distributed, reference),
      difference: Partition.difference(distributed, reference),
      prefix,
      deletedKeys,
      distributed,
      reference
    }
    Report.render(out, summary)
    return summary
  })

/** Runs the example, writing the report line by line to `out`; every key it made is gone when the promise settles. */
export const run = (out: Report.Out, options: RunOptions = {}): Promise<Summary> =>
  Effect.runPromise(Effect.scoped(program(out, options)))

const positive = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`)
  return n
}

/** The command line: `node dist/main.js [--records N] [--workers W] [--batch B] [--seed S] [--min-idle MS] [--crash N]`. */
export const parse = (argv: ReadonlyArray<string>): RunOptions => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      records: { type: "string" },
      workers: { type: "string" },
      batch: { type: "string" },
      seed: { type: "string" },
      "min-idle": { type: "string" },
      crash: { type: "string" }
    },
    strict: true
  })
  return {
    records: positive("records", values.records, 20_000),
    workers: positive("workers", values.workers, 2),
    batch: positive("batch", values.batch, 200),
    seed: positive("seed", values.seed, DEFAULT_SEED),
    minIdleMs: positive("min-idle", values["min-idle"], 10_000),
    ...(values.crash === undefined ? {} : { crashAfter: positive("crash", values.crash, 1) })
  }
}

// `node dist/main.js` runs it; importing the module (the test does) does not.
const invokedDirectly = (): boolean => {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url
  } catch {
    return false
  }
}

if (invokedDirectly()) {
  Promise.resolve()
    .then(() => run((line) => process.stdout.write(`${line}\n`), parse(process.argv.slice(2))))
    .then(
      (summary) => {
        // The report says it; the exit code lets scripts and CI see it too.
        if (!summary.equal) process.exitCode = 1
      },
      (error: unknown) => {
        process.stderr.write(
          `distributed example failed: ${error instanceof Error ? error.message : String(error)}\n`
        )
        process.exitCode = 1
      }
    )
}
