import { describe, expect, it } from "@effect/vitest"
import type { HubSpotEmulator } from "@living-profile/emulators"
import { Duration, Effect } from "effect"
import { make } from "../src/index.js"
import { callsTo, diffOf } from "./support/diffs.js"
import { emulator, optionsFor } from "./support/harness.js"

const MARKETING = "1001"

/** The most requests the log shows in any rolling window of `windowMs`, and the request rate overall. */
const burstUse = (log: ReadonlyArray<HubSpotEmulator.RequestLogEntry>, windowMs: number) => {
  const times = log.filter((e) => e.status !== 429).map((e) => Date.parse(e.at))
  let densest = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++
    densest = Math.max(densest, i - j + 1)
  }
  const spanMs = times.length < 2 ? 0 : times[times.length - 1]! - times[0]!
  // Requests per window counted from the first one; the last window is usually partial.
  const perWindow: Array<number> = []
  for (const t of times) {
    const k = Math.floor((t - times[0]!) / windowMs)
    perWindow[k] = (perWindow[k] ?? 0) + 1
  }
  return { requests: times.length, densest, spanMs, perWindow: Array.from(perWindow, (n) => n ?? 0) }
}

describe("rate limits", () => {
  it.scopedLive("a burst 429 is waited out and retried: every diff is applied, none lost", () =>
    Effect.gen(function* () {
      // A small burst window (20 per second) and a proactive budget deliberately above it, so the
      // limit is hit; the emulator's 429 names the window, which is what the adapter waits.
      const em = yield* emulator({ burstLimit: { max: 20, windowMs: 1_000 } })
      const { target, client } = yield* make(
        optionsFor(em, {
          burstBudget: { max: 1_000, windowMs: 1_000 },
          retry: { maxRetries: 5, baseDelay: Duration.millis(10) }
        })
      )
      const ids = Array.from(
        { length: 30 },
        (_, i) => em.backdoor.upsertContact({ email: `burst${i}@example.com` }).id
      )
      // One diff per call: 60 requests against a limit of 20 per second.
      const results = yield* Effect.forEach(ids, (id) =>
        target.push([diffOf(target, { externalId: id }, [[MARKETING, "granted"]])])
      )
      expect(results.flat().every((r) => r._tag === "Applied")).toBe(true)
      const refused = em.backdoor.requestLog.filter((e) => e.status === 429)
      expect(refused.length).toBeGreaterThan(0)
      expect(client.stats().rateLimited).toBe(refused.length)
      for (let i = 0; i < 30; i++)
        expect(
          em.backdoor.subscriptions(`burst${i}@example.com`).find((s) => s.subscriptionId === MARKETING)
            ?.status
        ).toBe("SUBSCRIBED")
    })
  )

  it.scopedLive("the proactive limiter keeps under the burst ceiling while using most of it", () =>
    Effect.gen(function* () {
      // The Free/Starter ceiling (100 per 10 s) scaled down ten times in time: 10 per second.
      const em = yield* emulator({ burstLimit: { max: 10, windowMs: 1_000 } })
      const { target, client } = yield* make(optionsFor(em, { burstBudget: { max: 9, windowMs: 1_000 } }))
      const ids = Array.from(
        { length: 1_000 },
        (_, i) => em.backdoor.upsertContact({ email: `bench${i}@example.com` }).id
      )
      em.backdoor.clearRequestLog()
      const started = Date.now()
      const results = yield* target.push(
        ids.map((id) => diffOf(target, { externalId: id }, [[MARKETING, "granted"]]))
      )
      const elapsed = Date.now() - started
      expect(results.every((r) => r._tag === "Applied")).toBe(true)
      const log = em.backdoor.requestLog
      expect(log.filter((e) => e.status === 429)).toEqual([])
      const use = burstUse(log, 1_000)
      expect(use.requests).toBe(20)
      expect(callsTo(log, "/statuses/batch/write")).toHaveLength(10)
      // Tokens come back a window after the answer, so HubSpot (counting arrivals) never sees more than the budget.
      expect(use.densest).toBeLessThanOrEqual(9)
      // Every full window carries what the budget allows (9 of 10): the limiter waits no longer than it must.
      const full = use.perWindow.slice(0, -1)
      expect(full.length).toBeGreaterThan(0)
      for (const n of full) expect(n).toBeGreaterThanOrEqual(8)
      expect(client.stats().standard.waited).toBeGreaterThan(0)
      console.info(
        `1,000-diff push, ceiling 10/s, budget 9/s: ${use.requests} requests in ${elapsed} ms, ` +
          `${Math.round((1_000 / elapsed) * 1_000)} records/s, requests per second ${use.perWindow.join(", ")}, ` +
          `densest second ${use.densest}/10, no 429`
      )
    })
  )

  it.scopedLive("a 1,000-diff push at HubSpot's real ceiling stays far inside it", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const ids = Array.from(
        { length: 1_000 },
        (_, i) => em.backdoor.upsertContact({ email: `real${i}@example.com` }).id
      )
      em.backdoor.clearRequestLog()
      const started = Date.now()
      const results = yield* target.push(
        ids.map((id) => diffOf(target, { externalId: id }, [[MARKETING, "denied"]]))
      )
      const elapsed = Math.max(1, Date.now() - started)
      expect(results.every((r) => r._tag === "Applied")).toBe(true)
      const use = burstUse(em.backdoor.requestLog, 10_000)
      expect(use.requests).toBe(20)
      expect(em.backdoor.requestLog.filter((e) => e.status === 429)).toEqual([])
      console.info(
        `1,000-diff push, ceiling 100/10 s, budget 90/10 s: ${use.requests} requests in ${elapsed} ms, ` +
          `${Math.round((1_000 / elapsed) * 1_000)} records/s, ${use.densest}% of one window's ceiling`
      )
    })
  )
})
