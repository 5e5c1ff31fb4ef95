import type { Client } from "@hubspot/api-client"
import { PublicUpdateSubscriptionStatusRequestLegalBasisEnum as LegalBasis } from "@hubspot/api-client/lib/codegen/communication_preferences/index.js"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { HubSpotEmulator } from "../src/hubspot/index.js"
import { T0, clientFor, rejection, startFrozen } from "./hubspot.support.js"

let emulator: HubSpotEmulator
let client: Client

beforeAll(async () => {
  emulator = await startFrozen({
    subscriptionTypes: [
      { id: 501, name: "Newsletter", description: "Monthly", purpose: "Marketing" },
      { id: 502, name: "Product updates" },
      { id: 503, name: "Retired", isActive: false }
    ]
  })
  client = clientFor(emulator)
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.backdoor.reset()
  emulator.clock.set(T0)
})

const v4 = async (method: "GET" | "POST", path: string, body?: unknown, qs?: Record<string, string>) => {
  const response = await client.apiRequest({
    method,
    path: `/communication-preferences/v4${path}`,
    ...(qs === undefined ? {} : { qs }),
    ...(body === undefined ? {} : { body })
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

describe("v3 through the SDK", () => {
  it("lists the subscription definitions", async () => {
    const page = await client.communicationPreferences.definitionApi.getPage()
    expect(page.subscriptionDefinitions.map((d) => [d.id, d.name, d.isActive])).toEqual([
      ["501", "Newsletter", true],
      ["502", "Product updates", true],
      ["503", "Retired", false]
    ])
    expect(page.subscriptionDefinitions[0]?.createdAt).toEqual(new Date(T0))
  })

  it("subscribes and unsubscribes with a legal basis and reads the status back", async () => {
    const subscribed = await client.communicationPreferences.statusApi.subscribe({
      emailAddress: "Ada@Example.com",
      subscriptionId: "501",
      legalBasis: LegalBasis.ConsentWithNotice,
      legalBasisExplanation: "Signed up via form"
    })
    expect(subscribed).toMatchObject({
      id: "501",
      status: "SUBSCRIBED",
      sourceOfStatus: "SUBSCRIPTION_STATUS",
      legalBasis: "CONSENT_WITH_NOTICE",
      legalBasisExplanation: "Signed up via form"
    })
    await client.communicationPreferences.statusApi.unsubscribe({
      emailAddress: "ada@example.com",
      subscriptionId: "502",
      legalBasis: LegalBasis.LegitimateInterestOther,
      legalBasisExplanation: "Asked by phone"
    })
    const status = await client.communicationPreferences.statusApi.getEmailStatus("ada@example.com")
    expect(status.recipient).toBe("ada@example.com")
    expect(status.subscriptionStatuses.map((s) => [s.id, s.status, s.legalBasis])).toEqual([
      ["501", "SUBSCRIBED", "CONSENT_WITH_NOTICE"],
      ["502", "NOT_SUBSCRIBED", "LEGITIMATE_INTEREST_OTHER"]
    ])
    expect(emulator.backdoor.subscriptions("ada@example.com").map((s) => s.status)).toEqual([
      "SUBSCRIBED",
      "UNSUBSCRIBED"
    ])
  })

  it("encodes the e-mail in the status path as the SDK does (a+b@example.com)", async () => {
    emulator.backdoor.setSubscription("a+b@example.com", 501, "SUBSCRIBED")
    const status = await client.communicationPreferences.statusApi.getEmailStatus("a+b@example.com")
    expect(status.subscriptionStatuses[0]?.status).toBe("SUBSCRIBED")
    expect(emulator.backdoor.requestLog.at(-1)?.path).toBe(
      "/communication-preferences/v3/status/email/a%2Bb%40example.com"
    )
  })

  it("refuses to repeat the current status with 400 (already subscribed / already unsubscribed)", async () => {
    emulator.backdoor.setSubscription("x@example.com", 501, "SUBSCRIBED")
    emulator.backdoor.setSubscription("x@example.com", 502, "UNSUBSCRIBED")
    await expect(
      client.communicationPreferences.statusApi.subscribe({
        emailAddress: "x@example.com",
        subscriptionId: "501"
      })
    ).rejects.toMatchObject({
      code: 400,
      body: {
        category: "VALIDATION_ERROR",
        message: "x@example.com is already subscribed to subscription 501"
      }
    })
    await expect(
      client.communicationPreferences.statusApi.unsubscribe({
        emailAddress: "x@example.com",
        subscriptionId: "502"
      })
    ).rejects.toMatchObject({
      body: { message: "x@example.com is already unsubscribed from subscription 502" }
    })
  })

  it("rejects unknown or inactive subscriptions, unknown legal bases and bad e-mails", async () => {
    const cases = [
      { emailAddress: "y@example.com", subscriptionId: "999" },
      { emailAddress: "y@example.com", subscriptionId: "503" },
      { emailAddress: "y@example.com", subscriptionId: "501", legalBasis: "BECAUSE" as LegalBasis },
      { emailAddress: "not-an-email", subscriptionId: "501" }
    ]
    for (const request of cases) {
      const error = await rejection(client.communicationPreferences.statusApi.subscribe(request))
      expect(error).toMatchObject({ code: 400, body: { category: "VALIDATION_ERROR" } })
    }
  })

  it("bumps the contact's lastmodifieddate and hs_email_optout_<id> on a real change", async () => {
    const contact = emulator.backdoor.upsertContact({ email: "c@example.com" })
    emulator.clock.advance(5_000)
    await client.communicationPreferences.statusApi.unsubscribe({
      emailAddress: "c@example.com",
      subscriptionId: "501"
    })
    expect(emulator.backdoor.contact(contact.id)?.properties).toMatchObject({
      hs_email_optout_501: "true",
      lastmodifieddate: "2026-03-01T12:00:05.000Z"
    })
  })

  it("requires a legal basis to subscribe when GDPR is on", async () => {
    const gdpr = await startFrozen({ gdpr: true })
    try {
      const gdprClient = clientFor(gdpr)
      await expect(
        gdprClient.communicationPreferences.statusApi.subscribe({
          emailAddress: "g@example.com",
          subscriptionId: "1001"
        })
      ).rejects.toMatchObject({ code: 400 })
      await expect(
        gdprClient.communicationPreferences.statusApi.subscribe({
          emailAddress: "g@example.com",
          subscriptionId: "1001",
          legalBasis: LegalBasis.ConsentWithNotice
        })
      ).resolves.toMatchObject({ status: "SUBSCRIBED" })
    } finally {
      await gdpr.close()
    }
  })
})

describe("v4 through apiRequest", () => {
  it("reads statuses in batch, NOT_SPECIFIED where nothing was recorded", async () => {
    emulator.backdoor.setSubscription("a@example.com", 501, "SUBSCRIBED", {
      legalBasis: "CONSENT_WITH_NOTICE",
      legalBasisExplanation: "web form",
      at: "2026-02-01T00:00:00.000Z"
    })
    const { status, json } = await v4(
      "POST",
      "/statuses/batch/read",
      { inputs: ["a@example.com", "b@example.com"] },
      { channel: "EMAIL" }
    )
    expect(status).toBe(200)
    expect(json["status"]).toBe("COMPLETE")
    expect(json["results"]).toEqual([
      {
        subscriberIdString: "a@example.com",
        statuses: [
          expect.objectContaining({
            subscriptionId: 501,
            channel: "EMAIL",
            status: "SUBSCRIBED",
            legalBasis: "CONSENT_WITH_NOTICE",
            legalBasisExplanation: "web form",
            timestamp: "2026-02-01T00:00:00.000Z"
          }),
          expect.objectContaining({ subscriptionId: 502, status: "NOT_SPECIFIED" })
        ]
      },
      {
        subscriberIdString: "b@example.com",
        statuses: [
          expect.objectContaining({ subscriptionId: 501, status: "NOT_SPECIFIED" }),
          expect.objectContaining({ subscriptionId: 502, status: "NOT_SPECIFIED" })
        ]
      }
    ])
  })

  it("writes statuses in batch with legal basis and reports why each write succeeded", async () => {
    emulator.backdoor.setSubscription("a@example.com", 501, "UNSUBSCRIBED")
    const input = (email: string, subscriptionId: number, statusState: string) => ({
      subscriberIdString: email,
      channel: "EMAIL",
      subscriptionId,
      statusState,
      legalBasis: "CONSENT_WITH_NOTICE",
      legalBasisExplanation: "ledger event 42"
    })
    const { status, json } = await v4("POST", "/statuses/batch/write", {
      inputs: [
        input("a@example.com", 501, "SUBSCRIBED"),
        input("b@example.com", 502, "UNSUBSCRIBED"),
        input("b@example.com", 501, "NOT_SPECIFIED")
      ]
    })
    expect(status).toBe(200)
    expect(
      (json["results"] as Array<Record<string, unknown>>).map((r) => [
        r["subscriberIdString"],
        r["status"],
        r["setStatusSuccessReason"]
      ])
    ).toEqual([
      ["a@example.com", "SUBSCRIBED", "RESUBSCRIBE_OCCURRED"],
      ["b@example.com", "UNSUBSCRIBED", "REQUESTED_CHANGE_OCCURRED"],
      ["b@example.com", "NOT_SPECIFIED", "NO_STATUS_CHANGE"]
    ])
    expect(emulator.backdoor.subscriptions("a@example.com")[0]).toMatchObject({
      status: "SUBSCRIBED",
      legalBasis: "CONSENT_WITH_NOTICE",
      legalBasisExplanation: "ledger event 42"
    })
    // v3 reads the same state: UNSUBSCRIBED shows as NOT_SUBSCRIBED.
    const v3 = await client.communicationPreferences.statusApi.getEmailStatus("b@example.com")
    expect(v3.subscriptionStatuses.map((s) => s.status)).toEqual(["NOT_SUBSCRIBED", "NOT_SUBSCRIBED"])
  })

  it("answers 207 for a partly invalid batch write and applies the valid inputs", async () => {
    const { status, json } = await v4("POST", "/statuses/batch/write", {
      inputs: [
        {
          subscriberIdString: "ok@example.com",
          channel: "EMAIL",
          subscriptionId: 501,
          statusState: "SUBSCRIBED"
        },
        {
          subscriberIdString: "ok@example.com",
          channel: "EMAIL",
          subscriptionId: 999,
          statusState: "SUBSCRIBED"
        },
        {
          subscriberIdString: "ok@example.com",
          channel: "EMAIL",
          subscriptionId: 502,
          statusState: "NOT_SUBSCRIBED"
        }
      ]
    })
    expect(status).toBe(207)
    expect(json["numErrors"]).toBe(2)
    expect(json["errors"]).toEqual([
      expect.objectContaining({ status: "error", category: "VALIDATION_ERROR", context: expect.any(Object) }),
      expect.objectContaining({ status: "error", category: "VALIDATION_ERROR" })
    ])
    expect(emulator.backdoor.subscriptions("ok@example.com").map((s) => s.status)).toEqual([
      "SUBSCRIBED",
      "NOT_SPECIFIED"
    ])
  })

  it("reads and writes one e-mail, and requires channel=EMAIL", async () => {
    const write = await v4("POST", "/statuses/w%40example.com", {
      channel: "EMAIL",
      subscriptionId: 502,
      statusState: "UNSUBSCRIBED",
      legalBasis: "NON_GDPR"
    })
    expect(write.status).toBe(200)
    const read = await v4("GET", "/statuses/w%40example.com", undefined, { channel: "EMAIL" })
    expect((read.json["results"] as Array<Record<string, unknown>>).map((s) => s["status"])).toEqual([
      "NOT_SPECIFIED",
      "UNSUBSCRIBED"
    ])
    const missingChannel = await v4("GET", "/statuses/w%40example.com")
    expect(missingChannel.status).toBe(400)
    expect(missingChannel.json).toMatchObject({ status: "error", category: "VALIDATION_ERROR" })
  })

  it("lists definitions in the v4 envelope", async () => {
    const { json } = await v4("GET", "/definitions")
    expect(json).toMatchObject({ status: "COMPLETE", results: [{ id: "501" }, { id: "502" }, { id: "503" }] })
  })

  it("never throws on HTTP errors: apiRequest returns the raw response", async () => {
    const response = await clientFor(emulator, "bad-token").apiRequest({
      method: "POST",
      path: "/communication-preferences/v4/statuses/batch/read",
      qs: { channel: "EMAIL" },
      body: { inputs: ["a@example.com"] }
    })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ category: "INVALID_AUTHENTICATION" })
  })

  it("GDPR delete removes the e-mail's statuses", async () => {
    emulator.backdoor.upsertContact({ email: "gone@example.com" })
    emulator.backdoor.setSubscription("gone@example.com", 501, "SUBSCRIBED")
    await client.crm.contacts.basicApi.purge({ objectId: "gone@example.com", idProperty: "email" })
    const { json } = await v4(
      "POST",
      "/statuses/batch/read",
      { inputs: ["gone@example.com"] },
      { channel: "EMAIL" }
    )
    const statuses = (json["results"] as Array<{ statuses: Array<Record<string, unknown>> }>)[0]?.statuses
    expect(statuses?.map((s) => s["status"])).toEqual(["NOT_SPECIFIED", "NOT_SPECIFIED"])
  })
})
