/** The client's own machinery on Effect's TestClock: the limiter and the retry schedule. */
import { describe, expect, it } from "@effect/vitest"
import { AdapterError } from "@living-profile/core"
import { Duration, Effect, Fiber, TestClock } from "effect"
import { HubSpotClient, HubSpotErrors } from "../src/index.js"
import * as RateLimiter from "../src/internal/RateLimiter.js"

const where: HubSpotErrors.Where = { target: "hubspot", operation: "push", endpoint: "POST /x", now: 0 }

describe("rate limiter", () => {
  it.effect("lets out at most max per rolling window, a window after each answer", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ max: 3, windowMs: 1_000 })
      const started: Array<number> = []
      const request = (ms: number) =>
        limiter.withPermit(
          Effect.gen(function* () {
            started.push(yield* TestClock.currentTimeMillis)
            yield* Effect.sleep(Duration.millis(ms))
          })
        )
      // Three instant requests, then two more: they wait for the first tokens to come back.
      const fiber = yield* Effect.fork(
        Effect.forEach([0, 0, 100, 0, 0], request, { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(Duration.millis(5_000))
      yield* Fiber.join(fiber)
      expect(started).toEqual([0, 0, 0, 1_000, 1_000])
      // The fourth waits for the first two tokens (both back at 1,000 ms), the fifth takes the second of them.
      expect(limiter.stats()).toEqual({ taken: 5, waited: 1, waitedMs: 1_000 })
    })
  )

  it.effect("a token still in flight comes back a window after its answer, not its start", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ max: 1, windowMs: 1_000 })
      const started: Array<number> = []
      const request = (ms: number) =>
        limiter.withPermit(
          Effect.flatMap(TestClock.currentTimeMillis, (t) => {
            started.push(t)
            return Effect.sleep(Duration.millis(ms))
          })
        )
      const fiber = yield* Effect.fork(Effect.forEach([400, 0], request, { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.millis(5_000))
      yield* Fiber.join(fiber)
      expect(started).toEqual([0, 1_400])
    })
  )
})

describe("retry schedule", () => {
  const config = { baseDelay: Duration.millis(100), maxRetries: 3, maxRateLimitWait: Duration.seconds(15) }
  const attemptsUntil = (errors: ReadonlyArray<AdapterError.AdapterError>) =>
    Effect.gen(function* () {
      const times: Array<number> = []
      let i = 0
      const attempt = Effect.flatMap(TestClock.currentTimeMillis, (t) => {
        times.push(t)
        const e = errors[i++]
        return e === undefined ? Effect.succeed("ok") : Effect.fail(e)
      })
      const fiber = yield* Effect.fork(
        Effect.either(Effect.retry(attempt, HubSpotClient.retrySchedule(config)))
      )
      yield* TestClock.adjust(Duration.minutes(5))
      return { result: yield* Fiber.join(fiber), times }
    })
  const transport = AdapterError.transport("hubspot", "reset", { code: "ECONNRESET" })
  const burst = HubSpotErrors.fromHttp(where, {
    status: 429,
    body: { policyName: "TEN_SECONDLY_ROLLING" },
    header: (n) => (n === "x-hubspot-ratelimit-interval-milliseconds" ? "10000" : undefined)
  })
  const daily = HubSpotErrors.fromHttp(where, {
    status: 429,
    body: { policyName: "DAILY" },
    header: () => undefined
  })

  it.effect("backs off exponentially with jitter on transport failures, at most maxRetries times", () =>
    Effect.gen(function* () {
      const { result, times } = yield* attemptsUntil([transport, transport, transport, transport])
      expect(result._tag).toBe("Left")
      expect(times).toHaveLength(4)
      const gaps = times.slice(1).map((t, k) => t - times[k]!)
      // 100, 200, 400 ms, each jittered by Schedule.jittered (80% to 120%).
      gaps.forEach((g, k) => {
        expect(g).toBeGreaterThanOrEqual(100 * 2 ** k * 0.8)
        expect(g).toBeLessThanOrEqual(100 * 2 ** k * 1.2)
      })
    })
  )

  it.effect("waits out a burst 429's window (plus up to 10%), then succeeds", () =>
    Effect.gen(function* () {
      const { result, times } = yield* attemptsUntil([burst])
      expect(result._tag).toBe("Right")
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(10_000)
      expect(times[1]! - times[0]!).toBeLessThanOrEqual(11_000)
    })
  )

  it.effect("hands a daily 429, and any other reason, back at once", () =>
    Effect.gen(function* () {
      for (const e of [
        daily,
        AdapterError.invalid("hubspot", "x"),
        AdapterError.unauthorized("hubspot", "x")
      ]) {
        const { result, times } = yield* attemptsUntil([e])
        expect(result._tag).toBe("Left")
        expect(times).toHaveLength(1)
      }
    })
  )
})

describe("errors of thrown values", () => {
  it("a FetchError is Transport with its system code; other throws are Unknown, naming only the class", () => {
    const reset = Object.assign(new Error("request to http://x/ada@example.com failed"), {
      name: "FetchError",
      type: "system",
      code: "ECONNRESET"
    })
    const e = HubSpotErrors.fromThrown(where, reset)
    expect([e.reason, e.code]).toEqual(["Transport", "ECONNRESET"])
    expect(e.message).not.toContain("ada@")
    const odd = HubSpotErrors.fromThrown(where, new TypeError("Cannot parse ada@example.com"))
    expect([odd.reason, odd.code]).toEqual(["Unknown", "TypeError"])
    expect(odd.message).not.toContain("ada@")
  })
})
