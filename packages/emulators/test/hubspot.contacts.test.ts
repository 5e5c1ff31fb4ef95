import type { Client } from "@hubspot/api-client"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { HubSpotEmulator } from "../src/hubspot/index.js"
import { T0, clientFor, createInputs, rejection, startFrozen } from "./hubspot.support.js"

let emulator: HubSpotEmulator
let client: Client

beforeAll(async () => {
  emulator = await startFrozen({ customProperties: ["consent_source"] })
  client = clientFor(emulator)
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.backdoor.reset()
  emulator.clock.set(T0)
})

const contactPaths = () =>
  emulator.backdoor.requestLog.filter((e) => e.path.startsWith("/crm/v3/objects/contacts"))

describe("auth", () => {
  it("accepts the emulator's token", async () => {
    const page = await client.crm.contacts.basicApi.getPage()
    expect(page.results).toEqual([])
  })

  it("answers 401 INVALID_AUTHENTICATION for an unknown token, which the SDK throws as ApiException", async () => {
    const error = await rejection(clientFor(emulator, "pat-na1-wrong").crm.contacts.basicApi.getPage())
    expect(error).toMatchObject({
      code: 401,
      body: {
        status: "error",
        category: "INVALID_AUTHENTICATION",
        message: expect.stringMatching(/^Authentication credentials not found/),
        correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/)
      }
    })
    expect(String(error)).toMatch(/HTTP-Code: 401/)
  })

  it("answers 401 when the Authorization header is missing", async () => {
    const response = await fetch(`${emulator.url}/crm/v3/objects/contacts`)
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ category: "INVALID_AUTHENTICATION" })
  })

  it("accepts any configured token and rejects the rest", async () => {
    const multi = await startFrozen({ tokens: ["pat-a", "pat-b"] })
    try {
      expect(multi.token).toBe("pat-a")
      await expect(clientFor(multi, "pat-b").crm.contacts.basicApi.getPage()).resolves.toBeDefined()
      await expect(clientFor(multi, "pat-c").crm.contacts.basicApi.getPage()).rejects.toMatchObject({
        code: 401
      })
    } finally {
      await multi.close()
    }
  })
})

