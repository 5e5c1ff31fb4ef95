import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Effect, Option } from "effect"
import { make } from "../src/index.js"
import { consentRecords, emulator, optionsFor, person, purpose, sameId } from "./support/Emulator.js"

describe("erase", () => {
  it.scopedLive(
    "sets ShouldForget, scrubs the Individual and deletes the configured objects of the person",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em))
        const p = person(em, { FirstName: "Ada" })
        const ind = p.individualId!
        em.backdoor.update("Individual", ind, {
          FirstName: "Ada",
          LastName: "Lovelace",
          BirthDate: "1815-12-10"
        })
        const twin = em.backdoor.insert("Contact", { LastName: "Lovelace", IndividualId: ind })
        const lead = em.backdoor.insert("Lead", {
          LastName: "Lovelace",
          Company: "Analytical",
          IndividualId: ind
        })
        const consent = em.backdoor.insert("ContactPointTypeConsent", {
          Name: "Marketing Email",
          PartyId: ind,
          DataUsePurposeId: purpose(em, "Marketing"),
          ContactPointType: "Email",
          PrivacyConsentStatus: "OptIn"
        })
        const address = em.backdoor.insert("ContactPointEmail", {
          EmailAddress: "ada@example.test",
          ParentId: ind
        })
        const bystander = person(em)

        expect(yield* target.erase([{ externalId: p.contactId }])).toEqual([ConsentTarget.erased])

        expect(em.backdoor.get("Individual", ind)).toMatchObject({
          ShouldForget: true,
          LastName: "Forgotten",
          FirstName: null,
          BirthDate: null
        })
        for (const [object, id] of [
          ["Contact", p.contactId],
          ["Contact", String(twin["Id"])],
          ["Lead", String(lead["Id"])],
          ["ContactPointTypeConsent", String(consent["Id"])],
          ["ContactPointEmail", String(address["Id"])]
        ] as const) {
          expect(em.backdoor.get(object, id), `${object} ${id}`).toBeUndefined()
          expect(em.backdoor.get(object, id, { includeDeleted: true })?.["IsDeleted"]).toBe(true)
        }
        expect(em.backdoor.get("Contact", bystander.contactId)).toBeDefined()
        expect(yield* target.read([{ externalId: p.contactId }])).toEqual([Option.none()])
        expect(
          yield* target.erase([
            { externalId: p.contactId },
            { identifiers: { email: ["nobody@example.test"] } }
          ])
        ).toEqual([ConsentTarget.absent, ConsentTarget.absent])
      })
  )

  it.scopedLive("the objects to delete are configurable; the Individual can go too", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(
        optionsFor(em, {
          erasure: { delete: ["Contact", "ContactPointTypeConsent", "Individual"], scrubIndividual: false }
        })
      )
      const p = person(em)
      const lead = em.backdoor.insert("Lead", { LastName: "L", Company: "C", IndividualId: p.individualId })
      em.backdoor.insert("ContactPointTypeConsent", {
        Name: "x",
        PartyId: p.individualId,
        PrivacyConsentStatus: "OptOut"
      })
      expect(yield* target.erase([{ externalId: p.contactId }])).toEqual([ConsentTarget.erased])
      const individual = em.backdoor.get("Individual", p.individualId!, { includeDeleted: true })
      expect(individual).toMatchObject({ ShouldForget: true, IsDeleted: true, LastName: "Tester" })
      expect(consentRecords(em, p.individualId!)).toEqual([])
      // Leads were not configured for deletion.
      expect(em.backdoor.get("Lead", String(lead["Id"]))).toBeDefined()
    })
  )

  it.scopedLive("a failure to flag the Individual fails the item and deletes nothing of that person", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const [a, b] = [person(em), person(em)]
      em.faults.record({ object: "Individual", where: (r) => sameId(r["Id"], a.individualId) })
      const [ra, rb] = yield* target.erase([{ externalId: a.contactId }, { externalId: b.contactId }])
      expect(ra?._tag === "Failed" ? ra.error.reason : ra?._tag).toBe("Conflict")
      expect(rb).toEqual(ConsentTarget.erased)
      expect(em.backdoor.get("Contact", a.contactId)).toBeDefined()
      expect(em.backdoor.get("Contact", b.contactId)).toBeUndefined()
    })
  )
})
