import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { SalesforceEmulator } from "../src/salesforce/index.js"
import { type Conn, failure, login, startEmulator, unique, version } from "./salesforce.helpers.js"

let em: SalesforceEmulator
let conn: Conn

beforeAll(async () => {
  em = await startEmulator()
  conn = await login(em)
})

beforeEach(() => {
  em.backdoor.reset()
})

afterAll(async () => {
  await em.close()
})

const contacts = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ LastName: `${tag}-${i}`, Email: `${tag}-${i}@example.test` }))

const collectionCalls = () =>
  em.backdoor.requestLog.filter((e) => e.path === `/services/data/v${version}/composite/sobjects`)

describe("sObject Collections", () => {
  it("creates 200 records in one call", async () => {
    const results = await conn.sobject("Contact").create(contacts(200, "ok"))
    expect(results).toHaveLength(200)
    expect(results.every((r) => r.success)).toBe(true)
    expect(em.backdoor.count("Contact")).toBe(200)
    expect(collectionCalls().map((e) => `${e.method} ${e.status}`)).toEqual(["POST 200"])
  })

  it("rejects 201 records with EXCEEDED_ID_LIMIT, and jsforce's allowRecursive splits them into two calls", async () => {
    const e = await failure(conn.sobject("Contact").create(contacts(201, "big")))
    expect(e.name).toBe("EXCEEDED_ID_LIMIT")
    expect(e.message).toBe("record limit reached. cannot submit more than 200 records into this call")
    expect(em.backdoor.count("Contact")).toBe(0)

    em.backdoor.clearRequestLog()
    const results = await conn.sobject("Contact").create(contacts(201, "split"), { allowRecursive: true })
    expect(results).toHaveLength(201)
    expect(collectionCalls().map((c) => `${c.method} ${c.status}`)).toEqual(["POST 200", "POST 200"])
    expect(em.backdoor.count("Contact")).toBe(201)
  })

  it("reports one bad record per record when allOrNone is false", async () => {
    const records = [...contacts(2, "part"), { FirstName: "NoLastName" }, ...contacts(1, "tail")]
    const results = await conn.sobject("Contact").create(records)
    expect(results.map((r) => r.success)).toEqual([true, true, false, true])
    expect(results[2]).toEqual({
      success: false,
      errors: [
        {
          statusCode: "REQUIRED_FIELD_MISSING",
          message: "Required fields are missing: [LastName]",
          fields: ["LastName"]
        }
      ]
    })
    expect(em.backdoor.count("Contact")).toBe(3)
  })

  it("rolls everything back when allOrNone is true", async () => {
    const records = [...contacts(2, "aon"), { LastName: "Bad", Email: "not-an-email" }]
    const results = await conn.sobject("Contact").create(records, { allOrNone: true })
    expect(results[0]).toEqual({
      success: false,
      errors: [
        {
          statusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
          message:
            "Record rolled back because not all records were valid and the request was using AllOrNone header",
          fields: []
        }
      ]
    })
    expect(results[2]?.success).toBe(false)
    expect(results[2]?.success === false && results[2].errors[0]).toMatchObject({
      statusCode: "INVALID_EMAIL_ADDRESS"
    })
    expect(em.backdoor.count("Contact")).toBe(0)
  })

  it("fails the whole request when a record does not deserialize", async () => {
    const e = await failure(
      conn.sobject("Contact").create([{ LastName: "A" }, { LastName: "B", Nope__c: 1 }])
    )
    expect(e.name).toBe("INVALID_FIELD")
    expect(em.backdoor.count("Contact")).toBe(0)
  })

  it("updates and deletes many, with per-record results", async () => {
    const made = await conn.sobject("Contact").create(contacts(3, "upd"))
    const ids = made.map((r) => (r.success ? r.id : ""))
    const updated = await conn.sobject("Contact").update([
      { Id: ids[0] ?? "", HasOptedOutOfEmail: true },
      { Id: ids[1] ?? "", LastName: null },
      { Id: "003000000000000AAA", DoNotCall: true }
    ])
    expect(updated[0]).toEqual({ id: ids[0], success: true, errors: [] })
    expect(updated[1]).toMatchObject({
      id: ids[1],
      success: false,
      errors: [{ statusCode: "REQUIRED_FIELD_MISSING" }]
    })
    expect(updated[2]).toMatchObject({
      success: false,
      errors: [{ statusCode: "INVALID_CROSS_REFERENCE_KEY" }]
    })
    expect(em.backdoor.get("Contact", ids[0] ?? "")?.["HasOptedOutOfEmail"]).toBe(true)

    const destroyed = await conn.sobject("Contact").destroy([ids[0] ?? "", ids[1] ?? "", "bogus"])
    expect(destroyed.map((r) => r.success)).toEqual([true, true, false])
    expect(destroyed[2]).toMatchObject({ errors: [{ statusCode: "MALFORMED_ID" }] })
    const again = await conn.sobject("Contact").destroy([ids[0] ?? ""])
    expect(again[0]).toMatchObject({
      id: ids[0],
      success: false,
      errors: [{ statusCode: "ENTITY_IS_DELETED" }]
    })
  })

  it("upserts many by external id, reporting created per record", async () => {
    const existing = em.backdoor.insert("Individual", { LastName: "Known", External_Id__c: "ext-known" })
    const results = await conn.sobject("Individual").upsert(
      [
        { External_Id__c: "ext-known", LastName: "Known", HasOptedOutSolicit: true },
        { External_Id__c: "ext-new", LastName: "New" }
      ],
      "External_Id__c"
    )
    expect(results).toEqual([
      { id: existing["Id"], success: true, errors: [], created: false },
      { id: expect.stringMatching(/^0PK/), success: true, errors: [], created: true }
    ])
    expect(em.backdoor.get("Individual", String(existing["Id"]))?.["HasOptedOutSolicit"]).toBe(true)
    expect(em.backdoor.requestLog.at(-1)).toMatchObject({
      method: "PATCH",
      path: `/services/data/v${version}/composite/sobjects/Individual/External_Id__c`,
      status: 200
    })

    const dup = await conn.sobject("Individual").upsert(
      [
        { External_Id__c: "same", LastName: "One" },
        { External_Id__c: "SAME", LastName: "Two" }
      ],
      "External_Id__c"
    )
    expect(dup.map((r) => r.success === false && r.errors[0])).toEqual([
      expect.objectContaining({ statusCode: "DUPLICATE_EXTERNAL_ID" }),
      expect.objectContaining({ statusCode: "DUPLICATE_EXTERNAL_ID" })
    ])
  })

  it("retrieves many records in one call", async () => {
    const a = em.backdoor.insert("Contact", { LastName: "A", Email: "a@example.test" })
    const records = await conn
      .sobject("Contact")
      .retrieve([String(a["Id"]), "003000000000000AAA"], { fields: ["Email"] })
    expect(records).toEqual([
      {
        attributes: {
          type: "Contact",
          url: `/services/data/v${version}/sobjects/Contact/${String(a["Id"])}`
        },
        Email: "a@example.test"
      },
      null
    ])
  })
})

