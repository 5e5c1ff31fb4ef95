import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { SalesforceEmulator } from "../src/salesforce/index.js"
import { connection, type Conn, failure, login, startEmulator, version } from "./salesforce.helpers.js"

let em: SalesforceEmulator
let conn: Conn

beforeAll(async () => {
  em = await startEmulator({ dailyLimit: 1000 })
  conn = await login(em)
})

beforeEach(() => {
  em.backdoor.reset()
  em.limits.dailyLimit = 1000
  em.latencyMs = 0
})

afterAll(async () => {
  await em.close()
})

const statuses = () =>
  em.backdoor.requestLog.map((e) => `${e.method} ${e.status}${e.fault === undefined ? "" : ` ${e.fault}`}`)

describe("API usage limit", () => {
  it("sends Sforce-Limit-Info on every data call, incrementing api-usage", async () => {
    await conn.query("SELECT Id FROM Contact")
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 1, limit: 1000 } })
    await conn.sobject("Contact").create({ LastName: "L" })
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 2, limit: 1000 } })
    const limits = await conn.limits()
    expect(limits.DailyApiRequests).toEqual({ Max: 1000, Remaining: 997 })
    expect(conn.limitInfo.apiUsage?.used).toBe(3)
  })

  it("answers 403 REQUEST_LIMIT_EXCEEDED past the daily limit, without retries, until the window rolls", async () => {
    em.limits.dailyLimit = 5
    em.limits.setUsed(4)
    await conn.query("SELECT Id FROM Contact")
    const e = await failure(conn.query("SELECT Id FROM Contact"))
    expect(e.name).toBe("REQUEST_LIMIT_EXCEEDED")
    expect(e["errorCode"]).toBe("REQUEST_LIMIT_EXCEEDED")
    expect(e.message).toBe("TotalRequests Limit exceeded.")
    expect(e["data"]).toEqual({
      message: "TotalRequests Limit exceeded.",
      errorCode: "REQUEST_LIMIT_EXCEEDED"
    })
    const post = await failure(conn.sobject("Contact").create({ LastName: "L" }))
    expect(post.name).toBe("REQUEST_LIMIT_EXCEEDED")
    expect(statuses()).toEqual(["GET 200", "GET 403", "POST 403"])
    expect(em.limits.used()).toBe(5)

    em.clock.set(Date.now())
    try {
      em.clock.advance(24 * 3600 * 1000 + 60_000)
      await conn.query("SELECT Id FROM Contact")
      expect(conn.limitInfo.apiUsage).toEqual({ used: 1, limit: 5 })
    } finally {
      em.clock.resume()
    }
  })

  it("does not count token requests", async () => {
    await login(em)
    expect(em.limits.used()).toBe(0)
  })
})

