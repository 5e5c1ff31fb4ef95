import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { SalesforceEmulator } from "../src/salesforce/index.js"
import { type Conn, failure, login, startEmulator, version } from "./salesforce.helpers.js"

let em: SalesforceEmulator
let conn: Conn

interface Row {
  readonly attributes?: { readonly type: string; readonly url: string }
  readonly Id: string
  readonly LastName: string
  readonly Email: string | null
  readonly DoNotCall: boolean
  readonly SystemModstamp: string
}

beforeAll(async () => {
  em = await startEmulator()
  conn = await login(em)
  const ind = em.backdoor.insert("Individual", { LastName: "Party", HasOptedOutProcessing: true })
  const rows: ReadonlyArray<Readonly<Record<string, unknown>>> = [
    {
      LastName: "Alpha",
      Email: "alpha@example.test",
      DoNotCall: true,
      MailingCity: "Paris",
      IndividualId: ind["Id"]
    },
    { LastName: "bravo", Email: "bravo@example.test", DoNotCall: false, MailingCity: "Berlin" },
    { LastName: "Charlie", Email: null, DoNotCall: false, MailingCity: "Paris" },
    { LastName: "Delta", Email: "delta@other.test", DoNotCall: true, MailingCity: null },
    { LastName: "Echo", Email: "echo@example.test", DoNotCall: false, MailingCity: "Rome" }
  ]
  rows.forEach((fields, i) => {
    em.backdoor.insert("Contact", { ...fields, Department: "Q" }, { at: `2025-06-0${i + 1}T10:00:00Z` })
  })
})

afterAll(async () => {
  await em.close()
})

const names = (records: ReadonlyArray<{ LastName?: unknown }>): ReadonlyArray<unknown> =>
  records.map((r) => r.LastName)