describe("batch create, read and update", () => {
  it("creates 100 contacts in one call and maintains hs_object_id, createdate and lastmodifieddate", async () => {
    const created = await client.crm.contacts.batchApi.create({ inputs: createInputs(100) })
    expect(created.status).toBe("COMPLETE")
    expect(created.results).toHaveLength(100)
    const first = created.results.find((r) => r.properties["email"] === "person0@example.com")
    expect(first?.properties).toMatchObject({
      hs_object_id: first?.id,
      createdate: "2026-03-01T12:00:00.000Z",
      lastmodifieddate: "2026-03-01T12:00:00.000Z",
      firstname: "First0"
    })
    expect(first?.createdAt).toEqual(new Date("2026-03-01T12:00:00.000Z"))
    expect(emulator.backdoor.contacts()).toHaveLength(100)
  })

  it("rejects 101 inputs with a 400 VALIDATION_ERROR and writes nothing", async () => {
    const error = await rejection(client.crm.contacts.batchApi.create({ inputs: createInputs(101) }))
    expect(error).toMatchObject({
      code: 400,
      body: { status: "error", category: "VALIDATION_ERROR", message: expect.stringContaining("100") }
    })
    expect(emulator.backdoor.contacts()).toHaveLength(0)
  })

  it("rejects 101 inputs on read and update too", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => ({ id: String(i + 1) }))
    await expect(
      client.crm.contacts.batchApi.read({ inputs: ids, properties: [], propertiesWithHistory: [] })
    ).rejects.toMatchObject({ code: 400, body: { category: "VALIDATION_ERROR" } })
    await expect(
      client.crm.contacts.batchApi.update({
        inputs: ids.map((i) => ({ ...i, properties: { firstname: "x" } }))
      })
    ).rejects.toMatchObject({ code: 400, body: { category: "VALIDATION_ERROR" } })
  })

  it("101 contacts take two calls of 100 and 1", async () => {
    const inputs = createInputs(101)
    for (let i = 0; i < inputs.length; i += 100) {
      await client.crm.contacts.batchApi.create({ inputs: inputs.slice(i, i + 100) })
    }
    const calls = contactPaths().filter((e) => e.path.endsWith("/batch/create"))
    expect(calls.map((c) => c.status)).toEqual([201, 201])
    expect(calls[0]?.bodySize).toBeGreaterThan(calls[1]?.bodySize ?? 0)
    expect(emulator.backdoor.contacts()).toHaveLength(101)
  })

  it("reads by record id with the requested properties plus the always-returned ones", async () => {
    const contact = emulator.backdoor.upsertContact({
      email: "ada@example.com",
      firstname: "Ada",
      lastname: "L"
    })
    const read = await client.crm.contacts.batchApi.read({
      inputs: [{ id: contact.id }],
      properties: ["firstname"],
      propertiesWithHistory: []
    })
    expect(read.results[0]?.properties).toEqual({
      firstname: "Ada",
      hs_object_id: contact.id,
      createdate: "2026-03-01T12:00:00.000Z",
      lastmodifieddate: "2026-03-01T12:00:00.000Z"
    })
  })

  it("reads by e-mail with idProperty, case-insensitively", async () => {
    emulator.backdoor.upsertContact({ email: "grace@example.com", firstname: "Grace" })
    const read = await client.crm.contacts.batchApi.read({
      idProperty: "email",
      inputs: [{ id: "Grace@Example.com" }],
      properties: ["email", "firstname"],
      propertiesWithHistory: []
    })
    expect(read.results.map((r) => r.properties["firstname"])).toEqual(["Grace"])
  })

  it("answers 207 with an OBJECT_NOT_FOUND error item when some ids are missing, which the SDK returns", async () => {
    emulator.backdoor.upsertContact({ email: "found@example.com" })
    const read = await client.crm.contacts.batchApi.read({
      idProperty: "email",
      inputs: [{ id: "found@example.com" }, { id: "missing@example.com" }, { id: "gone@example.com" }],
      properties: ["email"],
      propertiesWithHistory: []
    })
    expect(read.results).toHaveLength(1)
    expect(read).toMatchObject({
      numErrors: 1,
      errors: [
        {
          status: "error",
          category: "OBJECT_NOT_FOUND",
          context: { ids: ["missing@example.com", "gone@example.com"] }
        }
      ]
    })
    expect(contactPaths().at(-1)?.status).toBe(207)
  })

  it("updates by id and by e-mail; a missing id makes a 207 that still applies the rest", async () => {
    const a = emulator.backdoor.upsertContact({ email: "a@example.com" })
    emulator.backdoor.upsertContact({ email: "b@example.com" })
    emulator.clock.advance(60_000)
    const updated = await client.crm.contacts.batchApi.update({
      inputs: [
        { id: a.id, properties: { firstname: "Alpha" }, objectWriteTraceId: "t1" },
        { id: "b@example.com", idProperty: "email", properties: { firstname: "Beta" } },
        { id: "99999", properties: { firstname: "Nobody" }, objectWriteTraceId: "t3" }
      ]
    })
    expect(updated.results.map((r) => r.properties["firstname"]).sort()).toEqual(["Alpha", "Beta"])
    expect(updated).toMatchObject({
      numErrors: 1,
      errors: [{ category: "OBJECT_NOT_FOUND", context: { ids: ["99999"], objectWriteTraceId: ["t3"] } }]
    })
    expect(emulator.backdoor.contact(a.id)?.properties).toMatchObject({
      firstname: "Alpha",
      lastmodifieddate: "2026-03-01T12:01:00.000Z",
      createdate: "2026-03-01T12:00:00.000Z"
    })
  })

  it("clears a value written as an empty string", async () => {
    const a = emulator.backdoor.upsertContact({ email: "clear@example.com", firstname: "X" })
    await client.crm.contacts.batchApi.update({ inputs: [{ id: a.id, properties: { firstname: "" } }] })
    expect(emulator.backdoor.contact(a.id)?.properties["firstname"]).toBeUndefined()
  })

  it("rejects duplicate ids in one update", async () => {
    const a = emulator.backdoor.upsertContact({ email: "dup@example.com" })
    await expect(
      client.crm.contacts.batchApi.update({
        inputs: [
          { id: a.id, properties: { firstname: "1" } },
          { id: a.id, properties: { firstname: "2" } }
        ]
      })
    ).rejects.toMatchObject({ code: 400, body: { message: expect.stringContaining("Duplicate IDs") } })
  })

  it("upserts by e-mail and marks new records (the SDK's `_new`)", async () => {
    emulator.backdoor.upsertContact({ email: "old@example.com", firstname: "Old" })
    const result = await client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: "old@example.com", idProperty: "email", properties: { firstname: "Older" } },
        { id: "new@example.com", idProperty: "email", properties: { firstname: "New" } }
      ]
    })
    const byEmail = Object.fromEntries(result.results.map((r) => [r.properties["email"] ?? r.id, r._new]))
    expect(result.results).toHaveLength(2)
    expect(Object.values(byEmail).sort()).toEqual([false, true])
    expect(emulator.backdoor.findByEmail("new@example.com")?.properties["firstname"]).toBe("New")
    expect(emulator.backdoor.findByEmail("old@example.com")?.properties["firstname"]).toBe("Older")
  })

  it("rejects unknown and read-only properties with VALIDATION_ERROR listing each", async () => {
    const error = await rejection(
      client.crm.contacts.batchApi.create({
        inputs: [
          { properties: { email: "v@example.com", nope: "1", lastmodifieddate: "0" }, associations: [] }
        ]
      })
    )
    expect(error).toMatchObject({
      code: 400,
      body: {
        category: "VALIDATION_ERROR",
        message: "Property values were not valid",
        errors: [
          { code: "PROPERTY_DOESNT_EXIST", context: { propertyName: ["nope"] } },
          { code: "READ_ONLY_VALUE", context: { propertyName: ["lastmodifieddate"] } }
        ]
      }
    })
  })

  it("accepts configured custom properties", async () => {
    const created = await client.crm.contacts.basicApi.create({
      properties: { email: "c@example.com", consent_source: "form" },
      associations: []
    })
    expect(created.properties["consent_source"]).toBe("form")
  })

  it("answers 409 CONFLICT for a taken e-mail, naming the existing id, and creates nothing", async () => {
    const existing = emulator.backdoor.upsertContact({ email: "taken@example.com" })
    const error = await rejection(
      client.crm.contacts.batchApi.create({
        inputs: [
          { properties: { email: "free@example.com" }, associations: [] },
          { properties: { email: "TAKEN@example.com" }, associations: [] }
        ]
      })
    )
    expect(error).toMatchObject({
      code: 409,
      body: { category: "CONFLICT", message: `Contact already exists. Existing ID: ${existing.id}` }
    })
    expect(emulator.backdoor.findByEmail("free@example.com")).toBeUndefined()
  })
})

