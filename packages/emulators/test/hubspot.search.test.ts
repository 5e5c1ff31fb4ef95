import type { Client } from "@hubspot/api-client"
import { FilterOperatorEnum as Op } from "@hubspot/api-client/lib/codegen/crm/contacts/index.js"
import type { PublicObjectSearchRequest } from "@hubspot/api-client/lib/codegen/crm/contacts/index.js"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { HubSpotEmulator } from "../src/hubspot/index.js"
import { T0, clientFor, rejection, startFrozen } from "./hubspot.support.js"

let emulator: HubSpotEmulator
let client: Client
const t0 = Date.parse(T0)
const minute = 60_000

beforeAll(async () => {
  emulator = await startFrozen()
  client = clientFor(emulator)
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.backdoor.reset()
  emulator.clock.set(T0)
})

/** Ten contacts modified one minute apart: person0 at T0, person9 at T0 + 9 min. */
const seedTen = () =>
  Array.from({ length: 10 }, (_, i) =>
    emulator.backdoor.upsertContact(
      { email: `person${i}@example.com`, firstname: `P${i}` },
      { modifiedAt: t0 + i * minute, createdAt: t0 - minute }
    )
  )

const search = (request: PublicObjectSearchRequest) => {
  // Each call moves the clock past the 5-per-second search limit, so these tests never trip it.
  emulator.clock.advance(250)
  return client.crm.contacts.searchApi.doSearch(request)
}

const modified = (operator: Op, value: string, highValue?: string) => ({
  filterGroups: [
    {
      filters: [
        {
          propertyName: "lastmodifieddate",
          operator,
          value,
          ...(highValue === undefined ? {} : { highValue })
        }
      ]
    }
  ]
})

const emails = (results: ReadonlyArray<{ properties: Record<string, string | null> }>) =>
  results.map((r) => r.properties["email"])

describe("filters on lastmodifieddate", () => {
  it("GTE and LT make a half-open window (epoch-ms values)", async () => {
    seedTen()
    const page = await search({
      filterGroups: [
        {
          filters: [
            { propertyName: "lastmodifieddate", operator: Op.Gte, value: String(t0 + 3 * minute) },
            { propertyName: "lastmodifieddate", operator: Op.Lt, value: String(t0 + 7 * minute) }
          ]
        }
      ],
      sorts: ["lastmodifieddate"],
      properties: ["email"],
      limit: 100
    })
    expect(page.total).toBe(4)
    expect(emails(page.results)).toEqual([3, 4, 5, 6].map((i) => `person${i}@example.com`))
  })

  it("GT, LTE, EQ and BETWEEN (ISO values accepted too)", async () => {
    seedTen()
    const at = (i: number) => new Date(t0 + i * minute).toISOString()
    expect((await search(modified(Op.Gt, String(t0 + 7 * minute)))).total).toBe(2)
    expect((await search(modified(Op.Lte, at(2)))).total).toBe(3)
    expect(emails((await search({ ...modified(Op.Eq, at(5)), properties: ["email"] })).results)).toEqual([
      "person5@example.com"
    ])
    expect((await search(modified(Op.Between, at(2), String(t0 + 4 * minute)))).total).toBe(3)
  })

  it("sees writes made through the API with the emulator clock's time", async () => {
    const [first] = seedTen()
    emulator.clock.set(t0 + 60 * minute)
    await client.crm.contacts.basicApi.update(first?.id ?? "", { properties: { lastname: "Later" } })
    const page = await search(modified(Op.Gte, String(t0 + 60 * minute)))
    expect(page.results.map((r) => r.id)).toEqual([first?.id])
    expect(page.results[0]?.updatedAt).toEqual(new Date(t0 + 60 * minute))
  })

  it("rejects a filter on a property the portal does not have", async () => {
    const error = await rejection(
      search({ filterGroups: [{ filters: [{ propertyName: "nope", operator: Op.Eq, value: "1" }] }] })
    )
    expect(error).toMatchObject({ code: 400, body: { category: "VALIDATION_ERROR" } })
  })
})