describe("injected faults as jsforce surfaces them", () => {
  it("a 503 on a write is not retried and becomes an HttpApiError", async () => {
    em.faults.next({ method: "POST", path: "/sobjects/Contact", status: 503 })
    const e = await failure(conn.sobject("Contact").create({ LastName: "L" }))
    expect(e.name).toBe("SERVER_UNAVAILABLE")
    expect(e["errorCode"]).toBe("SERVER_UNAVAILABLE")
    expect(e["data"]).toMatchObject({ errorCode: "SERVER_UNAVAILABLE" })
    expect(statuses()).toEqual(["POST 503 status"])
    expect(em.backdoor.count("Contact")).toBe(0)
    expect(em.limits.used()).toBe(0)
  })

  it("a 503 on a read is retried by jsforce after 500 ms and then succeeds", async () => {
    em.faults.next({ path: /\/query$/, status: 503 })
    const started = Date.now()
    const r = await conn.query("SELECT Id FROM Contact")
    expect(r.done).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(450)
    expect(statuses()).toEqual(["GET 503 status", "GET 200"])
  })

  it("a rule faults a bounded number of matching requests", async () => {
    const rule = em.faults.rule({ path: /composite/, status: 500, times: 2 })
    for (let i = 0; i < 2; i++) {
      const e = await failure(conn.sobject("Contact").create([{ LastName: "A" }]))
      expect(e.name).toBe("UNKNOWN_EXCEPTION")
    }
    expect(rule.remaining()).toBe(0)
    const ok = await conn.sobject("Contact").create([{ LastName: "A" }])
    expect(ok[0]?.success).toBe(true)
    expect(em.faults.pending()).toBe(0)
  })

  it("a 429 carries a rate-limit error code", async () => {
    em.faults.next({ method: "PATCH", status: 429 })
    const e = await failure(conn.sobject("Contact").update([{ Id: "003000000000000AAA", LastName: "x" }]))
    expect(e.name).toBe("REQUEST_LIMIT_EXCEEDED")
    expect(statuses()).toEqual(["PATCH 429 status"])
  })

  it("a dropped connection on a write surfaces as a FetchError with code ECONNRESET", async () => {
    em.faults.next({ method: "POST", drop: true })
    const e = await failure(conn.sobject("Contact").create({ LastName: "L" }))
    expect(e.name).toBe("FetchError")
    expect(e["code"]).toBe("ECONNRESET")
    expect(e.message).toContain("socket hang up")
    expect(statuses()).toEqual(["POST 0 drop"])
  })

  it("a dropped connection on a read is retried by jsforce", async () => {
    em.faults.next({ method: "GET", drop: true })
    const r = await conn.query("SELECT Id FROM Contact")
    expect(r.totalSize).toBe(0)
    expect(statuses()).toEqual(["GET 0 drop", "GET 200"])
  })

  it("a request held past the client's timeout is aborted by the client", async () => {
    em.faults.next({ method: "POST", hang: true })
    const e = await failure(
      conn.request(
        {
          method: "POST",
          url: `/services/data/v${version}/sobjects/Contact`,
          body: JSON.stringify({ LastName: "Slow" }),
          headers: { "content-type": "application/json" }
        },
        { timeout: 200 }
      )
    )
    expect(e.name).toBe("AbortError")
    expect(em.backdoor.count("Contact")).toBe(0)
  })

  it("a delay holds the request and then answers normally; latency applies to every request", async () => {
    em.faults.next({ delayMs: 150 })
    let started = Date.now()
    await conn.query("SELECT Id FROM Contact")
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    expect(statuses()).toEqual(["GET 200 delay"])

    em.latencyMs = 60
    started = Date.now()
    await conn.query("SELECT Id FROM Contact")
    await conn.query("SELECT Id FROM Contact")
    expect(Date.now() - started).toBeGreaterThanOrEqual(110)
  })

  it("a record fault fails one record of a valid batch while the others succeed", async () => {
    const rule = em.faults.record({
      object: "Contact",
      operation: "create",
      where: (r) => r["LastName"] === "Locked"
    })
    const results = await conn
      .sobject("Contact")
      .create([{ LastName: "Free" }, { LastName: "Locked" }, { LastName: "Free2" }])
    expect(results.map((r) => r.success)).toEqual([true, false, true])
    expect(results[1]).toEqual({
      success: false,
      errors: [
        {
          statusCode: "UNABLE_TO_LOCK_ROW",
          message: "unable to obtain exclusive access to this record or 1 records: (new record)",
          fields: []
        }
      ]
    })
    rule.remove()
    const id = results[0]?.success ? results[0].id : ""
    em.faults.record({
      operation: "update",
      errorCode: "CANNOT_EXECUTE_FLOW_TRIGGER",
      message: "flow failed",
      times: 1
    })
    const single = await failure(conn.sobject("Contact").update({ Id: id, DoNotCall: true }))
    expect(single.name).toBe("CANNOT_EXECUTE_FLOW_TRIGGER")
    expect(await conn.sobject("Contact").update({ Id: id, DoNotCall: true })).toMatchObject({ success: true })
  })

  it("a fault on the token endpoint answers an OAuth error", async () => {
    em.faults.next({ path: "/services/oauth2/token", status: 503 })
    const e = await failure(connection(em).login(em.credentials.username, em.credentials.password))
    expect(e.name).toBe("unknown_error")
  })
})