describe("single-record endpoints", () => {
  it("gets, patches and archives; an archived contact reads 404 unless archived=true", async () => {
    const created = await client.crm.contacts.basicApi.create({
      properties: { email: "solo@example.com", firstname: "Solo" },
      associations: []
    })
    const byEmail = await client.crm.contacts.basicApi.getById(
      "solo@example.com",
      ["firstname"],
      undefined,
      undefined,
      false,
      "email"
    )
    expect(byEmail.id).toBe(created.id)
    emulator.clock.advance(1_000)
    const patched = await client.crm.contacts.basicApi.update(created.id, { properties: { lastname: "Han" } })
    expect(patched.properties["lastname"]).toBe("Han")
    expect(patched.updatedAt).toEqual(new Date("2026-03-01T12:00:01.000Z"))
    await client.crm.contacts.basicApi.archive(created.id)
    await expect(client.crm.contacts.basicApi.getById(created.id)).rejects.toMatchObject({
      code: 404,
      body: { category: "OBJECT_NOT_FOUND", context: { id: [created.id] } }
    })
    const archived = await client.crm.contacts.basicApi.getById(
      created.id,
      undefined,
      undefined,
      undefined,
      true
    )
    expect(archived.archived).toBe(true)
  })

  it("returns property history when asked", async () => {
    const c = emulator.backdoor.upsertContact({ email: "h@example.com", firstname: "One" })
    emulator.clock.advance(1_000)
    await client.crm.contacts.basicApi.update(c.id, { properties: { firstname: "Two" } })
    const read = await client.crm.contacts.batchApi.read({
      inputs: [{ id: c.id }],
      properties: [],
      propertiesWithHistory: ["firstname"]
    })
    expect(read.results[0]?.propertiesWithHistory?.["firstname"]?.map((h) => h.value)).toEqual(["Two", "One"])
  })

  it("caps batch reads with history at 50 inputs", async () => {
    const inputs = Array.from({ length: 51 }, (_, i) => ({ id: String(i + 1) }))
    await expect(
      client.crm.contacts.batchApi.read({ inputs, properties: [], propertiesWithHistory: ["email"] })
    ).rejects.toMatchObject({
      code: 400,
      body: { message: expect.stringContaining("property histories is 50") }
    })
  })

  it("pages through the list endpoint", async () => {
    for (let i = 0; i < 5; i++) emulator.backdoor.upsertContact({ email: `p${i}@example.com` })
    const all = await client.crm.contacts.getAll(2)
    expect(all).toHaveLength(5)
  })
})

