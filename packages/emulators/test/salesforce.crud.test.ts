import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { SalesforceEmulator } from "../src/salesforce/index.js"
import {
  Connection,
  type Conn,
  failure,
  login,
  startEmulator,
  unique,
  version
} from "./salesforce.helpers.js"

let em: SalesforceEmulator
let conn: Conn

beforeAll(async () => {
  em = await startEmulator()
  conn = await login(em)
})

afterAll(async () => {
  await em.close()
})

const salesforceDatetime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$/

/** The 18-character checksum, computed independently of the emulator's code. */
const checksumOf = (id15: string): string =>
  [0, 5, 10]
    .map((start) => {
      let bits = 0
      for (let i = 0; i < 5; i++) if (/[A-Z]/.test(id15[start + i] ?? "")) bits += 2 ** i
      return "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    })
    .join("")

const newIndividual = async (lastName = `Ind-${unique()}`): Promise<string> => {
  const r = await conn.sobject("Individual").create({ LastName: lastName })
  if (!r.success) throw new Error("could not create an Individual")
  return r.id
}

describe("single-record CRUD", () => {
  it("creates, reads, updates and deletes a Contact with Salesforce-shaped ids and timestamps", async () => {
    em.clock.set("2026-03-01T09:00:00.456Z")
    try {
      const individualId = await newIndividual()
      expect(individualId).toMatch(/^0PK[A-Za-z0-9]{15}$/)
      const created = await conn.sobject("Contact").create({
        FirstName: "Ada",
        LastName: "Lovelace",
        Email: "ada@example.test",
        Birthdate: "1815-12-10",
        IndividualId: individualId
      })
      expect(created).toEqual({
        id: expect.stringMatching(/^003[A-Za-z0-9]{15}$/),
        success: true,
        errors: []
      })
      const id = created.success ? created.id : ""
      expect(id.slice(15)).toBe(checksumOf(id.slice(0, 15)))

      const read = await conn.sobject("Contact").retrieve(id, {
        fields: ["Name", "Email", "Birthdate", "HasOptedOutOfEmail", "SystemModstamp", "CreatedDate"]
      })
      expect(read).toEqual({
        attributes: { type: "Contact", url: `/services/data/v${version}/sobjects/Contact/${id}` },
        Name: "Ada Lovelace",
        Email: "ada@example.test",
        Birthdate: "1815-12-10",
        HasOptedOutOfEmail: false,
        SystemModstamp: "2026-03-01T09:00:00.000+0000",
        CreatedDate: "2026-03-01T09:00:00.000+0000"
      })

      em.clock.advance(90_000)
      const updated = await conn
        .sobject("Contact")
        .update({ Id: id, HasOptedOutOfEmail: true, DoNotCall: true })
      expect(updated).toEqual({ id, success: true, errors: [] })
      const stored = em.backdoor.get("Contact", id)
      expect(stored).toMatchObject({
        HasOptedOutOfEmail: true,
        DoNotCall: true,
        CreatedDate: "2026-03-01T09:00:00.000+0000",
        LastModifiedDate: "2026-03-01T09:01:30.000+0000",
        SystemModstamp: "2026-03-01T09:01:30.000+0000",
        LastModifiedById: em.credentials.userId,
        OwnerId: em.credentials.userId
      })
      expect(String(stored?.["SystemModstamp"])).toMatch(salesforceDatetime)

      expect(await conn.sobject("Contact").destroy(id)).toEqual({ id, success: true, errors: [] })
      const gone = await failure(conn.sobject("Contact").retrieve(id))
      expect(gone.name).toBe("NOT_FOUND")
      expect(em.backdoor.get("Contact", id)).toBeUndefined()
      expect(em.backdoor.get("Contact", id, { includeDeleted: true })?.["IsDeleted"]).toBe(true)
      const again = await failure(conn.sobject("Contact").destroy(id))
      expect(again.name).toBe("ENTITY_IS_DELETED")
    } finally {
      em.clock.resume()
    }
  })

  it("accepts 15-character ids in the path", async () => {
    const id = await newIndividual("Short")
    const read = await conn.sobject("Individual").retrieve(id.slice(0, 15), { fields: ["LastName"] })
    expect(read["LastName"]).toBe("Short")
    expect(read.attributes?.url).toBe(`/services/data/v${version}/sobjects/Individual/${id}`)
  })

  it("creates the consent objects with defaults, and enforces required fields", async () => {
    const partyId = await newIndividual()
    const purpose = await conn
      .sobject("DataUsePurpose")
      .create({ Name: "Marketing", CanDataSubjectOptOut: true })
    const consent = await conn.sobject("ContactPointTypeConsent").create({
      Name: "email marketing",
      PartyId: partyId,
      DataUsePurposeId: purpose.success ? purpose.id : "",
      ContactPointType: "Email",
      CaptureDate: "2026-01-01T10:00:00+01:00",
      CaptureSource: "pref-center",
      CaptureContactPointType: "Web",
      EffectiveFrom: "2026-01-01T09:00:00Z"
    })
    expect(consent.success && consent.id).toMatch(/^0ZY/)
    const stored = em.backdoor.get("ContactPointTypeConsent", consent.success ? consent.id : "")
    expect(stored).toMatchObject({
      PrivacyConsentStatus: "NotSeen",
      CaptureDate: "2026-01-01T09:00:00.000+0000",
      EffectiveFrom: "2026-01-01T09:00:00.000+0000",
      EffectiveTo: null
    })

    const missing = await failure(
      conn.sobject("ContactPointTypeConsent").create({ ContactPointType: "Email" })
    )
    expect(missing.name).toBe("REQUIRED_FIELD_MISSING")
    expect(missing["data"]).toEqual({
      message: "Required fields are missing: [Name, PartyId]",
      errorCode: "REQUIRED_FIELD_MISSING",
      fields: ["Name", "PartyId"]
    })
    const noLastName = await failure(conn.sobject("Contact").create({ FirstName: "Solo" }))
    expect(noLastName["data"]).toMatchObject({ errorCode: "REQUIRED_FIELD_MISSING", fields: ["LastName"] })
    const noCompany = await failure(conn.sobject("Lead").create({ LastName: "Lead" }))
    expect(noCompany["data"]).toMatchObject({ errorCode: "REQUIRED_FIELD_MISSING", fields: ["Company"] })
    const lead = await conn.sobject("Lead").create({ LastName: "Lead", Company: "Acme" })
    expect(em.backdoor.get("Lead", lead.success ? lead.id : "")?.["Status"]).toBe("Open - Not Contacted")
  })

  it("rejects invalid values the way Salesforce does", async () => {
    const unknownField = await failure(conn.sobject("Contact").create({ LastName: "X", Foo__c: "bar" }))
    expect(unknownField.name).toBe("INVALID_FIELD")
    expect(unknownField.message).toBe("No such column 'Foo__c' on sobject of type Contact")

    const readOnly = await failure(conn.sobject("Contact").create({ LastName: "X", Name: "Full" }))
    expect(readOnly["data"]).toMatchObject({ errorCode: "INVALID_FIELD_FOR_INSERT_UPDATE", fields: ["Name"] })

    const email = await failure(conn.sobject("Contact").create({ LastName: "X", Email: "not-an-email" }))
    expect(email["data"]).toEqual({
      message: "Email: invalid email address: not-an-email",
      errorCode: "INVALID_EMAIL_ADDRESS",
      fields: ["Email"]
    })

    const partyId = await newIndividual()
    const base = { Name: "c", PartyId: partyId, CaptureSource: "t" }
    const picklist = await failure(
      conn.sobject("ContactPointTypeConsent").create({ ...base, PrivacyConsentStatus: "Maybe" })
    )
    expect(picklist["data"]).toEqual({
      message: "Privacy Consent Status: bad value for restricted picklist field: Maybe",
      errorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
      fields: ["PrivacyConsentStatus"]
    })

    const wrongType = await failure(conn.sobject("Contact").create({ LastName: "X", DoNotCall: "maybe" }))
    expect(wrongType.name).toBe("JSON_PARSER_ERROR")

    const contact = await conn.sobject("Contact").create({ LastName: "Ref" })
    const wrongTarget = await failure(
      conn.sobject("ContactPointTypeConsent").create({ ...base, PartyId: contact.success ? contact.id : "" })
    )
    expect(wrongTarget.name).toBe("FIELD_INTEGRITY_EXCEPTION")
    const notAnId = await failure(conn.sobject("Contact").create({ LastName: "X", IndividualId: "abc" }))
    expect(notAnId["data"]).toMatchObject({ errorCode: "MALFORMED_ID", fields: ["IndividualId"] })
    const deletedParty = await newIndividual()
    await conn.sobject("Individual").destroy(deletedParty)
    const dangling = await failure(
      conn.sobject("Contact").create({ LastName: "X", IndividualId: deletedParty })
    )
    expect(dangling.name).toBe("ENTITY_IS_DELETED")

    const tooLong = await failure(
      conn.sobject("ContactPointTypeConsent").create({ ...base, CaptureSource: "x".repeat(256) })
    )
    expect(tooLong["data"]).toMatchObject({ errorCode: "STRING_TOO_LONG", fields: ["CaptureSource"] })
  })

  it("knows which API versions have which objects and picklist values", async () => {
    const partyId = await newIndividual()
    const base = { Name: "p", PartyId: partyId, PrivacyConsentStatus: "OptInPending" }
    const ok = await conn.sobject("ContactPointTypeConsent").create(base)
    expect(ok.success).toBe(true)

    const v57 = new Connection({ instanceUrl: em.url, accessToken: conn.accessToken ?? "", version: "57.0" })
    const before58 = await failure(v57.sobject("ContactPointTypeConsent").create(base))
    expect(before58.name).toBe("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")

    const v44 = new Connection({ instanceUrl: em.url, accessToken: conn.accessToken ?? "", version: "44.0" })
    const noObject = await failure(
      v44.sobject("ContactPointTypeConsent").create({ Name: "p", PartyId: partyId })
    )
    expect(noObject.name).toBe("NOT_FOUND")
  })

  it("describes objects, so find() without a field list works", async () => {
    const d = await conn.sobject("ContactPointTypeConsent").describe()
    expect(d.keyPrefix).toBe("0ZY")
    const names = d.fields.map((f) => f.name)
    expect(names).toEqual(
      expect.arrayContaining(["PartyId", "PrivacyConsentStatus", "CaptureDate", "External_Id__c"])
    )
    const status = d.fields.find((f) => f.name === "PrivacyConsentStatus")
    expect(status?.picklistValues?.map((p) => p.value)).toEqual([
      "NotSeen",
      "Seen",
      "OptIn",
      "OptOut",
      "OptInPending",
      "OptOutPending"
    ])
    const ext = d.fields.find((f) => f.name === "External_Id__c")
    expect(ext).toMatchObject({ externalId: true, unique: true, custom: true })

    const lastName = `Find-${unique()}`
    await conn.sobject("Individual").create({ LastName: lastName, HasOptedOutSolicit: true })
    const found = await conn.sobject("Individual").find({ LastName: lastName })
    expect(found).toHaveLength(1)
    expect(found[0]).toMatchObject({ LastName: lastName, HasOptedOutSolicit: true, ShouldForget: false })
  })
})

describe("upsert by external id", () => {
  it("creates with 201 and created:true, then updates with created:false", async () => {
    const ext = `ext-${unique()}`
    const first = await conn
      .sobject("Contact")
      .upsert({ External_Id__c: ext, LastName: "Up" }, "External_Id__c")
    expect(first).toEqual({ id: expect.stringMatching(/^003/), success: true, errors: [], created: true })
    const second = await conn
      .sobject("Contact")
      .upsert({ External_Id__c: ext.toUpperCase(), LastName: "Up", DoNotCall: true }, "External_Id__c")
    expect(second).toEqual({ id: first.success ? first.id : "", success: true, errors: [], created: false })
    expect(em.backdoor.query("Contact", (r) => r["External_Id__c"] === ext)).toHaveLength(1)
    const statuses = em.backdoor.requestLog
      .filter((e) => e.path.includes("/External_Id__c/"))
      .map((e) => e.status)
    expect(statuses.slice(-2)).toEqual([201, 200])
  })

  it("answers 300 MULTIPLE_CHOICES when the external id matches several records", async () => {
    const ext = `dup-${unique()}`
    const a = em.backdoor.insert("Contact", { LastName: "A", External_Id__c: ext })
    const b = em.backdoor.insert("Contact", { LastName: "B", External_Id__c: ext })
    const e = await failure(
      conn.sobject("Contact").upsert({ External_Id__c: ext, LastName: "C" }, "External_Id__c")
    )
    expect(e.name).toBe("MULTIPLE_CHOICES")
    expect(e["data"]).toEqual([
      `/services/data/v${version}/sobjects/Contact/${String(a["Id"])}`,
      `/services/data/v${version}/sobjects/Contact/${String(b["Id"])}`
    ])
  })

  it("updates only with updateOnly=true, answering 404 instead of creating", async () => {
    const path = `/services/data/v${version}/sobjects/Individual/External_Id__c`
    const e = await failure(conn.requestPatch(`${path}/never-seen?updateOnly=true`, { LastName: "No" }))
    expect(e.name).toBe("NOT_FOUND")
    const ext = `only-${unique()}`
    em.backdoor.insert("Individual", { LastName: "Yes", External_Id__c: ext })
    const r = await conn.requestPatch(`${path}/${ext}?updateOnly=true`, { ShouldForget: true })
    expect(r).toMatchObject({ success: true, created: false })
  })

  it("refuses a field that is not an external id, and a duplicate unique value", async () => {
    const e = await failure(
      conn.sobject("Contact").upsert({ LastName: "Z", Email: "z@example.test" }, "Email")
    )
    expect(e.name).toBe("NOT_FOUND")
    expect(e.message).toBe("Provided external ID field does not exist or is not accessible: Email")
    const ext = `uniq-${unique()}`
    await conn.sobject("Individual").create({ LastName: "One", External_Id__c: ext })
    const dup = await failure(conn.sobject("Individual").create({ LastName: "Two", External_Id__c: ext }))
    expect(dup.name).toBe("DUPLICATE_VALUE")
  })
})

describe("backdoor", () => {
  it("sees writes made through jsforce, and jsforce sees writes made through the backdoor", async () => {
    const ext = `bd-${unique()}`
    const made = await conn
      .sobject("Individual")
      .create({ LastName: "Api", External_Id__c: ext, ShouldForget: true })
    const viaBackdoor = em.backdoor.query("Individual", (r) => r["External_Id__c"] === ext)
    expect(viaBackdoor).toEqual([
      expect.objectContaining({ Id: made.success ? made.id : "", ShouldForget: true })
    ])

    const inserted = em.backdoor.insert(
      "Contact",
      { LastName: "Backdoor", Email: "bd@example.test", HasOptedOutOfEmail: true },
      { at: "2025-12-24T12:00:00Z" }
    )
    const read = await conn.sobject("Contact").retrieve(String(inserted["Id"]), {
      fields: ["Email", "HasOptedOutOfEmail", "SystemModstamp"]
    })
    expect(read).toMatchObject({
      Email: "bd@example.test",
      HasOptedOutOfEmail: true,
      SystemModstamp: "2025-12-24T12:00:00.000+0000"
    })
    em.backdoor.update("Contact", String(inserted["Id"]), { DoNotCall: true }, { at: "2025-12-25T00:00:00Z" })
    const q = await conn.query<{ DoNotCall: boolean; SystemModstamp: string }>(
      `SELECT DoNotCall, SystemModstamp FROM Contact WHERE Id = '${String(inserted["Id"])}'`
    )
    expect(q.records[0]).toMatchObject({ DoNotCall: true, SystemModstamp: "2025-12-25T00:00:00.000+0000" })
    em.backdoor.delete("Contact", String(inserted["Id"]))
    expect((await failure(conn.sobject("Contact").retrieve(String(inserted["Id"])))).name).toBe("NOT_FOUND")
    expect(() => em.backdoor.insert("Contact", { Nope__c: 1 })).toThrow(/no field Nope__c/)
  })

  it("does not count against the API limit", async () => {
    const before = em.limits.used()
    em.backdoor.insert("Lead", { LastName: "L", Company: "C" })
    em.backdoor.query("Lead")
    expect(em.limits.used()).toBe(before)
  })
})