describe("SOQL subset", () => {
  it("filters with AND/OR and parentheses, orders and limits", async () => {
    const r = await conn.query<Row>(
      "SELECT Id, LastName, Email FROM Contact WHERE Department = 'Q' AND (MailingCity = 'Paris' OR DoNotCall = true) ORDER BY LastName DESC LIMIT 2"
    )
    expect(r.totalSize).toBe(2)
    expect(r.done).toBe(true)
    expect(names(r.records)).toEqual(["Delta", "Charlie"])
    expect(Object.keys(r.records[0] ?? {})).toEqual(["attributes", "Id", "LastName", "Email"])
    expect(r.records[0]?.attributes).toEqual({
      type: "Contact",
      url: `/services/data/v${version}/sobjects/Contact/${r.records[0]?.Id}`
    })
  })

  it("compares SystemModstamp with a dateTime literal", async () => {
    const after = await conn.query<Row>(
      "SELECT LastName, SystemModstamp FROM Contact WHERE SystemModstamp > 2025-06-03T10:00:00Z ORDER BY SystemModstamp"
    )
    expect(names(after.records)).toEqual(["Delta", "Echo"])
    expect(after.records[0]?.SystemModstamp).toBe("2025-06-04T10:00:00.000+0000")
    const atOrAfter = await conn.query<Row>(
      "SELECT LastName FROM Contact WHERE SystemModstamp >= 2025-06-03T12:00:00+02:00 ORDER BY SystemModstamp ASC"
    )
    expect(names(atOrAfter.records)).toEqual(["Charlie", "Delta", "Echo"])
  })

  it("compares text case-insensitively, supports LIKE, IN, NOT IN, != and null", async () => {
    expect(
      names((await conn.query<Row>("SELECT LastName FROM Contact WHERE LastName = 'BRAVO'")).records)
    ).toEqual(["bravo"])
    const like = await conn.query<Row>(
      "SELECT LastName FROM Contact WHERE Email LIKE '%@EXAMPLE.test' ORDER BY LastName"
    )
    expect(names(like.records)).toEqual(["Alpha", "bravo", "Echo"])
    const inList = await conn.query<Row>(
      "SELECT LastName FROM Contact WHERE MailingCity IN ('Rome', 'Berlin') ORDER BY LastName"
    )
    expect(names(inList.records)).toEqual(["bravo", "Echo"])
    const notIn = await conn.query<Row>(
      "SELECT LastName FROM Contact WHERE MailingCity NOT IN ('Paris') AND Department = 'Q' ORDER BY LastName"
    )
    expect(names(notIn.records)).toEqual(["bravo", "Delta", "Echo"])
    const nullEmail = await conn.query<Row>("SELECT LastName FROM Contact WHERE Email = null")
    expect(names(nullEmail.records)).toEqual(["Charlie"])
    const notRome = await conn.query<Row>(
      "SELECT LastName FROM Contact WHERE MailingCity != 'Rome' ORDER BY LastName"
    )
    expect(names(notRome.records)).toEqual(["Alpha", "bravo", "Charlie", "Delta"])
    const nullsLast = await conn.query<Row>(
      "SELECT LastName FROM Contact ORDER BY Email NULLS LAST, LastName LIMIT 5"
    )
    expect(names(nullsLast.records).at(-1)).toBe("Charlie")
    const negated = await conn.query<Row>(
      "SELECT LastName FROM Contact WHERE NOT (DoNotCall = true) ORDER BY LastName"
    )
    expect(names(negated.records)).toEqual(["bravo", "Charlie", "Echo"])
  })

  it("reads parent fields through a lookup, and counts with COUNT()", async () => {
    const r = await conn.query<Row & { Individual: { HasOptedOutProcessing: boolean } | null }>(
      "SELECT LastName, Individual.HasOptedOutProcessing FROM Contact WHERE Individual.HasOptedOutProcessing = true"
    )
    expect(r.records).toHaveLength(1)
    expect(r.records[0]?.Individual).toMatchObject({
      attributes: { type: "Individual" },
      HasOptedOutProcessing: true
    })
    const all = await conn.query<Row & { Individual: unknown }>(
      "SELECT Individual.LastName FROM Contact WHERE LastName = 'Echo'"
    )
    expect(all.records[0]?.Individual).toBeNull()
    const count = await conn.query("SELECT COUNT() FROM Contact WHERE DoNotCall = true")
    expect(count.totalSize).toBe(2)
    expect(count.records).toEqual([])
  })

  it("answers MALFORMED_QUERY, positioned, for what it does not support", async () => {
    const mixed = await failure(
      conn.query("SELECT Id FROM Contact WHERE DoNotCall = true AND Email = null OR LastName = 'x'")
    )
    expect(mixed.name).toBe("MALFORMED_QUERY")
    expect(mixed.message).toContain("ERROR at Row:1:Column:")
    expect(mixed.message).toContain("parentheses")
    for (const soql of [
      "SELECT Id, (SELECT Id FROM Contacts) FROM Individual",
      "SELECT LastName, COUNT(Id) FROM Contact GROUP BY LastName",
      "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:7",
      "SELECT Id FROM Contact WHERE",
      "SELECT FROM Contact",
      "DELETE FROM Contact"
    ]) {
      const e = await failure(conn.query(soql))
      expect(e.name, soql).toBe("MALFORMED_QUERY")
      expect(e["data"], soql).toMatchObject({ errorCode: "MALFORMED_QUERY" })
    }
    const group = await failure(conn.query("SELECT LastName FROM Contact GROUP BY LastName"))
    expect(group.message).toContain("GROUP is not supported by the Salesforce emulator")
  })

  it("names unknown objects and fields, and rejects literals of the wrong type", async () => {
    const noObject = await failure(conn.query("SELECT Id FROM Contct"))
    expect(noObject.name).toBe("INVALID_TYPE")
    expect(noObject.message).toContain("sObject type 'Contct' is not supported")
    const noField = await failure(conn.query("SELECT Id, Emial FROM Contact"))
    expect(noField.name).toBe("INVALID_FIELD")
    expect(noField.message).toContain("No such column 'Emial' on entity 'Contact'")
    expect(noField.message).toContain("ERROR at Row:1:Column:12")
    const quoted = await failure(
      conn.query("SELECT Id FROM Contact WHERE SystemModstamp > '2025-01-01T00:00:00Z'")
    )
    expect(quoted.name).toBe("INVALID_QUERY_FILTER_OPERATOR")
    expect(quoted.message).toContain("must be of type dateTime and should not be enclosed in quotes")
    const badId = await failure(conn.query("SELECT Id FROM Contact WHERE Id = 'nope'"))
    expect(badId.message).toContain("invalid ID field: nope")
  })
})

