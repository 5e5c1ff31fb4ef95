/**
 * A RedisProfileStore in a process of its own, for the tests that need several processes or one
 * they can SIGKILL. It imports the BUILT adapter (adapters/redis/dist) and the built testkit, as a
 * deployed process would, and talks to the test in lines:
 *
 * - `ingest`: generates the seeded synthetic set, takes every `of`-th batch from `slot`, prints
 *   `ready`, waits for `go` on stdin (so that several workers start together), writes its batches
 *   one by one and prints `ack <batch index>` after each write has returned, then `done`.
 * - `write`: writes `records` in one batch and prints `result <WriteResult counts as JSON>`.
 *
 * A failure prints `error <tag> <reason>` and exits 1. The configuration is one JSON argument.
 */
import { createInterface } from "node:readline"
import { Synthetic } from "@living-profile/testkit"
import { Effect, Redacted } from "effect"
import { makeProfileStore } from "../../dist/index.js"

const config = JSON.parse(process.argv[2] ?? "{}")

const say = (line) => process.stdout.write(`${line}\n`)

const lines = createInterface({ input: process.stdin })
const go = new Promise((resolve) => {
  lines.on("line", (line) => {
    if (line.trim() === "go") resolve()
  })
})

const encryption =
  config.encryption === undefined
    ? {}
    : {
        encryption: {
          current: config.encryption.current,
          keys: Object.fromEntries(
            Object.entries(config.encryption.keys).map(([id, key]) => [id, Redacted.make(key)])
          )
        }
      }

const batchesOf = () => {
  const all = [...Synthetic.generate({ records: config.records, seed: config.seed })].map((x) => x.record)
  const out = []
  for (let i = 0, n = 0; i < all.length; i += config.batchSize, n++)
    if (n % config.of === config.slot) out.push({ index: n, records: all.slice(i, i + config.batchSize) })
  return out
}

const program = Effect.scoped(
  Effect.gen(function* () {
    const store = yield* makeProfileStore({
      url: config.url,
      keyPrefix: config.prefix,
      secret: Redacted.make(config.secret),
      ...encryption
    })
    if (config.mode === "ingest") {
      const mine = batchesOf()
      say("ready")
      yield* Effect.promise(() => go)
      for (const { index, records } of mine) {
        yield* store.write({ upserts: records, events: false })
        say(`ack ${index}`)
      }
      say("done")
      return
    }
    if (config.mode === "write") {
      const { events: _events, ...counts } = yield* store.write({ upserts: config.upserts })
      say(`result ${JSON.stringify(counts)}`)
      return
    }
    throw new Error(`unknown mode ${config.mode}`)
  })
)

Effect.runPromise(Effect.either(program)).then(
  (result) => {
    lines.close()
    if (result._tag === "Right") process.exit(0)
    say(`error ${result.left._tag ?? "unknown"} ${result.left.reason ?? ""}`)
    process.exit(1)
  },
  (e) => {
    say(`error defect ${e?.name ?? ""}`)
    process.exit(1)
  }
)