describe("Composite", () => {
  const url = (path: string) => `/services/data/v${version}${path}`

  it("runs subrequests in order with references between them, as one API call", async () => {
    const before = em.limits.used()
    const res = await conn.requestPost<{ compositeResponse: ReadonlyArray<Record<string, unknown>> }>(
      "/composite",
      {
        allOrNone: true,
        compositeRequest: [
          {
            method: "POST",
            url: url("/sobjects/Individual"),
            referenceId: "ind",
            body: { LastName: "Comp" }
          },
          {
            method: "POST",
            url: url("/sobjects/ContactPointTypeConsent"),
            referenceId: "cptc",
            body: {
              Name: "email",
              PartyId: "@{ind.id}",
              PrivacyConsentStatus: "OptOut",
              ContactPointType: "Email",
              CaptureDate: "2026-01-01T10:00:00Z",
              CaptureSource: "pref-center",
              CaptureContactPointType: "Web"
            }
          },
          {
            method: "PATCH",
            url: url("/sobjects/Individual/@{ind.id}"),
            referenceId: "flag",
            body: { HasOptedOutSolicit: true }
          },
          {
            method: "GET",
            url: url("/query?q=SELECT+Id,PartyId+FROM+ContactPointTypeConsent"),
            referenceId: "q"
          }
        ]
      }
    )
    const [ind, cptc, flag, q] = res.compositeResponse
    expect(ind).toMatchObject({ httpStatusCode: 201, referenceId: "ind", body: { success: true } })
    const indId = String((ind?.["body"] as { id?: unknown } | undefined)?.id)
    expect(cptc).toMatchObject({
      httpStatusCode: 201,
      httpHeaders: {
        Location: expect.stringMatching(
          new RegExp(`^/services/data/v${version}/sobjects/ContactPointTypeConsent/0ZY`)
        )
      }
    })
    expect(flag).toEqual({ body: null, httpHeaders: {}, httpStatusCode: 204, referenceId: "flag" })
    expect(q).toMatchObject({ httpStatusCode: 200, body: { totalSize: 1, records: [{ PartyId: indId }] } })
    expect(em.backdoor.get("Individual", indId)?.["HasOptedOutSolicit"]).toBe(true)
    expect(em.limits.used() - before).toBe(1)
  })

  it("rolls back every subrequest when one fails and allOrNone is true", async () => {
    const res = await conn.requestPost<{ compositeResponse: ReadonlyArray<Record<string, unknown>> }>(
      "/composite",
      {
        allOrNone: true,
        compositeRequest: [
          {
            method: "POST",
            url: url("/sobjects/Individual"),
            referenceId: "ind",
            body: { LastName: `Roll-${unique()}` }
          },
          {
            method: "POST",
            url: url("/sobjects/ContactPointTypeConsent"),
            referenceId: "bad",
            body: { PartyId: "@{ind.id}" }
          },
          {
            method: "POST",
            url: url("/sobjects/Individual"),
            referenceId: "after",
            body: { LastName: "After" }
          }
        ]
      }
    )
    expect(res.compositeResponse.map((r) => r["httpStatusCode"])).toEqual([400, 400, 400])
    expect(res.compositeResponse[0]?.["body"]).toEqual([
      {
        errorCode: "PROCESSING_HALTED",
        message: "The transaction was rolled back since another operation in the same transaction failed."
      }
    ])
    expect(res.compositeResponse[1]?.["body"]).toEqual([
      {
        message: "Required fields are missing: [Name]",
        errorCode: "REQUIRED_FIELD_MISSING",
        fields: ["Name"]
      }
    ])
    expect(em.backdoor.count("Individual")).toBe(0)
  })

  it("keeps the successes and halts dependents when allOrNone is false", async () => {
    const res = await conn.requestPost<{ compositeResponse: ReadonlyArray<Record<string, unknown>> }>(
      "/composite",
      {
        compositeRequest: [
          { method: "POST", url: url("/sobjects/Individual"), referenceId: "bad", body: {} },
          {
            method: "PATCH",
            url: url("/sobjects/Individual/@{bad.id}"),
            referenceId: "dependent",
            body: { ShouldForget: true }
          },
          {
            method: "POST",
            url: url("/sobjects/Individual"),
            referenceId: "good",
            body: { LastName: "Good" }
          }
        ]
      }
    )
    expect(res.compositeResponse.map((r) => r["httpStatusCode"])).toEqual([400, 400, 201])
    expect(res.compositeResponse[1]?.["body"]).toEqual([
      expect.objectContaining({ errorCode: "PROCESSING_HALTED", message: expect.stringContaining("bad.id") })
    ])
    expect(em.backdoor.count("Individual")).toBe(1)
  })

  it("carries sObject Collections and queries as subrequests, with per-record results, as one API call", async () => {
    const ind = String(em.backdoor.insert("Individual", { LastName: "Coll" })["Id"])
    const contact = String(em.backdoor.insert("Contact", { LastName: "Coll", IndividualId: ind })["Id"])
    em.backdoor.clearRequestLog()
    const before = em.limits.used()
    const consent = (name: string) => ({
      attributes: { type: "ContactPointTypeConsent" },
      Name: name,
      PartyId: ind,
      PrivacyConsentStatus: "OptOut",
      ContactPointType: "Email"
    })
    const res = await conn.requestPost<{ compositeResponse: ReadonlyArray<Record<string, unknown>> }>(
      "/composite",
      {
        allOrNone: false,
        compositeRequest: [
          {
            method: "POST",
            url: url("/composite/sobjects"),
            referenceId: "creates",
            body: { allOrNone: false, records: [consent("ok"), { ...consent("bad"), PartyId: null }] }
          },
          {
            method: "PATCH",
            url: url("/composite/sobjects"),
            referenceId: "updates",
            body: {
              allOrNone: false,
              records: [{ attributes: { type: "Contact" }, id: contact, HasOptedOutOfEmail: true }]
            }
          },
          {
            method: "GET",
            url: url(
              `/query?q=${encodeURIComponent(`SELECT Name FROM ContactPointTypeConsent WHERE PartyId IN (SELECT IndividualId FROM Contact WHERE Id = '${contact}')`)}`
            ),
            referenceId: "read"
          }
        ]
      }
    )
    const [creates, updates, read] = res.compositeResponse
    expect(creates).toMatchObject({ httpStatusCode: 200, referenceId: "creates" })
    expect(creates?.["body"]).toEqual([
      { id: expect.stringMatching(/^0ZY/), success: true, errors: [] },
      {
        success: false,
        errors: [
          {
            statusCode: "REQUIRED_FIELD_MISSING",
            message: "Required fields are missing: [PartyId]",
            fields: ["PartyId"]
          }
        ]
      }
    ])
    expect(updates).toMatchObject({ httpStatusCode: 200, body: [{ id: contact, success: true, errors: [] }] })
    expect(read).toMatchObject({ httpStatusCode: 200, body: { totalSize: 1, records: [{ Name: "ok" }] } })
    expect(em.backdoor.get("Contact", contact)?.["HasOptedOutOfEmail"]).toBe(true)
    expect(em.limits.used() - before).toBe(1)
    expect(em.backdoor.requestLog.map((e) => e.subrequests)).toEqual([
      [
        { method: "POST", path: url("/composite/sobjects"), status: 200 },
        { method: "PATCH", path: url("/composite/sobjects"), status: 200 },
        { method: "GET", path: url("/query"), status: 200 }
      ]
    ])
  })

  it("refuses a sixth subrequest that is a collection or a query", async () => {
    const collection = (i: number) => ({
      method: "POST",
      url: url("/composite/sobjects"),
      referenceId: `c${i}`,
      body: { records: [{ attributes: { type: "Individual" }, LastName: `Six-${i}` }] }
    })
    const query = { method: "GET", url: url("/query?q=SELECT+Id+FROM+Individual"), referenceId: "q" }
    const four = [0, 1, 2, 3].map(collection)
    const ok = await conn.requestPost<{ compositeResponse: ReadonlyArray<Record<string, unknown>> }>(
      "/composite",
      { compositeRequest: [...four, query, { method: "GET", url: url("/limits"), referenceId: "l" }] }
    )
    expect(ok.compositeResponse.map((r) => r["httpStatusCode"])).toEqual([200, 200, 200, 200, 200, 200])
    const e = await failure(
      conn.requestPost("/composite", { compositeRequest: [...four, collection(4), query] })
    )
    expect(e["errorCode"]).toBe("LIMIT_EXCEEDED")
    expect(e.message).toContain("5 sObject Collections and query subrequests")
    expect(em.backdoor.count("Individual")).toBe(4)
  })

  it("a status fault matching a subrequest answers that subrequest; the others run", async () => {
    em.faults.next({ path: "/query", status: 404 })
    const res = await conn.requestPost<{ compositeResponse: ReadonlyArray<Record<string, unknown>> }>(
      "/composite",
      {
        compositeRequest: [
          { method: "GET", url: url("/query?q=SELECT+Id+FROM+Individual"), referenceId: "q" },
          { method: "POST", url: url("/sobjects/Individual"), referenceId: "i", body: { LastName: "Fault" } }
        ]
      }
    )
    expect(res.compositeResponse.map((r) => r["httpStatusCode"])).toEqual([404, 201])
    expect(res.compositeResponse[0]?.["body"]).toEqual([expect.objectContaining({ errorCode: "NOT_FOUND" })])
    expect(em.faults.pending()).toBe(0)
    // Connection faults are not for subrequests: they wait for a request of their own.
    em.faults.next({ path: "/query", drop: true })
    await conn.requestPost("/composite", {
      compositeRequest: [{ method: "GET", url: url("/query?q=SELECT+Id+FROM+Individual"), referenceId: "q" }]
    })
    expect(em.faults.pending()).toBe(1)
    em.faults.clear()
  })

  it("refuses more than 25 subrequests", async () => {
    const compositeRequest = Array.from({ length: 26 }, (_, i) => ({
      method: "GET",
      url: url("/limits"),
      referenceId: `r${i}`
    }))
    const e = await failure(conn.requestPost("/composite", { compositeRequest }))
    expect(e["errorCode"]).toBe("LIMIT_EXCEEDED")
  })
})