describe("semi-joins and anti-joins", () => {
  it("filters by the ids or references a subquery selects, and NOT IN keeps the rest", async () => {
    const party = String(em.backdoor.insert("Individual", { LastName: "Joined" })["Id"])
    const other = String(em.backdoor.insert("Individual", { LastName: "Other" })["Id"])
    const contact = em.backdoor.insert("Contact", {
      LastName: "Joiner",
      Department: "J",
      IndividualId: party
    })
    em.backdoor.insert("Contact", { LastName: "Loner", Department: "J" })
    const consent = (partyId: string, name: string) =>
      em.backdoor.insert("ContactPointTypeConsent", {
        Name: name,
        PartyId: partyId,
        PrivacyConsentStatus: "OptIn",
        ContactPointType: "Email"
      })
    consent(party, "mine")
    consent(other, "theirs")
    const byContact = await conn.query<{ Name: string }>(
      `SELECT Name FROM ContactPointTypeConsent WHERE PartyId IN (SELECT IndividualId FROM Contact WHERE Id IN ('${String(contact["Id"])}')) AND ContactPointType = 'Email'`
    )
    expect(byContact.records.map((r) => r.Name)).toEqual(["mine"])
    // The subquery's null IndividualId (Loner) matches nothing.
    const byDepartment = await conn.query<{ Name: string }>(
      "SELECT Name FROM ContactPointTypeConsent WHERE PartyId IN (SELECT IndividualId FROM Contact WHERE Department = 'J')"
    )
    expect(byDepartment.records.map((r) => r.Name)).toEqual(["mine"])
    const anti = await conn.query<{ Name: string }>(
      "SELECT Name FROM ContactPointTypeConsent WHERE PartyId NOT IN (SELECT IndividualId FROM Contact WHERE Department = 'J') ORDER BY Name"
    )
    expect(anti.records.map((r) => r.Name)).toEqual(["theirs"])
    const parents = await conn.query<{ LastName: string }>(
      "SELECT LastName FROM Individual WHERE Id IN (SELECT PartyId FROM ContactPointTypeConsent) AND Id IN (SELECT IndividualId FROM Contact)"
    )
    expect(parents.records.map((r) => r.LastName)).toEqual(["Joined"])
  })

  it("keeps SOQL's restrictions on joins, and its 100,000-character limit", async () => {
    const sub = "(SELECT IndividualId FROM Contact)"
    for (const [soql, reason] of [
      [`SELECT Id FROM Individual WHERE Id IN ${sub} OR LastName = 'x'`, "OR or NOT"],
      [`SELECT Id FROM Individual WHERE NOT (Id IN ${sub})`, "OR or NOT"],
      [
        `SELECT Id FROM Individual WHERE Id IN ${sub} AND Id IN ${sub} AND Id NOT IN ${sub}`,
        "no more than two"
      ],
      [`SELECT Id FROM Individual WHERE LastName IN ${sub}`, "must be an id or reference field"],
      ["SELECT Id FROM Individual WHERE Id IN (SELECT LastName FROM Contact)", "must select an id"],
      ["SELECT Id FROM Individual WHERE Id IN (SELECT Id, IndividualId FROM Contact)", "exactly one field"],
      [
        "SELECT Id FROM Individual WHERE Id IN (SELECT IndividualId FROM Contact ORDER BY LastName)",
        "ORDER is not allowed"
      ],
      [
        `SELECT Id FROM Individual WHERE Id IN (SELECT IndividualId FROM Contact WHERE Id IN (SELECT Id FROM Contact))`,
        "nested"
      ]
    ] as const) {
      const e = await failure(conn.query(soql))
      expect(e.name, soql).toBe("MALFORMED_QUERY")
      expect(e.message, soql).toContain(reason)
    }
    const ids = Array.from({ length: 4600 }, (_, i) => `'003000000000${String(i).padStart(3, "0")}AAA'`)
    const long = `SELECT Id FROM Contact WHERE Id IN (${ids.join(", ")})`
    expect(long.length).toBeGreaterThan(100_000)
    // Too long for a URL anyway: inside a composite the statement's own limit is what refuses it.
    const res = await conn.requestPost<{ compositeResponse: ReadonlyArray<Record<string, unknown>> }>(
      "/composite",
      {
        compositeRequest: [
          {
            method: "GET",
            url: `/services/data/v${version}/query?q=${encodeURIComponent(long)}`,
            referenceId: "q"
          }
        ]
      }
    )
    expect(res.compositeResponse[0]).toMatchObject({
      httpStatusCode: 400,
      body: [
        { errorCode: "MALFORMED_QUERY", message: expect.stringContaining("cannot be longer than 100000") }
      ]
    })
  })
})

