import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either } from "effect"
import { AdapterError, ConsentTarget } from "../src/index.js"

const mapping = { target: "t", keys: [{ purpose: "marketing", channel: "email" as const, field: "m-email" }] }

const diff = (n: number): ConsentTarget.TargetDiff => ({
  profileId: `p${n}`,
  target: "t",
  changes: [
    {
      key: "marketing/email",
      field: "m-email",
      from: null,
      to: "granted",
      because: {
        status: "granted",
        capturedAt: "2025-01-01T00:00:00Z",
        source: "web",
        eventId: `e${n}`,
        legalBasis: "consent"
      }
    }
  ],
  ref: { externalId: `x${n}` }
})

describe("AdapterError", () => {
  it("maps HTTP statuses onto reasons, with Retry-After as delay-seconds or an HTTP date", () => {
    const cases: Array<[number, AdapterError.Reason]> = [
      [429, "RateLimited"],
      [401, "Unauthorized"],
      [403, "Unauthorized"],
      [404, "NotFound"],
      [410, "NotFound"],
      [409, "Conflict"],
      [423, "Conflict"],
      [400, "Invalid"],
      [422, "Invalid"],
      [408, "Transport"],
      [500, "Transport"],
      [503, "Transport"],
      [302, "Unknown"]
    ]
    for (const [status, reason] of cases) expect(AdapterError.fromHttpStatus("t", status).reason).toBe(reason)
    const seconds = AdapterError.fromHttpStatus("t", 429, { retryAfter: "7" })
    expect(seconds.retryAfter && Duration.toMillis(seconds.retryAfter)).toBe(7000)
    const now = Date.parse("2025-01-01T00:00:00Z")
    const date = AdapterError.fromHttpStatus("t", 429, { retryAfter: "Wed, 01 Jan 2025 00:00:30 GMT", now })
    expect(date.retryAfter && Duration.toMillis(date.retryAfter)).toBe(30_000)
    expect(AdapterError.fromHttpStatus("t", 503).isRetryable).toBe(true)
    expect(AdapterError.fromHttpStatus("t", 400).isRetryable).toBe(false)
    expect(AdapterError.fromHttpStatus("t", 401).isRetryable).toBe(false)
  })

  it("reduces a thrown value to its class name: its message may hold personal data", () => {
    const e = AdapterError.fromUnknown("t", "push", new TypeError("bad e-mail ayse@example.org"))
    expect(e.reason).toBe("Unknown")
    expect(e.message).not.toContain("ayse")
    expect(e.detail).toContain("TypeError")
  })
})

describe("ConsentTarget.make", () => {
  it.effect("splits pushes into batches of maxBatchSize and keeps results in input order", () =>
    Effect.gen(function* () {
      const batches: Array<number> = []
      const target = ConsentTarget.make({
        name: "t",
        mapping,
        capabilities: { maxBatchSize: 2 },
        pushBatch: (ds) =>
          Effect.sync(() => {
            batches.push(ds.length)
            return ds.map((d) => ConsentTarget.applied(d.ref.externalId!))
          })
      })
      const results = yield* target.push([diff(1), diff(2), diff(3), diff(4), diff(5)])
      expect(batches).toEqual([2, 2, 1])
      expect(results.map((r) => r._tag === "Applied" && r.externalId)).toEqual(["x1", "x2", "x3", "x4", "x5"])
    })
  )

  it.effect(
    "turns a thrown exception or a defect in a primitive into AdapterError Unknown: adapters never throw",
    () =>
      Effect.gen(function* () {
        const target = ConsentTarget.make({
          name: "t",
          mapping,
          pushOne: () =>
            Effect.sync(() => {
              throw new Error("socket said ayse@example.org")
            })
        })
        const r = yield* Effect.either(target.push([diff(1)]))
        const outcome = Either.isLeft(r) ? r.left : r.right[0]
        const error =
          outcome !== undefined && "_tag" in outcome && outcome._tag === "Failed" ? outcome.error : outcome
        expect(AdapterError.isAdapterError(error)).toBe(true)
        if (AdapterError.isAdapterError(error)) {
          expect(error.reason).toBe("Unknown")
          expect(error.message).not.toContain("ayse")
        }
      })
  )

  it.effect(
    "a target-wide failure (rate limit) stops the call: untried items are reported Failed, none dropped",
    () =>
      Effect.gen(function* () {
        let calls = 0
        const target = ConsentTarget.make({
          name: "t",
          mapping,
          pushOne: (d) =>
            Effect.suspend(() => {
              calls++
              return d.profileId === "p2"
                ? Effect.fail(AdapterError.rateLimited("t", "burst", Duration.seconds(3)))
                : Effect.succeed(ConsentTarget.applied(d.ref.externalId!))
            })
        })
        const results = yield* target.push([diff(1), diff(2), diff(3)])
        expect(results).toHaveLength(3)
        expect(results[0]!._tag).toBe("Applied")
        expect(results[1]!._tag).toBe("Failed")
        expect(results[2]!._tag).toBe("Failed")
        expect(calls).toBe(2)
      })
  )
})
