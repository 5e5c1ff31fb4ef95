import { describe, expect, it } from "@effect/vitest"
import { ConsentDiff } from "@living-profile/core"
import { Effect } from "effect"
import { make } from "../src/index.js"
import { callsTo, diffOf } from "./support/diffs.js"
import { emulator, optionsFor } from "./support/harness.js"

const MARKETING = "1001"
const SERVICE = "1003"

describe("push", () => {
  it.scopedLive("101 diffs go out as two status writes of 100 and 1", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const ids = Array.from(
        { length: 101 },
        (_, i) => em.backdoor.upsertContact({ email: `p${i}@example.com` }).id
      )
      em.backdoor.clearRequestLog()
      const results = yield* target.push(
        ids.map((id) => diffOf(target, { externalId: id }, [[MARKETING, "granted"]]))
      )
      expect(results.map((r) => r._tag)).toEqual(ids.map(() => "Applied"))
      const log = em.backdoor.requestLog
      expect(callsTo(log, "/statuses/batch/write")).toHaveLength(2)
      expect(callsTo(log, "/contacts/batch/read")).toHaveLength(2)
      // The second write carries one input: much smaller than the first.
      const [first, second] = callsTo(log, "/statuses/batch/write").map(
        (e) => log.find((x) => x === e) as { bodySize: number }
      )
      expect(second!.bodySize * 50).toBeLessThan(first!.bodySize)
      for (let i = 0; i < 101; i++)
        expect(
          em.backdoor.subscriptions(`p${i}@example.com`).find((s) => s.subscriptionId === MARKETING)?.status
        ).toBe("SUBSCRIBED")
    })
  )

  it.scopedLive("a diff's changes are written with the legal basis of the ledger's event", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(
        optionsFor(em, { legalBasis: { legitimate_interests: "LEGITIMATE_INTEREST_CLIENT" } })
      )
      const bases = ["consent", "contract", "legitimate_interests", "legal_obligation"] as const
      const ids = bases.map((_, i) => em.backdoor.upsertContact({ email: `basis${i}@example.com` }).id)
      const results = yield* target.push(
        ids.map((id, i) =>
          diffOf(
            target,
            { externalId: id },
            [
              [MARKETING, "granted"],
              // A withdrawal reaches HubSpot as the diff maps it for a target that holds no more than granted / denied.
              [SERVICE, ConsentDiff.asHeld(target.mapping, SERVICE, "withdrawn")]
            ],
            { legalBasis: bases[i]!, policyVersion: "privacy-2026-01" }
          )
        )
      )
      expect(results.map((r) => r._tag)).toEqual(["Applied", "Applied", "Applied", "Applied"])
      const held = (i: number, id: string) =>
        em.backdoor.subscriptions(`basis${i}@example.com`).find((s) => s.subscriptionId === id)
      expect(bases.map((_, i) => held(i, MARKETING)?.legalBasis)).toEqual([
        "CONSENT_WITH_NOTICE",
        "PERFORMANCE_OF_CONTRACT",
        "LEGITIMATE_INTEREST_CLIENT",
        undefined
      ])
      // A withdrawal is held as UNSUBSCRIBED, with the event it came from in the explanation.
      expect(held(0, SERVICE)?.status).toBe("UNSUBSCRIBED")
      expect(held(0, MARKETING)?.legalBasisExplanation).toContain("privacy-2026-01")
      expect(held(0, MARKETING)?.legalBasisExplanation).toMatch(/living-profile consent event event-\d+/)
    })
  )

  it.scopedLive("a 207 is reported item by item: refused items fail, the rest are applied", () =>
    Effect.gen(function* () {
      // With GDPR features on, HubSpot refuses to subscribe without a legal basis; legal obligation has none.
      const em = yield* emulator({ gdpr: true })
      const { target } = yield* make(optionsFor(em))
      const [a, b, c] = ["a", "b", "c"].map(
        (x) => em.backdoor.upsertContact({ email: `${x}@example.com` }).id
      )
      em.backdoor.clearRequestLog()
      const results = yield* target.push([
        diffOf(target, { externalId: a! }, [[MARKETING, "granted"]]),
        diffOf(target, { externalId: b! }, [[MARKETING, "granted"]], { legalBasis: "legal_obligation" }),
        diffOf(target, { externalId: c! }, [[MARKETING, "denied"]], { legalBasis: "legal_obligation" })
      ])
      expect(callsTo(em.backdoor.requestLog, "/statuses/batch/write").map((e) => e.status)).toEqual([207])
      expect(results[0]?._tag).toBe("Applied")
      expect(results[2]?._tag).toBe("Applied")
      const refused = results[1]
      expect(refused?._tag).toBe("Failed")
      if (refused?._tag === "Failed") {
        expect(refused.error.reason).toBe("Invalid")
        expect(refused.error.code).toBe("VALIDATION_ERROR")
        expect(refused.error.isRetryable).toBe(false)
        expect(refused.error.message).not.toContain("b@example.com")
      }
      const status = (x: string) =>
        em.backdoor.subscriptions(`${x}@example.com`).find((s) => s.subscriptionId === MARKETING)?.status
      expect([status("a"), status("b"), status("c")]).toEqual(["SUBSCRIBED", "NOT_SPECIFIED", "UNSUBSCRIBED"])
    })
  )

  it.scopedLive(
    "persons named by e-mail are created once, and one unusable address does not hold the others back",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const hs = yield* make(optionsFor(em))
        const { target } = hs
        // A GDPR delete by an unknown address blocklists it: HubSpot refuses to create a contact for it.
        yield* Effect.promise(() =>
          hs.client.sdk.crm.contacts.basicApi.purge({ objectId: "gone@example.com", idProperty: "email" })
        )
        expect(em.backdoor.isBlocklisted("gone@example.com")).toBe(true)
        const refs = ["New.One@Example.com", "gone@example.com", "new.two@example.com"].map((e) => ({
          identifiers: { email: [e] }
        }))
        const results = yield* target.push(refs.map((ref) => diffOf(target, ref, [[MARKETING, "granted"]])))
        expect(results.map((r) => r._tag)).toEqual(["Applied", "Failed", "Applied"])
        if (results[1]?._tag === "Failed") expect(results[1].error.reason).toBe("Invalid")
        const one = em.backdoor.findByEmail("new.one@example.com")
        expect(results[0]?._tag === "Applied" && results[0].externalId).toBe(one?.id)
        // Pushed again: found, not created a second time.
        const again = yield* target.push([diffOf(target, refs[0]!, [[MARKETING, "denied"]])])
        expect(again[0]?._tag === "Applied" && again[0].externalId).toBe(one?.id)
        expect(
          em.backdoor.contacts().filter((c) => c.properties["email"] === "new.one@example.com")
        ).toHaveLength(1)
      })
  )

  it.scopedLive("a write batch that fails after another went through fails its own items only", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const ids = Array.from(
        { length: 150 },
        (_, i) => em.backdoor.upsertContact({ email: `m${i}@example.com` }).id
      )
      // The first status write goes through; every attempt of the ones after it fails.
      em.faults.rule({ path: /\/statuses\/batch\/write$/, delayMs: 0, times: 1 })
      em.faults.rule({ path: /\/statuses\/batch\/write$/, status: 503 })
      const results = yield* target.push(
        ids.map((id) => diffOf(target, { externalId: id }, [[MARKETING, "granted"]]))
      )
      expect(results.slice(0, 100).every((r) => r._tag === "Applied")).toBe(true)
      expect(results.slice(100).every((r) => r._tag === "Failed" && r.error.reason === "Transport")).toBe(
        true
      )
      expect(em.backdoor.subscriptions("m0@example.com")[0]?.status).toBe("SUBSCRIBED")
      expect(em.backdoor.subscriptions("m149@example.com")[0]?.status).toBe("NOT_SPECIFIED")
    })
  )
})
