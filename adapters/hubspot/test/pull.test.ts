import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Duration, Effect, Option } from "effect"
import { make } from "../src/index.js"
import { callsTo } from "./support/diffs.js"
import { emulator, optionsFor } from "./support/harness.js"

const T0 = Date.parse("2026-03-01T12:00:00.000Z")

// For the big pulls: limits raised on both sides (as with an API limit increase pack), so that the
// test measures the ceiling handling and not the waiting.
const roomy = {
  burstLimit: { max: 100_000, windowMs: 10_000 },
  searchLimit: false
} as const
const roomyBudget = {
  burstBudget: { max: 90_000, windowMs: 10_000 },
  searchBudget: { max: 10_000, windowMs: 1_000 }
} as const

/** Every record and change pulled from the start, page by page, with the number of pages. */
const drain = (target: ConsentTarget.ConsentTarget, from: Option.Option<string> = Option.none()) =>
  ConsentTarget.pullAll(target, from)

describe("pull", () => {
  it.scopedLive(
    "more than 10,000 contacts changed in one millisecond are each pulled exactly once",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator({ ...roomy, now: T0 })
        const { target } = yield* make(optionsFor(em, roomyBudget))
        const n = 10_500
        for (let i = 0; i < n; i++)
          em.backdoor.upsertContact({ email: `bulk${i}@example.com` }, { modifiedAt: T0 })
        // Some of them with consent, so that pages carry changes too.
        for (let i = 0; i < n; i += 1000)
          em.backdoor.setSubscription(`bulk${i}@example.com`, 1001, "SUBSCRIBED", { at: T0 })
        const { records, changes } = yield* drain(target)
        const seen = new Map<string, number>()
        for (const r of records) seen.set(r.id, (seen.get(r.id) ?? 0) + 1)
        expect(seen.size).toBe(n)
        expect([...seen.values()].every((k) => k === 1)).toBe(true)
        expect(changes.filter((c) => c.status === "granted")).toHaveLength(Math.ceil(n / 1000))
        // No query ever paged: the ceiling was never reached, let alone passed.
        const searches = callsTo(em.backdoor.requestLog, "/contacts/search")
        expect(searches.every((e) => e.status === 200)).toBe(true)
      }),
    60_000
  )

  it.scopedLive(
    "more than 10,000 contacts changed over time, with shared milliseconds, are each pulled exactly once",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator({ ...roomy, now: T0 })
        const { source } = yield* make(optionsFor(em, roomyBudget))
        const n = 10_500
        // Seven contacts per millisecond, written in an order unrelated to their ids.
        for (let i = 0; i < n; i++) {
          const k = (i * 7919) % n
          em.backdoor.upsertContact(
            { email: `spread${k}@example.com` },
            { modifiedAt: T0 - 60_000 + Math.floor(k / 7) }
          )
        }
        const seen = new Map<string, number>()
        let cursor = Option.none<string>()
        let pages = 0
        for (;;) {
          const page = yield* source.pull(cursor)
          pages++
          for (const r of page.records) seen.set(r.id, (seen.get(r.id) ?? 0) + 1)
          cursor = Option.some(page.cursor)
          if (!page.hasMore) break
        }
        expect(seen.size).toBe(n)
        expect([...seen.values()].every((k) => k === 1)).toBe(true)
        expect(pages).toBeGreaterThanOrEqual(n / 200)
      }),
    60_000
  )

  it.scopedLive("changes made while a pull pages through are pulled too, none lost", () =>
    Effect.gen(function* () {
      // The emulator's clock is frozen: its per-second search window would never pass.
      const em = yield* emulator({ now: T0, searchLimit: false })
      const { target } = yield* make(optionsFor(em, { ...roomyBudget, pullPageSize: 10 }))
      const emails = Array.from({ length: 35 }, (_, i) => `live${i}@example.com`)
      emails.forEach((email, i) => {
        em.backdoor.upsertContact({ email }, { modifiedAt: T0 - 1000 + i })
      })
      const first = yield* target.pull(Option.none())
      expect(first.hasMore).toBe(true)
      // One contact already delivered and one not yet delivered both change now.
      em.backdoor.setSubscription(emails[0]!, 1001, "UNSUBSCRIBED", { at: T0 })
      em.backdoor.setSubscription(emails[30]!, 1003, "SUBSCRIBED", { at: T0 })
      const rest = yield* drain(target, Option.some(first.cursor))
      const ids = new Set([...first.records, ...rest.records].map((r) => r.id))
      expect(ids.size).toBe(35)
      const byEmail = (email: string) => em.backdoor.findByEmail(email)!.id
      expect(rest.changes).toContainEqual(
        expect.objectContaining({ externalId: byEmail(emails[0]!), field: "1001", status: "denied" })
      )
      expect(rest.changes).toContainEqual(
        expect.objectContaining({ externalId: byEmail(emails[30]!), field: "1003", status: "granted" })
      )
    })
  )

  it.scopedLive("pulled changes carry the status time, the identifiers, and nothing for NOT_SPECIFIED", () =>
    Effect.gen(function* () {
      const em = yield* emulator({ now: T0 })
      const { target } = yield* make(optionsFor(em))
      const c = em.backdoor.upsertContact({
        email: "ada@example.com",
        firstname: "Ada",
        phone: "+44 20 7946 0000"
      })
      em.backdoor.setSubscription("ada@example.com", 1001, "SUBSCRIBED", { at: "2026-02-01T00:00:00.000Z" })
      em.backdoor.setSubscription("ada@example.com", 1003, "NOT_SPECIFIED", {
        at: "2026-02-02T00:00:00.000Z"
      })
      em.backdoor.upsertContact({}, { id: c.id, modifiedAt: T0 })
      const { changes, records } = yield* drain(target)
      expect(changes).toEqual([
        {
          externalId: c.id,
          identifiers: { email: ["ada@example.com"], phone: ["+44 20 7946 0000"] },
          field: "1001",
          status: "granted",
          modifiedAt: "2026-02-01T00:00:00.000Z"
        }
      ])
      expect(records).toEqual([
        expect.objectContaining({ source: "hubspot", id: c.id, attributes: { firstName: "Ada" } })
      ])
    })
  )

  it.scopedLive("a contact modified within pullSettle waits until it has settled", () =>
    Effect.gen(function* () {
      // The emulator follows wall time here, as HubSpot does.
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em, { pullSettle: Duration.millis(300) }))
      const c = em.backdoor.upsertContact({ email: "fresh@example.com" })
      const early = yield* drain(target)
      expect(early.records.map((r) => r.id)).not.toContain(c.id)
      yield* Effect.sleep(Duration.millis(350))
      const later = yield* drain(target, Option.some(early.cursor))
      expect(later.records.map((r) => r.id)).toContain(c.id)
    })
  )

  it.scopedLive("a cursor the adapter did not issue fails with Invalid", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target, source } = yield* make(optionsFor(em))
      for (const bad of [
        "",
        "nope",
        "hs1.e30",
        "hs1.!!!",
        `hs1.${Buffer.from('{"t":-1,"id":0}').toString("base64url")}`
      ]) {
        const e = yield* Effect.flip(target.pull(Option.some(bad)))
        expect(e.reason).toBe("Invalid")
        expect((yield* Effect.flip(source.pull(Option.some(bad)))).reason).toBe("Invalid")
      }
    })
  )
})
