import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Effect } from "effect"
import { make } from "../src/index.js"
import {
  carried,
  consentRecords,
  emulator,
  optionsFor,
  person,
  purpose,
  sameId,
  writes
} from "./support/Emulator.js"

const EMAIL = "ContactPointTypeConsent:Marketing:Email"
const POST = "ContactPointTypeConsent:Marketing:MailingAddress"
const PROFILING = "Individual.HasOptedOutProfiling"

type Status = "granted" | "denied" | "pending"

const diff = (
  ref: ConsentTarget.PersonRef,
  sets: ReadonlyArray<readonly [string, Status]>,
  capturedAt = "2026-03-01T10:00:00Z"
) =>
  ConsentTarget.address(
    {
      profileId: "p-1",
      target: "salesforce",
      changes: sets.map(([field, to]) => ({
        key: "test/any",
        field,
        from: null,
        to,
        because: {
          status: to,
          capturedAt,
          source: "web-form",
          eventId: `e-${field}-${to}`,
          legalBasis: "consent" as const
        }
      }))
    },
    ref
  )

describe("push", () => {
  it.scopedLive(
    "201 diffs: one Composite request reads, one writes them in sObject Collections of at most 200 records",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em))
        purpose(em, "Marketing")
        const people = Array.from({ length: 201 }, () => person(em))
        yield* target.push([diff({ externalId: people[0]!.contactId }, [[EMAIL, "granted"]])])
        em.backdoor.clearRequestLog()
        const results = yield* target.push(
          people.map((p) => diff({ externalId: p.contactId }, [[POST, "granted"]]))
        )
        expect(results.map((r) => r._tag)).toEqual(people.map(() => "Applied"))
        expect(em.backdoor.count("ContactPointTypeConsent")).toBe(202)
        // The persons and their consent records are read together; mailing address has no
        // checkbox and the Individuals exist: nothing to update.
        expect(carried(em)).toEqual([
          ["GET /query", "GET /query"],
          ["POST /composite/sobjects", "POST /composite/sobjects"]
        ])
        expect(em.backdoor.requestLog).toHaveLength(2)
        em.backdoor.clearRequestLog()
        const again = yield* target.push(
          people.map((p) => diff({ externalId: p.contactId }, [[POST, "denied"]]))
        )
        expect(again.every((r) => r._tag === "Applied")).toBe(true)
        expect(carried(em)).toEqual([
          ["GET /query", "GET /query"],
          ["PATCH /composite/sobjects", "PATCH /composite/sobjects"]
        ])
        expect(
          em.backdoor
            .query("ContactPointTypeConsent", (r) => r["ContactPointType"] === "MailingAddress")
            .every((r) => r["PrivacyConsentStatus"] === "OptOut")
        ).toBe(true)
      })
  )

  it.scopedLive("a Composite request carries at most five collections; the rest go in the next ones", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em, { batchSize: 10 }))
      purpose(em, "Marketing")
      const people = Array.from({ length: 121 }, () => person(em))
      em.backdoor.clearRequestLog()
      const results = yield* target.push(
        people.map((p) => diff({ externalId: p.contactId }, [[EMAIL, "denied"]]))
      )
      expect(results.every((r) => r._tag === "Applied")).toBe(true)
      // 121 consent records to create (13 collections of 10), then the 121 checkboxes (13 more):
      // their persons' new records had to be written first.
      const sizes = carried(em).map((subs) => subs.length)
      expect(sizes).toEqual([2, 5, 5, 3, 5, 5, 3])
      expect(carried(em)[3]).toEqual(Array.from({ length: 3 }, () => "POST /composite/sobjects"))
      expect(carried(em)[4]).toEqual(Array.from({ length: 5 }, () => "PATCH /composite/sobjects"))
      for (const p of people) {
        expect(consentRecords(em, p.individualId!).map((r) => r["PrivacyConsentStatus"])).toEqual(["OptOut"])
        expect(em.backdoor.get("Contact", p.contactId)?.["HasOptedOutOfEmail"]).toBe(true)
      }
    })
  )

  it.scopedLive(
    "consent records past one page of a query are read from the next page, in the next request",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em))
        const marketing = purpose(em, "Marketing")
        const people = Array.from({ length: 700 }, () => person(em))
        for (const p of people)
          for (const type of ["Email", "Phone", "MailingAddress"])
            em.backdoor.insert("ContactPointTypeConsent", {
              Name: `Marketing ${type}`,
              PartyId: p.individualId,
              DataUsePurposeId: marketing,
              ContactPointType: type,
              PrivacyConsentStatus: "OptIn",
              CaptureDate: "2024-01-01T00:00:00Z"
            })
        em.backdoor.clearRequestLog()
        const results = yield* target.push(
          people.map((p) => diff({ externalId: p.contactId }, [[POST, "denied"]]))
        )
        expect(results.every((r) => r._tag === "Applied")).toBe(true)
        // 2,100 consent rows: a page of 2,000, then the rest through nextRecordsUrl.
        expect(carried(em).slice(0, 2)).toEqual([["GET /query", "GET /query"], ["GET /query/<locator>"]])
        expect(em.backdoor.count("ContactPointTypeConsent")).toBe(2100)
        const post = em.backdoor.query(
          "ContactPointTypeConsent",
          (r) => r["ContactPointType"] === "MailingAddress"
        )
        expect(post.every((r) => r["PrivacyConsentStatus"] === "OptOut")).toBe(true)
      })
  )

  it.scopedLive("a record failing inside a batch fails its item only; the others are applied", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const [a, b, c] = [person(em), person(em), person(em)]
      em.faults.record({
        object: "ContactPointTypeConsent",
        where: (r) => sameId(r["PartyId"], b.individualId)
      })
      const results = yield* target.push(
        [a, b, c].map((p) => diff({ externalId: p.contactId }, [[EMAIL, "denied"]]))
      )
      expect(results[0]).toEqual(ConsentTarget.applied(a.contactId))
      expect(results[2]).toEqual(ConsentTarget.applied(c.contactId))
      const failed = results[1]
      expect(failed?._tag).toBe("Failed")
      if (failed?._tag === "Failed") {
        expect(failed.error.reason).toBe("Conflict")
        expect(failed.error.code).toBe("UNABLE_TO_LOCK_ROW")
        expect(failed.error.isRetryable).toBe(true)
      }
      expect(consentRecords(em, a.individualId!)).toHaveLength(1)
      expect(consentRecords(em, b.individualId!)).toHaveLength(0)
      // The failed person's checkbox is left alone too: their consent record was not written.
      expect(em.backdoor.get("Contact", a.contactId)?.["HasOptedOutOfEmail"]).toBe(true)
      expect(em.backdoor.get("Contact", b.contactId)?.["HasOptedOutOfEmail"]).toBe(false)
      expect(em.backdoor.get("Contact", c.contactId)?.["HasOptedOutOfEmail"]).toBe(true)
    })
  )

  it.scopedLive(
    "writes the consent record, its checkbox and Individual flags, and links a new Individual",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em))
        const p = person(em, { FirstName: "Ada", LastName: "Lovelace" }, { individual: false })
        const [r] = yield* target.push([
          diff({ externalId: p.contactId }, [
            [EMAIL, "granted"],
            ["ContactPointTypeConsent:Marketing:Phone", "denied"],
            [PROFILING, "denied"]
          ])
        ])
        expect(r).toEqual(ConsentTarget.applied(p.contactId))
        const contact = em.backdoor.get("Contact", p.contactId)!
        expect(contact["HasOptedOutOfEmail"]).toBe(false)
        expect(contact["DoNotCall"]).toBe(true)
        const individual = em.backdoor.get("Individual", String(contact["IndividualId"]))!
        expect(individual).toMatchObject({
          FirstName: "Ada",
          LastName: "Lovelace",
          HasOptedOutProfiling: true
        })
        const records = consentRecords(em, String(contact["IndividualId"]))
        expect(records.map((x) => [x["ContactPointType"], x["PrivacyConsentStatus"]]).sort()).toEqual([
          ["Email", "OptIn"],
          ["Phone", "OptOut"]
        ])
        const marketing = em.backdoor.query("DataUsePurpose")
        expect(marketing.map((x) => x["Name"])).toEqual(["Marketing"])
        expect(records[0]).toMatchObject({
          Name: "Marketing Email",
          DataUsePurposeId: marketing[0]!["Id"],
          CaptureDate: "2026-03-01T10:00:00.000+0000",
          EffectiveFrom: "2026-03-01T10:00:00.000+0000",
          CaptureSource: "web-form",
          CaptureContactPointType: "Web"
        })
      })
  )

  it.scopedLive("a person known only by e-mail is created once as a Contact with an Individual", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const ref = { identifiers: { email: ["New.Person@Example.test"] } }
      const [first, second] = yield* target.push([
        diff(ref, [[EMAIL, "pending"]]),
        diff(ref, [[PROFILING, "granted"]])
      ])
      expect(first?._tag).toBe("Applied")
      expect(second).toEqual(first)
      const contacts = em.backdoor.query("Contact")
      expect(contacts).toHaveLength(1)
      expect(contacts[0]).toMatchObject({
        LastName: "[not provided]",
        Email: "New.Person@Example.test",
        HasOptedOutOfEmail: true
      })
      const records = consentRecords(em, String(contacts[0]!["IndividualId"]))
      expect(records.map((x) => x["PrivacyConsentStatus"])).toEqual(["OptInPending"])
      // Found, not created again, by any spelling of the address.
      const [third] = yield* target.push([
        diff({ identifiers: { email: ["new.person@example.test"] } }, [[EMAIL, "granted"]])
      ])
      expect(third).toEqual(first)
      expect(em.backdoor.count("Contact")).toBe(1)
      expect(em.backdoor.count("Individual")).toBe(1)
    })
  )

  it.scopedLive("a repeated diff writes nothing", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const p = person(em)
      const d = diff({ externalId: p.contactId }, [
        [EMAIL, "denied"],
        [PROFILING, "denied"]
      ])
      yield* target.push([d])
      em.backdoor.clearRequestLog()
      expect(yield* target.push([d])).toEqual([ConsentTarget.applied(p.contactId)])
      expect(writes(em)).toEqual([])
      expect(em.backdoor.requestLog).toHaveLength(1)
    })
  )

  it.scopedLive("a Lead found by e-mail is updated in place; pending on an opt-out flag is rejected", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const lead = em.backdoor.insert("Lead", {
        LastName: "Lead",
        Company: "Acme",
        Email: "lead@example.test"
      })
      const [r, rejected] = yield* target.push([
        diff({ identifiers: { email: ["lead@example.test"] } }, [[EMAIL, "denied"]]),
        diff({ externalId: String(lead["Id"]) }, [[PROFILING, "pending"]])
      ])
      expect(r).toEqual(ConsentTarget.applied(String(lead["Id"])))
      expect(rejected?._tag).toBe("Rejected")
      expect(em.backdoor.count("Contact")).toBe(0)
      const updated = em.backdoor.get("Lead", String(lead["Id"]))!
      expect(updated["HasOptedOutOfEmail"]).toBe(true)
      expect(consentRecords(em, String(updated["IndividualId"]))).toHaveLength(1)
    })
  )
})
