import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Effect, Option, Stream } from "effect"
import { layer, SalesforceConfig } from "../src/index.js"
import { emulator, optionsFor } from "./support/Emulator.js"

describe("record source", () => {
  it.scopedLive("Contacts and Leads as identity records; converted Leads and deletions as deleted", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const contact = em.backdoor.insert("Contact", {
        FirstName: "Ayşe",
        LastName: "Yılmaz",
        Email: "ayse@example.test",
        Phone: "+90 212 000 00 00",
        MobilePhone: "+90 532 000 00 00",
        MailingCity: "İstanbul",
        Birthdate: "1990-05-01"
      })
      const lead = em.backdoor.insert("Lead", {
        LastName: "Lead",
        Company: "Acme",
        Email: "lead@example.test",
        City: "Ankara"
      })
      const converted = em.backdoor.insert("Lead", { LastName: "Old", Company: "Acme" })
      em.backdoor.update("Lead", String(converted["Id"]), { IsConverted: true })
      const source = yield* Effect.provide(ConsentTarget.RecordSourceTag, layer(optionsFor(em)))
      const pages = [...(yield* Stream.runCollect(ConsentTarget.pages(source.pull, Option.none())))]
      const records = pages.flatMap((p) => p.records)
      const byId = new Map(records.map((r) => [r.id, r]))
      expect(byId.get(String(contact["Id"]))).toMatchObject({
        source: "salesforce",
        identifiers: { email: ["ayse@example.test"], phone: ["+90 212 000 00 00", "+90 532 000 00 00"] },
        attributes: { firstName: "Ayşe", lastName: "Yılmaz", city: "İstanbul", birthDate: "1990-05-01" }
      })
      expect(byId.get(String(lead["Id"]))).toMatchObject({ attributes: { company: "Acme", city: "Ankara" } })
      expect(byId.get(String(converted["Id"]))).toEqual({
        source: "salesforce",
        id: String(converted["Id"]),
        deleted: true,
        updatedAt: expect.any(String)
      })
      expect(SalesforceConfig.defaultContactAttributes["city"]).toBe("MailingCity")
    })
  )
})
