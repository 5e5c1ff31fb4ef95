import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import type { SalesforceEmulator } from "../src/salesforce/index.js"
import { type Conn, failure, login, startEmulator } from "./salesforce.helpers.js"

let em: SalesforceEmulator
let conn: Conn

beforeAll(async () => {
  em = await startEmulator()
  conn = await login(em)
})

afterEach(() => {
  em.clock.resume()
})

afterAll(async () => {
  await em.close()
})

describe("getUpdated / getDeleted", () => {
  it("lists updated and deleted ids by minute windows, after deletes", async () => {
    em.clock.set("2026-02-01T10:00:00Z")
    const a = await conn.sobject("Contact").create({ LastName: "A" })
    const b = await conn.sobject("Contact").create({ LastName: "B" })
    const c = await conn.sobject("Contact").create({ LastName: "C" })
    const [idA, idB, idC] = [a, b, c].map((r) => (r.success ? r.id : ""))
    em.clock.set("2026-02-01T10:05:10Z")
    await conn.sobject("Contact").update({ Id: idA ?? "", DoNotCall: true })
    await conn.sobject("Contact").destroy([idB ?? "", idC ?? ""])
    em.clock.set("2026-02-01T10:07:30Z")

    const updated = await conn.sobject("Contact").updated("2026-02-01T10:03:00Z", "2026-02-01T10:07:45Z")
    expect(updated).toEqual({ ids: [idA], latestDateCovered: "2026-02-01T10:07:00.000+0000" })

    const deleted = await conn.sobject("Contact").deleted("2026-02-01T10:03:00Z", "2026-02-01T10:07:00Z")
    expect(deleted.deletedRecords).toEqual([
      { id: idB, deletedDate: "2026-02-01T10:05:10.000+0000" },
      { id: idC, deletedDate: "2026-02-01T10:05:10.000+0000" }
    ])
    expect(deleted.latestDateCovered).toBe("2026-02-01T10:07:00.000+0000")
    expect(deleted.earliestDateAvailable).toBe("2026-01-17T10:07:00.000+0000")

    // The window is [start, latestDateCovered): the change at 10:05:10 is not in a window ending 10:05.
    // Seconds of the bounds are ignored, and only live records count as updated (B and C are deleted).
    const before = await conn.sobject("Contact").updated("2026-02-01T09:00:00Z", "2026-02-01T10:05:59Z")
    expect(before).toEqual({ ids: [], latestDateCovered: "2026-02-01T10:05:00.000+0000" })
  })

  it("resumes a poll exactly at latestDateCovered", async () => {
    em.clock.set("2026-02-02T08:00:00Z")
    const first = await conn
      .sobject("Individual")
      .updated(new Date("2026-02-02T07:00:00Z"), new Date("2026-02-02T09:00:00Z"))
    expect(first.latestDateCovered).toBe("2026-02-02T08:00:00.000+0000")
    const r = await conn.sobject("Individual").create({ LastName: "Late" })
    em.clock.set("2026-02-02T08:01:05Z")
    const next = await conn
      .sobject("Individual")
      .updated(first.latestDateCovered, new Date("2026-02-02T09:00:00Z"))
    expect(next.ids).toEqual([r.success ? r.id : ""])
    expect(next.latestDateCovered).toBe("2026-02-02T08:01:00.000+0000")
  })

  it("refuses windows older than 30 days or backwards, and forgets purged deletions", async () => {
    em.clock.set("2026-03-10T00:00:00Z")
    const old = await failure(conn.sobject("Contact").updated("2026-01-01T00:00:00Z", "2026-03-09T00:00:00Z"))
    expect(old.name).toBe("INVALID_REPLICATION_DATE")
    const backwards = await failure(
      conn.sobject("Contact").deleted("2026-03-09T00:00:00Z", "2026-03-08T00:00:00Z")
    )
    expect(backwards.name).toBe("INVALID_REPLICATION_DATE")

    const doomed = em.backdoor.insert("Lead", { LastName: "Old", Company: "X" })
    em.backdoor.delete("Lead", String(doomed["Id"]), { at: "2026-03-09T12:00:00Z" })
    const seen = await conn.sobject("Lead").deleted("2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z")
    expect(seen.deletedRecords.map((d) => d.id)).toEqual([doomed["Id"]])

    em.clock.set("2026-03-26T00:00:00Z") // 16 days later: the recycle bin let it go
    const purged = await failure(conn.sobject("Lead").deleted("2026-03-09T00:00:00Z", "2026-03-25T00:00:00Z"))
    expect(purged.name).toBe("INVALID_REPLICATION_DATE")
    const after = await conn.sobject("Lead").deleted("2026-03-10T00:00:00Z", "2026-03-25T00:00:00Z")
    expect(after.deletedRecords).toEqual([])
    expect(after.earliestDateAvailable).toBe("2026-03-09T12:00:00.000+0000")
    expect(em.backdoor.get("Lead", String(doomed["Id"]), { includeDeleted: true })).toBeUndefined()
  })
})
