import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Effect, Option, Stream } from "effect"
import { make } from "../src/index.js"
import { type Emulator, calls, carried, emulator, optionsFor, person, purpose } from "./support/Emulator.js"

const EMAIL = "ContactPointTypeConsent:Marketing:Email"

const optIn = (em: Emulator, individualId: string, status = "OptIn", captureDate = "2026-02-01T09:00:00Z") =>
  em.backdoor.insert("ContactPointTypeConsent", {
    Name: "Marketing Email",
    PartyId: individualId,
    DataUsePurposeId: purpose(em, "Marketing"),
    ContactPointType: "Email",
    PrivacyConsentStatus: status,
    CaptureDate: captureDate
  })

const drainSource = (source: ConsentTarget.RecordSource, from: Option.Option<string>) =>
  Effect.map(Stream.runCollect(ConsentTarget.pages(source.pull, from)), (chunk) => ({
    records: [...chunk].flatMap((p) => p.records),
    cursor: [...chunk].at(-1)?.cursor ?? ""
  }))

const pagesOf = (target: ConsentTarget.ConsentTarget, from: Option.Option<string>) =>
  Effect.map(Stream.runCollect(ConsentTarget.pages(target.pull, from)), (chunk) => [...chunk])

describe("pull", () => {
  it.scopedLive("pages through 2,100 changed consent records with queryMore; each comes once", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em, { objects: ["Contact"] }))
      // All in one second, as a bulk load would stamp them: the cursor must page by Id within it.
      em.clock.set(new Date(Math.floor(Date.now() / 1000) * 1000))
      const ids = Array.from({ length: 2100 }, (_, i) => {
        const p = person(em)
        optIn(em, p.individualId!, i % 2 === 0 ? "OptIn" : "OptOut")
        return p.contactId
      })
      em.clock.resume()
      em.backdoor.clearRequestLog()
      const pages = yield* pagesOf(target, Option.none())
      expect(pages.length).toBe(2)
      expect(pages[0]!.hasMore).toBe(true)
      const changes = pages.flatMap((p) => p.changes.filter((c) => c.field === EMAIL))
      expect(changes).toHaveLength(2100)
      expect(new Set(changes.map((c) => c.externalId))).toEqual(new Set(ids))
      expect(changes.filter((c) => c.status === "granted")).toHaveLength(1050)
      expect(changes[0]).toMatchObject({ modifiedAt: "2026-02-01T09:00:00.000Z" })
      expect(pages.flatMap((p) => p.records)).toHaveLength(2100)
      // The second page continued each query through its locator.
      expect(calls(em, "GET", /\/query\/01g/).length).toBeGreaterThanOrEqual(2)
      // Nothing new after the last page.
      const rest = yield* target.pull(Option.some(pages[pages.length - 1]!.cursor))
      expect(rest.changes).toEqual([])
      expect(rest.hasMore).toBe(false)
    })
  )

  it.scopedLive("smaller pages: every page moves the cursor and nothing is lost or repeated", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em, { objects: ["Contact"], pageSize: 200 }))
      const ids = Array.from({ length: 450 }, () => {
        const p = person(em)
        optIn(em, p.individualId!)
        return p.contactId
      })
      const pages = yield* pagesOf(target, Option.none())
      expect(pages.length).toBe(3)
      const seen = pages.flatMap((p) => p.changes.map((c) => c.externalId))
      expect(seen.sort()).toEqual([...ids].sort())
      expect(new Set(pages.map((p) => p.cursor)).size).toBe(3)
    })
  )

  it.scopedLive(
    "deleted Contacts and Leads are pulled as deleted records, from queryAll and from getDeleted",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target, source } = yield* make(optionsFor(em))
        // A frozen clock half a minute into a minute, so that the deletion below falls into a window
        // getDeleted covers but the query stream has passed.
        const minute = Math.floor(Date.now() / 60_000) * 60_000
        em.clock.set(minute + 30_000)
        const kept = person(em)
        const gone = person(em)
        const lead = em.backdoor.insert("Lead", { LastName: "L", Company: "C", Email: "lead@example.test" })
        const first = yield* ConsentTarget.pullAll(target, Option.none())
        expect(first.records.map((r) => r.id).sort()).toEqual(
          [kept.contactId, gone.contactId, String(lead["Id"])].sort()
        )
        const sourced = yield* drainSource(source, Option.none())

        // Deleted now: the query stream (queryAll) reports it at once.
        em.backdoor.delete("Lead", String(lead["Id"]))
        // Deleted (as stamped) before the stream's position: only getDeleted can report it.
        em.backdoor.delete("Contact", gone.contactId, { at: minute + 10_000 })
        em.clock.advance(60_000)
        em.backdoor.clearRequestLog()
        const next = yield* ConsentTarget.pullAll(target, Option.some(first.cursor))
        const deleted = next.records.filter((r) => r.deleted === true)
        expect(deleted.map((r) => r.id).sort()).toEqual([gone.contactId, String(lead["Id"])].sort())
        for (const r of deleted) {
          expect(r.identifiers).toBeUndefined()
          expect(r.attributes).toBeUndefined()
        }
        expect(calls(em, "GET", "/sobjects/Contact/deleted")).toHaveLength(1)
        expect(calls(em, "GET", "/sobjects/Lead/deleted")).toHaveLength(1)
        // The record source sees the same deletions.
        const fromSource = yield* drainSource(source, Option.some(sourced.cursor))
        expect(
          fromSource.records
            .filter((r) => r.deleted === true)
            .map((r) => r.id)
            .sort()
        ).toEqual([gone.contactId, String(lead["Id"])].sort())
        em.clock.resume()
      })
  )

  it.scopedLive(
    "checkboxes and Individual flags that are set are pulled as denied; clear ones as nothing",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em))
        const a = person(em, { HasOptedOutOfEmail: true, LastModifiedDate: "2026-01-05T00:00:00Z" })
        const b = person(em, { HasOptedOutOfEmail: true })
        optIn(em, b.individualId!, "OptOut", "2026-01-03T00:00:00Z")
        const c = person(em, { DoNotCall: false })
        em.backdoor.update("Individual", c.individualId!, {
          HasOptedOutProfiling: true,
          LastModifiedDate: "2026-01-07T00:00:00Z"
        })
        const { changes } = yield* ConsentTarget.pullAll(target, Option.none())
        const mine = (id: string) =>
          changes.filter((x) => x.externalId === id).map((x) => [x.field, x.status, x.modifiedAt])
        expect(mine(a.contactId)).toEqual([[EMAIL, "denied", "2026-01-05T00:00:00.000Z"]])
        // The consent record already says OptOut: the checkbox adds nothing.
        expect(mine(b.contactId)).toEqual([[EMAIL, "denied", "2026-01-03T00:00:00.000Z"]])
        expect(mine(c.contactId)).toEqual([
          ["Individual.HasOptedOutProfiling", "denied", "2026-01-07T00:00:00.000Z"]
        ])
        expect(changes.find((x) => x.externalId === a.contactId)?.identifiers?.["email"]).toHaveLength(1)
      })
  )

  it.scopedLive(
    "a pull with nothing new is one API call: every stream's query and getDeleted in one Composite",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target, source } = yield* make(optionsFor(em))
        const p = person(em)
        optIn(em, p.individualId!)
        const first = yield* ConsentTarget.pullAll(target, Option.none())
        const sourced = yield* drainSource(source, Option.none())
        em.backdoor.clearRequestLog()
        const idle = yield* target.pull(Option.some(first.cursor))
        expect(idle.changes).toEqual([])
        expect(idle.hasMore).toBe(false)
        expect(em.backdoor.requestLog.filter((r) => r.path.startsWith("/services/data/"))).toHaveLength(1)
        expect(carried(em)).toEqual([
          [
            "GET /query",
            "GET /query",
            "GET /queryAll",
            "GET /queryAll",
            "GET /sobjects/Contact/deleted",
            "GET /sobjects/Lead/deleted"
          ]
        ])
        em.backdoor.clearRequestLog()
        yield* source.pull(Option.some(sourced.cursor))
        expect(carried(em)).toEqual([
          ["GET /queryAll", "GET /queryAll", "GET /sobjects/Contact/deleted", "GET /sobjects/Lead/deleted"]
        ])
      })
  )

  it.scopedLive(
    "a pull with changes: one more request finds the persons of the changed records and the records behind set checkboxes",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em))
        const a = person(em)
        const consent = optIn(em, a.individualId!)
        const b = person(em)
        const first = yield* ConsentTarget.pullAll(target, Option.none())
        em.clock.advance(2_000)
        em.backdoor.update("ContactPointTypeConsent", String(consent["Id"]), {
          PrivacyConsentStatus: "OptOut",
          CaptureDate: "2026-02-02T09:00:00Z"
        })
        em.backdoor.update("Contact", b.contactId, {
          HasOptedOutOfEmail: true,
          LastModifiedDate: "2026-02-03T09:00:00Z"
        })
        em.backdoor.clearRequestLog()
        const page = yield* target.pull(Option.some(first.cursor))
        expect(page.changes.map((c) => [c.externalId, c.field, c.status, c.modifiedAt]).sort()).toEqual(
          [
            [a.contactId, EMAIL, "denied", "2026-02-02T09:00:00.000Z"],
            [b.contactId, EMAIL, "denied", "2026-02-03T09:00:00.000Z"]
          ].sort()
        )
        expect(carried(em)).toEqual([
          [
            "GET /query",
            "GET /query",
            "GET /queryAll",
            "GET /queryAll",
            "GET /sobjects/Contact/deleted",
            "GET /sobjects/Lead/deleted"
          ],
          ["GET /query", "GET /query", "GET /query"]
        ])
        expect(em.backdoor.requestLog.filter((r) => r.path.startsWith("/services/data/"))).toHaveLength(2)
        em.clock.resume()
      })
  )

  it.scopedLive("a getDeleted window older than what the org still keeps is narrowed, not fatal", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const now = Date.now()
      em.clock.set(now - 16 * 24 * 3600 * 1000 + 30_000)
      const kept = person(em)
      const purged = person(em)
      const first = yield* ConsentTarget.pullAll(target, Option.none())
      em.backdoor.delete("Contact", purged.contactId)
      // Sixteen days on: that deletion left the recycle bin, and getDeleted refuses the old window.
      em.clock.set(now)
      em.backdoor.delete("Contact", kept.contactId)
      em.clock.advance(60_000)
      em.backdoor.clearRequestLog()
      const next = yield* ConsentTarget.pullAll(target, Option.some(first.cursor))
      expect(next.records.filter((r) => r.deleted === true).map((r) => r.id)).toEqual([kept.contactId])
      expect(calls(em, "GET", "/sobjects/Contact/deleted").map((r) => r.status)).toEqual([400, 200])
      em.clock.resume()
    })
  )

  it.scopedLive("a cursor it did not issue is Invalid; the target's cursor does not resume the source", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target, source } = yield* make(optionsFor(em))
      expect(yield* Effect.flip(target.pull(Option.some("m1.3")))).toMatchObject({
        reason: "Invalid",
        code: "CURSOR"
      })
      expect(yield* Effect.flip(target.pull(Option.some("sf1.bm9wZQ")))).toMatchObject({ reason: "Invalid" })
      const altered = `sf1.${Buffer.from(JSON.stringify({ k: "target", s: { consent: { t: 1e300 } }, d: {} })).toString("base64url")}`
      expect(yield* Effect.flip(target.pull(Option.some(altered)))).toMatchObject({
        reason: "Invalid",
        code: "CURSOR"
      })
      const page = yield* target.pull(Option.none())
      expect(yield* Effect.flip(source.pull(Option.some(page.cursor)))).toMatchObject({ reason: "Invalid" })
    })
  )
})
