import { describe, expect, it } from "vitest"
import * as Clock from "../src/salesforce/Clock.js"
import { formatDatetime, parseDatetime } from "../src/salesforce/Dates.js"
import { ApiError } from "../src/salesforce/Errors.js"
import * as Faults from "../src/salesforce/Faults.js"
import { checksum, isId, makeGenerator, to18 } from "../src/salesforce/Ids.js"
import { parse } from "../src/salesforce/Soql.js"

const soqlError = (text: string): string => {
  try {
    parse(text)
  } catch (e) {
    if (e instanceof ApiError) return e.errors[0]?.message ?? ""
    throw e
  }
  throw new Error(`parsed: ${text}`)
}

describe("ids", () => {
  it("computes the 18-character checksum of known ids", () => {
    // A widely cited example of the 15 -> 18 conversion.
    expect(to18("001A0000006Vm9r")).toBe("001A0000006Vm9rIAC")
    expect(checksum("000000000000000")).toBe("AAA")
    expect(checksum("AAAAAAAAAAAAAAA")).toBe("555")
  })

  it("accepts 15- and 18-character ids, rejects a wrong suffix", () => {
    expect(isId("001A0000006Vm9r")).toBe(true)
    expect(isId("001A0000006Vm9rIAC")).toBe(true)
    expect(isId("001a0000006vm9riac")).toBe(false)
    expect(isId("001A0000006Vm9rAAA")).toBe(false)
    expect(isId("abc")).toBe(false)
  })

  it("mints distinct ids with the prefix and a valid checksum", () => {
    const ids = makeGenerator()
    const minted = Array.from({ length: 1000 }, () => ids.next("0ZY"))
    expect(new Set(minted).size).toBe(1000)
    for (const id of minted) {
      expect(id).toMatch(/^0ZY[A-Za-z0-9]{15}$/)
      expect(to18(id.slice(0, 15))).toBe(id)
    }
  })
})

describe("dates", () => {
  it("writes dateTimes the Salesforce way and reads ISO variants", () => {
    expect(formatDatetime(Date.UTC(2026, 0, 1, 10, 0, 0))).toBe("2026-01-01T10:00:00.000+0000")
    const expected = Date.UTC(2026, 0, 1, 9, 0, 0)
    for (const text of [
      "2026-01-01T09:00:00Z",
      "2026-01-01T10:00:00+01:00",
      "2026-01-01T10:00:00.000+0100",
      "2026-01-01T09:00Z"
    ]) {
      expect(parseDatetime(text), text).toBe(expected)
    }
    expect(parseDatetime("2026-02-30T00:00:00Z")).toBeUndefined()
    expect(parseDatetime("yesterday")).toBeUndefined()
  })
})

describe("clock", () => {
  it("follows the system time until set, then moves only when advanced", () => {
    let system = 1_000_000
    const clock = Clock.make(() => system)
    expect(clock.now()).toBe(1_000_000)
    clock.set("2026-01-01T00:00:00Z")
    system += 5000
    expect(clock.iso()).toBe("2026-01-01T00:00:00.000Z")
    clock.advance(1500)
    expect(clock.now()).toBe(Date.UTC(2026, 0, 1) + 1500)
    clock.resume()
    system += 1000
    expect(clock.now()).toBe(Date.UTC(2026, 0, 1) + 2500)
    expect(clock.isFrozen()).toBe(false)
  })
})

describe("SOQL parser", () => {
  it("parses the supported subset", () => {
    const q = parse(
      "select Id, Individual.ShouldForget from Contact where (Email like 'a\\%%' or Id in ('003A0000006Vm9r')) and SystemModstamp >= 2026-01-01T00:00:00Z order by SystemModstamp desc nulls first, Id limit 10 offset 5"
    )
    expect(q.select).toEqual({
      kind: "fields",
      fields: [
        { path: ["Id"], pos: 7 },
        { path: ["Individual", "ShouldForget"], pos: 11 }
      ]
    })
    expect(q.from.name).toBe("Contact")
    expect(q.where?.kind).toBe("and")
    expect(q.orderBy.map((o) => [o.field.path.join("."), o.descending, o.nullsLast])).toEqual([
      ["SystemModstamp", true, false],
      ["Id", false, false]
    ])
    expect([q.limit, q.offset]).toEqual([10, 5])
  })

  it("positions errors like Salesforce", () => {
    expect(soqlError("SELECT Id FROM Contact WHERE")).toBe(
      "SELECT Id FROM Contact WHERE\n                            ^\nERROR at Row:1:Column:29\nunexpected token: '<EOF>'"
    )
    expect(soqlError("SELECT Id FROM Contact WHERE a = 1 OR b = 2 AND c = 3")).toContain("Column:45")
    expect(soqlError("SELECT Id FROM Contact WHERE Name = 'open")).toContain("unterminated string literal")
    expect(soqlError("SELECT Id FROM Contact WHERE Id = :ids")).toContain("bind variables")
    expect(soqlError("SELECT Id FROM Contact LIMIT -1")).toContain("LIMIT must be a non-negative integer")
    expect(soqlError("SELECT Id FROM Contact c")).toContain("aliases")
    expect(soqlError("SELECT Id FROM Contact WITH SECURITY_ENFORCED")).toContain("WITH is not supported")
    expect(soqlError("SELECT MAX(CreatedDate) FROM Contact")).toContain("MAX() is not supported")
  })
})

describe("fault registry", () => {
  it("serves queued faults first, in order, then rules, which run out", () => {
    const f = Faults.make()
    f.next({ method: "GET", status: 503 })
    f.next({ path: "/composite", status: 500 })
    const rule = f.rule({ path: /query/, drop: true, times: 1 })
    expect(f.take("POST", "/services/data/v60.0/sobjects/Contact")).toBeUndefined()
    expect(f.take("POST", "/services/data/v60.0/composite/sobjects")?.status).toBe(500)
    expect(f.take("GET", "/services/data/v60.0/query")?.status).toBe(503)
    expect(f.take("GET", "/services/data/v60.0/query")?.drop).toBe(true)
    expect(rule.remaining()).toBe(0)
    expect(f.take("GET", "/services/data/v60.0/query")).toBeUndefined()
    const forever = f.rule({ status: 500 })
    expect(f.take("GET", "/x")?.status).toBe(500)
    forever.remove()
    expect(f.pending()).toBe(0)
  })
})
