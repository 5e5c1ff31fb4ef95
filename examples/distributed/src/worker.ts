/**
 * One worker process, forked by main.ts (WorkerProcess.ts describes the conversation). It reads
 * the store settings from its environment with the adapter's own `RedisProfileStore.fromEnv()`
 * (`REDIS_URL`, `LIVING_PROFILE_SECRET`, `LIVING_PROFILE_KEY_PREFIX`), opens the store and a second
 * connection for the stream (a blocking read holds its connection), and then, until told to stop,
 * takes a batch from the consumer group, writes its records into the store in one write, and
 * acknowledges the batch only once that write has returned.
 */
import { ProfileStore } from "@living-profile/core"
import { RedisProfileStore } from "@living-profile/redis"
import { Cause, ConfigError, Effect, Redacted } from "effect"
import { Redis } from "ioredis"
import * as RecordStream from "./RecordStream.js"
import type { Command, Counts, Message, WorkerConfig } from "./WorkerProcess.js"

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig

const send = (m: Message): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined || !process.connected) resolve()
    else process.send(m, undefined, {}, () => resolve())
  })

let go = (): void => undefined
const started = new Promise<void>((resolve) => {
  go = resolve
})
let stopping = false
process.on("message", (c: Command) => {
  if (c.type === "go") go()
  else stopping = true
})
// The main process is gone: stop instead of running on as an orphan.
process.on("disconnect", () => {
  stopping = true
  go()
})

/**
 * A failure as text without values: store errors name the step and code, a missing setting names the
 * variable, anything else (a Redis reply may echo values) only its name and code.
 */
const describe = (e: unknown): string => {
  if (e instanceof ProfileStore.StoreError) return e.message
  if (ConfigError.isConfigError(e)) return String(e)
  if (Cause.isUnknownException(e)) return describe(e.error)
  const code = typeof e === "object" && e !== null && "code" in e ? ` (${String(e.code)})` : ""
  return `${e instanceof Error ? e.name : "failure"}${code}`
}

const program = Effect.gen(function* () {
  const options = yield* RedisProfileStore.fromEnv()
  const store = yield* RedisProfileStore.make(options)
  const redis = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const r = new Redis(options.url ?? "redis://127.0.0.1:6379", {
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: Redacted.value(options.password) })
      })
      r.on("error", () => undefined)
      return r
    }),
    (r) =>
      Effect.promise(() =>
        r.quit().then(
          () => undefined,
          () => undefined
        )
      )
  )
  const stream = RecordStream.consumer(redis, config, config.consumer, {
    count: config.batch,
    minIdleMs: config.minIdleMs,
    blockMs: config.blockMs
  })
  // The first store call connects and catches up with the (empty) log: a bad URL or password fails here.
  yield* store.sync
  yield* Effect.promise(() => send({ type: "ready" }))
  yield* Effect.promise(() => started)

  let counts: Counts = { records: 0, claimed: 0, batches: 0, rejected: 0 }
  let reads = 0
  while (!stopping) {
    const batch = yield* Effect.tryPromise(() => stream.next())
    if (batch === undefined) continue
    reads++
    // A crash at the worst moment: the batch is read (pending under this consumer) and not written.
    if (reads === config.crashAfter) process.kill(process.pid, "SIGKILL")
    if (batch.records.length > 0) yield* store.write({ upserts: batch.records, events: false })
    const acked = yield* Effect.tryPromise(() => stream.ack(batch.ids))
    counts = {
      records: counts.records + acked,
      claimed: counts.claimed + (batch.claimed ? batch.ids.length : 0),
      batches: counts.batches + (batch.records.length > 0 ? 1 : 0),
      rejected: counts.rejected + batch.rejected.length
    }
    yield* Effect.promise(() => send({ type: "counts", counts }))
  }
})

Effect.runPromise(Effect.either(Effect.scoped(program))).then(
  async (result) => {
    if (result._tag === "Left") await send({ type: "failed", error: describe(result.left) })
    process.exit(result._tag === "Left" ? 1 : 0)
  },
  async (defect: unknown) => {
    await send({ type: "failed", error: `defect: ${describe(defect)}` })
    process.exit(1)
  }
)
