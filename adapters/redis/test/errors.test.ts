/**
 * The mapping of ioredis failures onto AdapterError reasons, each provoked for real: a closed port,
 * throw-away redis-servers (with `requirepass`, paused, killed mid-run, out of memory) and a key of
 * the wrong type on the shared server.
 */
import { describe, expect, it } from "@effect/vitest"
import { AdapterError, type ConsentTarget } from "@living-profile/core"
import { Duration, Effect, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { make, RedisErrors } from "../src/index.js"
import { freePort, freshPrefix, optionsFor, rawRedis, throwaway, whenRedis } from "./support/redis.js"

const MAIL = "ada.lovelace@example.test"

const diff = (
  ref: ConsentTarget.PersonRef,
  status: "granted" | "denied" = "granted"
): ConsentTarget.TargetDiff => ({
  profileId: "p1",
  target: "redis",
  ref,
  changes: [
    {
      key: "marketing/email",
      field: "marketing.email",
      from: null,
      to: status,
      because: {
        status,
        capturedAt: new Date().toISOString(),
        source: "test",
        eventId: "e1",
        legalBasis: "consent"
      }
    }
  ]
})

const byMail = { identifiers: { email: [MAIL] } }

const expectReason = (e: unknown, reason: AdapterError.Reason, code?: string) => {
  expect(AdapterError.isAdapterError(e), String(e)).toBe(true)
  const err = e as AdapterError.AdapterError
  expect(err.reason, err.message).toBe(reason)
  if (code !== undefined) expect(err.code).toBe(code)
  // Neither the identifier nor a password ends up in the error.
  expect(err.message).not.toContain(MAIL)
  expect(err.message).not.toContain("s3cret")
  return err
}

/** Every operation of the target fails with `reason`. */
const everyOperationFails = (
  target: ConsentTarget.ConsentTarget,
  reason: AdapterError.Reason,
  code?: string
) =>
  Effect.gen(function* () {
    expectReason(yield* Effect.flip(target.push([diff(byMail)])), reason, code)
    expectReason(yield* Effect.flip(target.pull(Option.none())), reason, code)
    expectReason(yield* Effect.flip(target.read([byMail])), reason, code)
    expectReason(yield* Effect.flip(target.erase([byMail])), reason, code)
  })

const fast = { commandTimeout: Duration.millis(500), connectTimeout: Duration.millis(500) }

describe("RedisErrors.classify", () => {
  it("maps reply words, socket codes and ioredis' own errors", () => {
    const reply = (message: string) => Object.assign(new Error(message), { name: "ReplyError" })
    expect(RedisErrors.classify(reply("NOAUTH Authentication required."))).toEqual({
      reason: "Unauthorized",
      code: "NOAUTH"
    })
    expect(RedisErrors.classify(reply("LOADING Redis is loading the dataset in memory")).reason).toBe(
      "Transport"
    )
    expect(RedisErrors.classify(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toEqual({
      reason: "Transport",
      code: "ECONNRESET"
    })
    expect(RedisErrors.classify(new Error("Connection is closed.")).reason).toBe("Transport")
    expect(RedisErrors.classify(new TypeError("boom"))).toEqual({ reason: "Unknown", code: "TypeError" })
  })
})

whenRedis(() =>
  describe("ioredis failures as AdapterError reasons", () => {
    it.scopedLive("a closed port (ECONNREFUSED): Transport, retryable, on every operation", () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        const { target } = yield* make(
          optionsFor(freshPrefix(), { url: `redis://127.0.0.1:${port}`, ...fast })
        )
        yield* everyOperationFails(target, "Transport", "ECONNREFUSED")
        const e = yield* Effect.flip(target.read([byMail]))
        expect(e.isRetryable).toBe(true)
      })
    )

    it.scopedLive("a wrong password (WRONGPASS): Unauthorized, not retryable", () =>
      Effect.gen(function* () {
        const server = yield* throwaway(["--requirepass", "s3cret"])
        const { target } = yield* make(
          optionsFor(freshPrefix(), { url: server.url, password: Redacted.make("wrong"), ...fast })
        )
        yield* everyOperationFails(target, "Unauthorized", "WRONGPASS")
        expect((yield* Effect.flip(target.read([byMail]))).isRetryable).toBe(false)
      })
    )

    it.scopedLive("no password where one is required (NOAUTH): Unauthorized", () =>
      Effect.gen(function* () {
        const server = yield* throwaway(["--requirepass", "s3cret"])
        const { target } = yield* make(optionsFor(freshPrefix(), { url: server.url, ...fast }))
        yield* everyOperationFails(target, "Unauthorized", "NOAUTH")
      })
    )

    it.scopedLive("the right password works (the same server, for contrast)", () =>
      Effect.gen(function* () {
        const server = yield* throwaway(["--requirepass", "s3cret"])
        const { target } = yield* make(
          optionsFor(freshPrefix(), { url: server.url, password: Redacted.make("s3cret"), ...fast })
        )
        expect((yield* target.push([diff(byMail)]))[0]?._tag).toBe("Applied")
      })
    )

    it.scopedLive("no answer within commandTimeout (a paused server): Transport TIMEOUT", () =>
      Effect.gen(function* () {
        const server = yield* throwaway()
        const { target } = yield* make(optionsFor(freshPrefix(), { url: server.url, ...fast }))
        expect((yield* target.push([diff(byMail)]))[0]?._tag).toBe("Applied")
        const admin = new Redis(server.url)
        yield* Effect.addFinalizer(() => Effect.sync(() => admin.disconnect()))
        yield* Effect.promise(() => admin.client("PAUSE", 2_000, "ALL"))
        const e = expectReason(yield* Effect.flip(target.read([byMail])), "Transport", "TIMEOUT")
        expect(e.isRetryable).toBe(true)
      })
    )

    it.scopedLive("the server killed mid-run: Transport; after a restart the same target recovers", () =>
      Effect.gen(function* () {
        const server = yield* throwaway()
        const { target } = yield* make(optionsFor(freshPrefix(), { url: server.url, ...fast }))
        expect((yield* target.push([diff(byMail)]))[0]?._tag).toBe("Applied")
        yield* Effect.promise(() => server.kill())
        const e = expectReason(yield* Effect.flip(target.push([diff(byMail, "denied")])), "Transport")
        expect(e.isRetryable).toBe(true)
        yield* Effect.promise(() => server.restart())
        // The server kept nothing (no persistence): the retried push creates the person again.
        const again = yield* target
          .push([diff(byMail, "denied")])
          .pipe(Effect.retry({ times: 20, while: (err) => err.isRetryable }))
        expect(again[0]?._tag).toBe("Applied")
      })
    )

    it.scopedLive("out of memory (OOM): Unknown, parked rather than retried", () =>
      Effect.gen(function* () {
        const server = yield* throwaway(["--maxmemory", "1", "--maxmemory-policy", "noeviction"])
        const { target } = yield* make(optionsFor(freshPrefix(), { url: server.url, ...fast }))
        const e = expectReason(yield* Effect.flip(target.push([diff(byMail)])), "Unknown", "OOM")
        expect(e.isRetryable).toBe(false)
      })
    )

    it.scopedLive("a key of the wrong type (WRONGTYPE): that item Failed Invalid, the others applied", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const { target } = yield* make(optionsFor(prefix))
        const [a, b] = yield* target.push([
          diff({ identifiers: { email: ["a@example.test"] } }),
          diff({ identifiers: { email: ["b@example.test"] } })
        ])
        const idA = a?._tag === "Applied" ? a.externalId : ""
        const idB = b?._tag === "Applied" ? b.externalId : ""
        yield* Effect.promise(() => r.set(`${prefix}consent:{${idA}}`, "not a hash"))
        const results = yield* target.push([
          diff({ externalId: idA }, "denied"),
          diff({ externalId: idB }, "denied")
        ])
        expect(results[0]?._tag).toBe("Failed")
        if (results[0]?._tag === "Failed") expectReason(results[0].error, "Invalid", "WRONGTYPE")
        expect(results[1]?._tag).toBe("Applied")
        // A read touching the broken key fails as a whole, with the same reason.
        expectReason(yield* Effect.flip(target.read([{ externalId: idA }])), "Invalid", "WRONGTYPE")
      })
    )

    it.scopedLive("a Redis parse error (ERR) is Invalid; a cursor the target did not issue is Invalid", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const refused = yield* Effect.flip(
          Effect.tryPromise(() => r.xrange(`${prefix}changes`, "not-an-id", "+"))
        )
        expect(RedisErrors.classify(refused.error)).toEqual({ reason: "Invalid", code: "ERR" })
        const { target } = yield* make(optionsFor(prefix))
        expectReason(yield* Effect.flip(target.pull(Option.some("not-a-cursor"))), "Invalid")
      })
    )
  })
)