describe("GDPR delete", () => {
  it("removes the contact for good: read answers 404 and search no longer finds it", async () => {
    const c = emulator.backdoor.upsertContact({ email: "erase@example.com", firstname: "Erase" })
    emulator.backdoor.setSubscription("erase@example.com", "1001", "SUBSCRIBED")
    await client.crm.contacts.basicApi.purge({ objectId: "erase@example.com", idProperty: "email" })
    await expect(client.crm.contacts.basicApi.getById(c.id)).rejects.toMatchObject({ code: 404 })
    await expect(
      client.crm.contacts.basicApi.getById(c.id, undefined, undefined, undefined, true)
    ).rejects.toMatchObject({ code: 404 })
    const found = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: "email", operator: "EQ" as never, value: "erase@example.com" }] }
      ]
    })
    expect(found.total).toBe(0)
    expect(emulator.backdoor.contact(c.id)).toBeUndefined()
    expect(emulator.backdoor.subscriptions("erase@example.com").map((s) => s.status)).not.toContain(
      "SUBSCRIBED"
    )
    expect(emulator.backdoor.requestLog.find((e) => e.path.endsWith("/gdpr-delete"))?.status).toBe(204)
  })

  it("deletes by record id, and answers 404 for an unknown id", async () => {
    const c = emulator.backdoor.upsertContact({ email: "byid@example.com" })
    await client.crm.contacts.basicApi.purge({ objectId: c.id })
    expect(emulator.backdoor.contact(c.id)).toBeUndefined()
    await expect(client.crm.contacts.basicApi.purge({ objectId: "424242" })).rejects.toMatchObject({
      code: 404
    })
  })

  it("blocklists an unknown e-mail so it cannot be used again", async () => {
    await client.crm.contacts.basicApi.purge({ objectId: "never@example.com", idProperty: "email" })
    expect(emulator.backdoor.isBlocklisted("never@example.com")).toBe(true)
    await expect(
      client.crm.contacts.basicApi.create({ properties: { email: "never@example.com" }, associations: [] })
    ).rejects.toMatchObject({ code: 400, body: { category: "VALIDATION_ERROR" } })
  })
})
