import type { Client } from "@hubspot/api-client"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type HubSpotEmulator, main, parseArgs } from "../src/hubspot/index.js"
import { T0, clientFor, rejection, startFrozen } from "./hubspot.support.js"

let emulator: HubSpotEmulator
let client: Client

beforeAll(async () => {
  emulator = await startFrozen()
  client = clientFor(emulator)
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.backdoor.reset()
  emulator.clock.set(T0)
  emulator.faults.setLatency(0)
})

const listContacts = () => client.crm.contacts.basicApi.getPage()
const searchAll = () => client.crm.contacts.searchApi.doSearch({ filterGroups: [] })

const waitFor = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5))
  expect(condition()).toBe(true)
}

describe("status faults", () => {
  it("a one-shot 502 surfaces as an ApiException with code, JSON body and lower-cased headers", async () => {
    emulator.faults.next({ status: 502 })
    const error = await rejection(listContacts())
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({
      code: 502,
      body: { status: "error", correlationId: expect.any(String), category: expect.any(String) },
      headers: { "content-type": expect.stringContaining("application/json") }
    })
    expect(String(error)).toMatch(/^Error: HTTP-Code: 502/)
    await expect(listContacts()).resolves.toBeDefined()
    expect(emulator.backdoor.requestLog.map((e) => [e.status, e.faulted])).toEqual([
      [502, true],
      [200, false]
    ])
  })

  it("a gateway page in HTML reaches the adapter as a string body", async () => {
    emulator.faults.next({
      status: 502,
      body: "<html><h1>502 Bad Gateway</h1></html>",
      contentType: "text/html"
    })
    await expect(listContacts()).rejects.toMatchObject({
      code: 502,
      body: "<html><h1>502 Bad Gateway</h1></html>"
    })
  })

  it("a rule hits matching paths `times` times and leaves other paths alone", async () => {
    const rule = emulator.faults.rule({ path: /\/search$/, status: 500, times: 2 })
    await expect(searchAll()).rejects.toMatchObject({ code: 500 })
    await expect(listContacts()).resolves.toBeDefined()
    await expect(searchAll()).rejects.toMatchObject({ code: 500 })
    emulator.clock.advance(1_000)
    await expect(searchAll()).resolves.toMatchObject({ total: 0 })
    expect(rule.hits()).toBe(2)
  })

  it("matches on method and can be removed", async () => {
    const rule = emulator.faults.rule({ method: "post", status: 503 })
    await expect(listContacts()).resolves.toBeDefined()
    await expect(searchAll()).rejects.toMatchObject({ code: 503 })
    rule.remove()
    emulator.clock.advance(1_000)
    await expect(searchAll()).resolves.toBeDefined()
  })

  it("injects a burst-limit 429 without touching the counters", async () => {
    emulator.faults.next({ rateLimit: "TEN_SECONDLY_ROLLING" })
    await expect(listContacts()).rejects.toMatchObject({
      code: 429,
      body: {
        policyName: "TEN_SECONDLY_ROLLING",
        message: "You have reached your ten_secondly_rolling limit."
      },
      headers: { "x-hubspot-ratelimit-remaining": "0" }
    })
    expect(emulator.backdoor.usage().daily).toBe(0)
  })

  it("injects a run of 429s (a burst) on one path", async () => {
    emulator.faults.rule({
      path: "/crm/v3/objects/contacts/batch/read",
      rateLimit: "TEN_SECONDLY_ROLLING",
      times: 3
    })
    const read = () =>
      client.crm.contacts.batchApi.read({ inputs: [], properties: [], propertiesWithHistory: [] })
    for (let i = 0; i < 3; i++) await expect(read()).rejects.toMatchObject({ code: 429 })
    await expect(read()).resolves.toMatchObject({ status: "COMPLETE" })
  })
})

describe("connection faults", () => {
  it("a dropped connection rejects with node-fetch's FetchError (no HTTP status), from the SDK and apiRequest", async () => {
    emulator.faults.next({ drop: true })
    const error = await rejection(listContacts())
    expect(error).toMatchObject({ name: "FetchError", type: "system", code: "ECONNRESET" })
    expect(error).not.toHaveProperty("body")
    emulator.faults.next({ drop: true })
    await expect(client.apiRequest({ path: "/crm/v3/objects/contacts" })).rejects.toMatchObject({
      name: "FetchError"
    })
    expect(emulator.backdoor.requestLog.map((e) => e.outcome)).toEqual(["dropped", "dropped"])
  })

  it("a held request stays open until released, then is served", async () => {
    emulator.faults.next({ hold: true })
    let settled = false
    const pending = listContacts().finally(() => {
      settled = true
    })
    await waitFor(() => emulator.faults.held() === 1)
    await new Promise((r) => setTimeout(r, 30))
    expect(settled).toBe(false)
    expect(emulator.faults.release()).toBe(1)
    await expect(pending).resolves.toMatchObject({ results: [] })
  })

  it("a held request is dropped when the emulator closes, so a client timeout or reset is what the adapter sees", async () => {
    const other = await startFrozen()
    other.faults.next({ hold: true })
    const pending = rejection(clientFor(other).crm.contacts.basicApi.getPage())
    await waitFor(() => other.faults.held() === 1)
    await other.close()
    expect(await pending).toMatchObject({ name: "FetchError" })
  })

  it("adds latency to every request", async () => {
    emulator.faults.setLatency(60)
    const started = performance.now()
    await listContacts()
    expect(performance.now() - started).toBeGreaterThanOrEqual(55)
  })

  it("delays one request with delayMs, then serves it", async () => {
    emulator.faults.next({ delayMs: 40 })
    const started = performance.now()
    await expect(listContacts()).resolves.toBeDefined()
    expect(performance.now() - started).toBeGreaterThanOrEqual(35)
  })
})

describe("command line", () => {
  it("parses the options", () => {
    expect(parseArgs(["--port", "4020", "--token=pat-x", "--burst-max", "190", "--daily", "625000"])).toEqual(
      {
        port: 4020,
        tokens: ["pat-x"],
        burstLimit: { max: 190, windowMs: 10_000 },
        dailyLimit: 625_000
      }
    )
    expect(() => parseArgs(["--nope"])).toThrow(/Unknown option/)
  })

  it("prints the URL and token and serves until told to stop", async () => {
    let output = ""
    let stop: () => void = () => {}
    const until = new Promise<void>((resolve) => {
      stop = resolve
    })
    const running = main(["--port", "0", "--token", "pat-cli"], { write: (t) => (output += t), until })
    await waitFor(() => output.includes("Token:"))
    const url = /listening on (\S+)/.exec(output)?.[1] ?? ""
    expect(output).toContain("Token: pat-cli")
    const cli = new (await import("@hubspot/api-client")).Client({
      accessToken: "pat-cli",
      basePath: url,
      numberOfApiCallRetries: 0
    })
    await expect(cli.crm.contacts.basicApi.getPage()).resolves.toMatchObject({ results: [] })
    stop()
    await running
    await expect(fetch(`${url}/crm/v3/objects/contacts`)).rejects.toThrow()
  })
})