describe("other filters, sorting and properties", () => {
  it("matches email EQ case-insensitively and ORs filter groups", async () => {
    seedTen()
    const page = await search({
      filterGroups: [
        { filters: [{ propertyName: "email", operator: Op.Eq, value: "PERSON1@example.com" }] },
        { filters: [{ propertyName: "firstname", operator: Op.In, values: ["P2", "p3"] }] }
      ],
      sorts: ["email"],
      properties: ["email"]
    })
    expect(emails(page.results)).toEqual([
      "person1@example.com",
      "person2@example.com",
      "person3@example.com"
    ])
  })

  it("sorts descending with the documented object form and with a leading minus", async () => {
    seedTen()
    const objectSort = await search({
      sorts: [{ propertyName: "lastmodifieddate", direction: "DESCENDING" } as unknown as string],
      properties: ["email"],
      limit: 2
    })
    const minusSort = await search({ sorts: ["-lastmodifieddate"], properties: ["email"], limit: 2 })
    expect(emails(objectSort.results)).toEqual(["person9@example.com", "person8@example.com"])
    expect(emails(minusSort.results)).toEqual(emails(objectSort.results))
  })

  it("returns the default properties when none are asked for, with null for unset ones", async () => {
    seedTen()
    const page = await search({ limit: 1 })
    expect(Object.keys(page.results[0]?.properties ?? {}).sort()).toEqual([
      "createdate",
      "email",
      "firstname",
      "hs_object_id",
      "lastmodifieddate",
      "lastname"
    ])
    expect(page.results[0]?.properties["lastname"]).toBeNull()
  })

  it("returns only the asked-for properties plus hs_object_id, createdate and lastmodifieddate", async () => {
    seedTen()
    const page = await search({ properties: ["firstname"], limit: 1 })
    expect(Object.keys(page.results[0]?.properties ?? {}).sort()).toEqual([
      "createdate",
      "firstname",
      "hs_object_id",
      "lastmodifieddate"
    ])
  })
})

describe("paging", () => {
  it("pages with after and limit; the last page has no paging", async () => {
    seedTen()
    const seen: Array<string | null | undefined> = []
    const afters: Array<string | undefined> = []
    let after: string | undefined = "0"
    while (after !== undefined) {
      const page = await search({ sorts: ["lastmodifieddate"], properties: ["email"], limit: 3, after })
      expect(page.total).toBe(10)
      seen.push(...emails(page.results))
      after = page.paging?.next?.after
      afters.push(after)
    }
    expect(afters).toEqual(["3", "6", "9", undefined])
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `person${i}@example.com`))
  })

  it("defaults limit to 10, accepts 200 and rejects 201", async () => {
    for (let i = 0; i < 12; i++) emulator.backdoor.upsertContact({ email: `l${i}@example.com` })
    expect((await search({})).results).toHaveLength(10)
    expect((await search({ limit: 200 })).results).toHaveLength(12)
    await expect(search({ limit: 201 })).rejects.toMatchObject({
      code: 400,
      body: { category: "VALIDATION_ERROR" }
    })
  })

  it("stops at 10,000 results: the request past the ceiling answers 400, narrowing the window reads the rest", async () => {
    const total = 10_050
    for (let i = 0; i < total; i++) {
      emulator.backdoor.upsertContact({ email: `bulk${i}@example.com` }, { modifiedAt: t0 + i * 1_000 })
    }
    const window = modified(Op.Gte, String(t0))
    let after: string | undefined = "0"
    let read = 0
    let lastModified = ""
    while (after !== undefined) {
      const page = await search({
        ...window,
        sorts: ["lastmodifieddate"],
        properties: ["email"],
        limit: 200,
        after
      })
      expect(page.total).toBe(total)
      read += page.results.length
      lastModified = page.results.at(-1)?.properties["lastmodifieddate"] ?? lastModified
      after = page.paging?.next?.after
      if (after === "10000") break
    }
    expect(read).toBe(10_000)
    expect(after).toBe("10000")
    const past = await rejection(
      search({ ...window, sorts: ["lastmodifieddate"], limit: 200, after: "10000" })
    )
    expect(past).toMatchObject({ code: 400, body: { status: "error", category: "VALIDATION_ERROR" } })

    const rest = await search({
      ...modified(Op.Gt, String(Date.parse(lastModified))),
      sorts: ["lastmodifieddate"],
      properties: ["email"],
      limit: 200
    })
    expect(rest.total).toBe(50)
    expect(rest.results[0]?.properties["email"]).toBe("bulk10000@example.com")
  })
})

describe("eventual consistency", () => {
  it("shows a write to search only after searchIndexLagMs, and the previous version meanwhile", async () => {
    const lagging = await startFrozen({ searchIndexLagMs: 2_000, searchLimit: false })
    try {
      const lagClient = clientFor(lagging)
      const created = await lagClient.crm.contacts.basicApi.create({
        properties: { email: "late@example.com", firstname: "Before" },
        associations: []
      })
      const byEmail = {
        filterGroups: [{ filters: [{ propertyName: "email", operator: Op.Eq, value: "late@example.com" }] }],
        properties: ["firstname"]
      }
      expect((await lagClient.crm.contacts.searchApi.doSearch(byEmail)).total).toBe(0)
      lagging.clock.advance(2_000)
      expect((await lagClient.crm.contacts.searchApi.doSearch(byEmail)).total).toBe(1)
      await lagClient.crm.contacts.basicApi.update(created.id, { properties: { firstname: "After" } })
      const stale = await lagClient.crm.contacts.searchApi.doSearch(byEmail)
      expect(stale.results[0]?.properties["firstname"]).toBe("Before")
      lagging.clock.advance(2_000)
      const fresh = await lagClient.crm.contacts.searchApi.doSearch(byEmail)
      expect(fresh.results[0]?.properties["firstname"]).toBe("After")
    } finally {
      await lagging.close()
    }
  })
})
