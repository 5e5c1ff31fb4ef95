import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget, DataSubject, IdentityResolver } from "@living-profile/core"
import { Effect, Option } from "effect"
import { make } from "../src/index.js"
import { callsTo } from "./support/diffs.js"
import { emulator, optionsFor } from "./support/harness.js"

describe("erasure", () => {
  it.scopedLive("a GDPR delete followed by re-ingest does not bring the person back", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const ada = em.backdoor.upsertContact({
        email: "ada@example.com",
        firstname: "Ada",
        lastname: "Lovelace"
      })
      em.backdoor.upsertContact({ email: "grace@example.com", firstname: "Grace", lastname: "Hopper" })
      em.backdoor.setSubscription("ada@example.com", 1001, "SUBSCRIBED")
      em.clock.advance(1)
      em.backdoor.upsertContact({}, { id: ada.id })

      // Ingest what HubSpot holds, then erase Ada's profile: the erasure task names her HubSpot record.
      const first = yield* ConsentTarget.pullAll(target, Option.none())
      const resolver = yield* IdentityResolver.IdentityResolver
      expect((yield* resolver.ingest(first.records)).created).toBe(2)
      const profileId = yield* resolver.profileIdOf({ source: "hubspot", id: ada.id })
      const erasure = yield* DataSubject.erase(profileId, { actor: "dpo@company.test" })
      expect(erasure.tasks).toEqual([{ system: "hubspot", records: [ada.id] }])

      // The task, carried out through the target: a GDPR delete by record id.
      em.backdoor.clearRequestLog()
      const refs = erasure.tasks.flatMap((t) => t.records.map((externalId) => ({ externalId })))
      expect(yield* target.erase(refs)).toEqual([{ _tag: "Erased" }])
      expect(callsTo(em.backdoor.requestLog, "/contacts/gdpr-delete")).toHaveLength(1)
      expect(em.backdoor.contact(ada.id)).toBeUndefined()
      expect(em.backdoor.subscriptions("ada@example.com").every((s) => s.status === "NOT_SPECIFIED")).toBe(
        true
      )
      // Erasing by record id does not blocklist the address in HubSpot.
      expect(em.backdoor.isBlocklisted("ada@example.com")).toBe(false)
      expect(yield* target.erase(refs)).toEqual([{ _tag: "Absent" }])

      // A full re-pull no longer has her; replaying the pages pulled before (as after a crash) is suppressed.
      const again = yield* ConsentTarget.pullAll(target, Option.none())
      expect(again.records.map((r) => r.id)).not.toContain(ada.id)
      expect(again.changes.map((c) => c.externalId)).not.toContain(ada.id)
      const replay = yield* resolver.ingest(first.records.filter((r) => r.id === ada.id))
      expect(replay.suppressed).toBe(1)

      // Someone adds her address to HubSpot again: the new contact is suppressed too, by identifier.
      const back = em.backdoor.upsertContact({ email: "ada@example.com", firstname: "Ada" })
      const later = yield* ConsentTarget.pullAll(target, Option.some(again.cursor))
      expect(later.records.map((r) => r.id)).toEqual([back.id])
      const reingest = yield* resolver.ingest(later.records)
      expect(reingest.suppressed).toBe(1)
      expect(reingest.created).toBe(0)
      expect(
        Option.isNone(yield* Effect.option(resolver.profileIdOf({ source: "hubspot", id: back.id })))
      ).toBe(true)
    }).pipe(Effect.provide(IdentityResolver.layerMemory()))
  )

  it.scopedLive("erasing by e-mail finds the contact first and never blocklists an unknown address", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const c = em.backdoor.upsertContact({ email: "known@example.com" })
      const results = yield* target.erase([
        { identifiers: { email: ["Known@Example.com"] } },
        { identifiers: { email: ["stranger@example.com"] } }
      ])
      expect(results).toEqual([{ _tag: "Erased" }, { _tag: "Absent" }])
      expect(em.backdoor.contact(c.id)).toBeUndefined()
      expect(em.backdoor.isBlocklisted("stranger@example.com")).toBe(false)
    })
  )
})