describe("pagination", () => {
  it("pages 2,500 records in batches of 2,000 through nextRecordsUrl", async () => {
    for (let i = 0; i < 2500; i++) {
      em.backdoor.insert("Lead", { LastName: `L${String(i).padStart(4, "0")}`, Company: "Paged" })
    }
    em.backdoor.clearRequestLog()
    const soql = "SELECT Id, LastName FROM Lead WHERE Company = 'Paged' ORDER BY LastName"
    const first = await conn.query<Row>(soql)
    expect(first.totalSize).toBe(2500)
    expect(first.done).toBe(false)
    expect(first.records).toHaveLength(2000)
    // jsforce rebuilds nextRecordsUrl from its own base URL and the locator (the last segment).
    expect(first.nextRecordsUrl).toMatch(
      new RegExp(`/services/data/v${version}/query/01g[A-Za-z0-9]{15}-2000$`)
    )
    const second = await conn.queryMore<Row>(first.nextRecordsUrl ?? "")
    expect(second.done).toBe(true)
    expect(second.nextRecordsUrl).toBeUndefined()
    expect(second.records).toHaveLength(500)
    expect(second.records[499]?.LastName).toBe("L2499")

    const raw = await conn.request<{ nextRecordsUrl: string; done: boolean }>(
      `/services/data/v${version}/query?q=${encodeURIComponent(soql)}`
    )
    expect(raw.done).toBe(false)
    expect(raw.nextRecordsUrl).toMatch(
      new RegExp(`^/services/data/v${version}/query/01g[A-Za-z0-9]{15}-2000$`)
    )

    const all = await conn.query<Row>(soql, { autoFetch: true, maxFetch: 10_000 })
    expect(all.records).toHaveLength(2500)
    expect(new Set(all.records.map((r) => r.Id)).size).toBe(2500)
    expect(em.backdoor.requestLog.map((e) => e.path.replace(/01g\w+-\d+$/, "<locator>"))).toEqual([
      `/services/data/v${version}/query`,
      `/services/data/v${version}/query/<locator>`,
      `/services/data/v${version}/query`,
      `/services/data/v${version}/query`,
      `/services/data/v${version}/query/<locator>`
    ])
  })

  it("honours Sforce-Query-Options batchSize, and rejects a spent locator", async () => {
    const r = await conn.query<Row>("SELECT Id FROM Lead WHERE Company = 'Paged'", {
      headers: { "Sforce-Query-Options": "batchSize=500" }
    })
    expect(r.records).toHaveLength(500)
    expect(r.nextRecordsUrl).toMatch(/-500$/)
    const locator = r.nextRecordsUrl ?? ""
    const bad = await failure(conn.queryMore(locator.replace(/-500$/, "-9999")))
    expect(bad.name).toBe("INVALID_QUERY_LOCATOR")
  })

  it("queryAll includes deleted records, query does not", async () => {
    const doomed = em.backdoor.insert("Contact", { LastName: "Doomed", Department: "Gone" })
    em.backdoor.delete("Contact", String(doomed["Id"]))
    const live = await conn.query("SELECT Id FROM Contact WHERE Department = 'Gone'")
    expect(live.totalSize).toBe(0)
    const all = await conn.query<{ IsDeleted: boolean }>(
      "SELECT Id, IsDeleted FROM Contact WHERE Department = 'Gone'",
      {
        scanAll: true
      }
    )
    expect(all.records).toEqual([expect.objectContaining({ IsDeleted: true })])
  })
})
