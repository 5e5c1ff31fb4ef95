import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { HubSpotEmulator } from "../src/hubspot/index.js"
import { T0, clientFor, rejection, startFrozen } from "./hubspot.support.js"

let emulator: HubSpotEmulator

beforeAll(async () => {
  emulator = await startFrozen({
    tokens: ["pat-app-a", "pat-app-b"],
    burstLimit: { max: 5, windowMs: 10_000 },
    dailyLimit: 12,
    searchLimit: { max: 2, windowMs: 1_000 }
  })
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.backdoor.reset()
  emulator.clock.set(T0)
})

const page = (token = emulator.token) =>
  clientFor(emulator, token).crm.contacts.basicApi.getPageWithHttpInfo()
const searchOnce = () =>
  clientFor(emulator).crm.contacts.searchApi.doSearchWithHttpInfo({ filterGroups: [], limit: 1 })

describe("ten-second rolling burst limit", () => {
  it("sends the X-HubSpot-RateLimit-* headers on every counted response", async () => {
    const first = await page()
    expect(first.headers).toMatchObject({
      "x-hubspot-ratelimit-max": "5",
      "x-hubspot-ratelimit-remaining": "4",
      "x-hubspot-ratelimit-interval-milliseconds": "10000",
      "x-hubspot-ratelimit-daily": "12",
      "x-hubspot-ratelimit-daily-remaining": "11"
    })
  })

  it("answers the call past max with the documented 429, then recovers once the window has rolled", async () => {
    for (let i = 0; i < 5; i++) await page()
    const error = await rejection(page())
    expect(error).toMatchObject({
      code: 429,
      body: {
        status: "error",
        message: "You have reached your ten_secondly_rolling limit.",
        errorType: "RATE_LIMIT",
        policyName: "TEN_SECONDLY_ROLLING",
        correlationId: expect.any(String),
        groupName: expect.stringContaining("private_app-api-calls-ten-secondly")
      },
      headers: { "x-hubspot-ratelimit-remaining": "0", "x-hubspot-ratelimit-max": "5" }
    })
    emulator.clock.advance(9_999)
    await expect(page()).rejects.toMatchObject({ code: 429 })
    emulator.clock.advance(1)
    await expect(page()).resolves.toMatchObject({ httpStatusCode: 200 })
  })

  it("is a rolling window, not a fixed one", async () => {
    for (let i = 0; i < 3; i++) await page()
    emulator.clock.advance(5_000)
    for (let i = 0; i < 2; i++) await page()
    emulator.clock.advance(5_000)
    // The three oldest calls have left the window; the two newer ones still count.
    for (let i = 0; i < 3; i++) await page()
    await expect(page()).rejects.toMatchObject({ code: 429 })
  })

  it("counts each app (token) separately", async () => {
    for (let i = 0; i < 5; i++) await page("pat-app-a")
    await expect(page("pat-app-a")).rejects.toMatchObject({ code: 429 })
    await expect(page("pat-app-b")).resolves.toMatchObject({ httpStatusCode: 200 })
    expect(emulator.backdoor.usage().burst).toEqual({ "pat-app-a": 5, "pat-app-b": 1 })
  })

  it("does not count rejected calls or backdoor access", async () => {
    for (let i = 0; i < 5; i++) await page()
    for (let i = 0; i < 3; i++) await rejection(page())
    emulator.backdoor.upsertContact({ email: "free@example.com" })
    expect(emulator.backdoor.usage()).toMatchObject({ daily: 5, burst: { [emulator.token]: 5 } })
  })
})

describe("daily limit", () => {
  it("answers 429 DAILY once the day's budget is spent, and resets at midnight UTC", async () => {
    for (let i = 0; i < 12; i++) {
      await page(i % 2 === 0 ? "pat-app-a" : "pat-app-b")
      emulator.clock.advance(2_000)
    }
    const error = await rejection(page())
    expect(error).toMatchObject({
      code: 429,
      body: { message: "You have reached your daily limit.", errorType: "RATE_LIMIT", policyName: "DAILY" },
      headers: { "x-hubspot-ratelimit-daily-remaining": "0" }
    })
    emulator.clock.set("2026-03-02T00:00:00.000Z")
    await expect(page()).resolves.toMatchObject({ httpStatusCode: 200 })
  })
})

describe("search limit", () => {
  it("has its own per-second limit with the 'secondly' 429, sends no rate-limit headers and spares the burst budget", async () => {
    const ok = await searchOnce()
    expect(Object.keys(ok.headers).filter((h) => h.startsWith("x-hubspot-ratelimit"))).toEqual([])
    await searchOnce()
    const error = await rejection(searchOnce())
    expect(error).toMatchObject({
      code: 429,
      body: { status: "error", message: "You have reached your secondly limit.", errorType: "RATE_LIMIT" }
    })
    expect(emulator.backdoor.usage()).toEqual({ daily: 2, search: 2, burst: {} })
    emulator.clock.advance(1_000)
    await expect(searchOnce()).resolves.toMatchObject({ httpStatusCode: 200 })
  })
})
