import { describe, expect, it } from "@effect/vitest"
import { ContactMapper, SubscriptionStatusMapper as S } from "../src/index.js"
import * as Cursor from "../src/internal/Cursor.js"
import { diffOf } from "./support/diffs.js"

const config = {
  legalBasis: {
    consent: "CONSENT_WITH_NOTICE",
    contract: "PERFORMANCE_OF_CONTRACT",
    legitimate_interests: "LEGITIMATE_INTEREST_OTHER",
    legal_obligation: null,
    vital_interests: null,
    public_task: null
  }
} as const
const subscriptions = [
  { purpose: "marketing", channel: "email", subscriptionId: "1001", field: "1001", name: undefined },
  { purpose: "service", channel: "email", subscriptionId: "1003", field: "1003", name: undefined }
] as const
const target = {
  name: "hubspot",
  mapping: {
    target: "hubspot",
    keys: subscriptions.map((s) => ({ purpose: s.purpose, channel: s.channel, field: s.field }))
  }
}

describe("subscription statuses", () => {
  it("SUBSCRIBED is granted, UNSUBSCRIBED denied, NOT_SPECIFIED no state; only a grant subscribes", () => {
    expect(["SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED", "NOT_SUBSCRIBED"].map(S.fromHubSpot)).toEqual([
      "granted",
      "denied",
      undefined,
      undefined
    ])
    expect((["granted", "denied", "withdrawn", "expired", "pending"] as const).map(S.toStatusState)).toEqual([
      "SUBSCRIBED",
      "UNSUBSCRIBED",
      "UNSUBSCRIBED",
      "UNSUBSCRIBED",
      "UNSUBSCRIBED"
    ])
  })

  it("a change becomes a v4 write with the mapped legal basis; a basis without counterpart sends none", () => {
    const d = diffOf(target, { externalId: "1" }, [["1001", "granted"]], { policyVersion: "v7" })
    const input = S.toWriteInput(config, "a@example.com", subscriptions[0], d.changes[0]!)
    expect(input).toEqual({
      subscriberIdString: "a@example.com",
      channel: "EMAIL",
      subscriptionId: 1001,
      statusState: "SUBSCRIBED",
      legalBasis: "CONSENT_WITH_NOTICE",
      legalBasisExplanation: expect.stringMatching(
        /^living-profile consent event event-\d+ \(marketing\/email, policy v7\)$/
      )
    })
    const none = diffOf(target, { externalId: "1" }, [["1001", "denied"]], { legalBasis: "vital_interests" })
    expect(S.toWriteInput(config, "a@example.com", subscriptions[0], none.changes[0]!)).toEqual({
      subscriberIdString: "a@example.com",
      channel: "EMAIL",
      subscriptionId: 1001,
      statusState: "UNSUBSCRIBED"
    })
  })

  it("statuses read as held fields; unmapped types and NOT_SPECIFIED are left out", () => {
    const held = S.toHeldFields(subscriptions, [
      {
        subscriberIdString: "a@example.com",
        subscriptionId: 1001,
        status: "UNSUBSCRIBED",
        timestamp: "2026-01-02T03:04:05.000Z"
      },
      {
        subscriberIdString: "a@example.com",
        subscriptionId: 1002,
        status: "SUBSCRIBED",
        timestamp: "2026-01-02T03:04:05.000Z"
      },
      {
        subscriberIdString: "a@example.com",
        subscriptionId: "1003",
        status: "NOT_SPECIFIED",
        timestamp: "2026-01-02T03:04:05.000Z"
      }
    ])
    expect([...held]).toEqual([["1001", { status: "denied", modifiedAt: "2026-01-02T03:04:05.000Z" }]])
  })
})

describe("contacts", () => {
  it("a contact becomes a record: e-mails and phones as identifiers, known properties as attributes", () => {
    const record = ContactMapper.toSourceRecord(
      "hubspot",
      {
        id: "1234",
        properties: {
          email: "ada@example.com",
          hs_additional_emails: "ada@work.example; ;ada@example.com",
          phone: "+44 20 7946 0000",
          mobilephone: null,
          firstname: "Ada",
          lastname: "",
          zip: "N1",
          lastmodifieddate: "2026-01-02T03:04:05.678Z"
        }
      },
      ContactMapper.attributeMap({})
    )
    expect(record).toEqual({
      source: "hubspot",
      id: "1234",
      updatedAt: "2026-01-02T03:04:05.678Z",
      identifiers: { email: ["ada@example.com", "ada@work.example"], phone: ["+44 20 7946 0000"] },
      attributes: { firstName: "Ada", postalCode: "N1" }
    })
  })

  it("modification time falls back to updatedAt, and reads epoch millis", () => {
    expect(ContactMapper.modifiedAtOf({ id: "1", properties: { lastmodifieddate: "1767225600000" } })).toBe(
      1767225600000
    )
    expect(ContactMapper.modifiedAtOf({ id: "1", properties: {}, updatedAt: new Date(5) })).toBe(5)
    expect(Number.isNaN(ContactMapper.modifiedAtOf({ id: "1", properties: {} }))).toBe(true)
  })
})

describe("cursors", () => {
  it("round-trip, and anything else is refused", () => {
    const p = { t: 1767225600123, id: 98765 }
    const c = Cursor.encode(p)
    expect(c).toMatch(/^hs1\.[A-Za-z0-9_-]+$/)
    expect(Cursor.decode(c)).toEqual(p)
    for (const bad of [
      "",
      "hs1.",
      "hs2.e30",
      "hs1.e30",
      `hs1.${Buffer.from('{"t":1.5,"id":1}').toString("base64url")}`
    ])
      expect(Cursor.decode(bad)).toBeUndefined()
  })
})
