import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import { Audit, DataSubject, IdentityResolver, ProfileStore, type SourceRecord } from "../src/index.js"

type Rec = SourceRecord.SourceRecord

const ayse: ReadonlyArray<Rec> = [
  {
    source: "crm",
    id: "c1",
    updatedAt: "2025-01-01T00:00:00Z",
    identifiers: { email: ["ayse.yilmaz@gmail.com"], phone: ["+90 532 111 22 33"] },
    attributes: { firstName: "Ayşe", lastName: "Yılmaz", birthDate: "1990-04-01", city: "İstanbul" },
    consents: [
      {
        purpose: "marketing",
        channel: "email",
        status: "granted",
        capturedAt: "2025-01-01T00:00:00Z",
        legalBasis: "consent"
      }
    ]
  },
  {
    source: "shop",
    id: "s7",
    updatedAt: "2025-02-01T00:00:00Z",
    identifiers: { email: ["Ayse.Yilmaz+shop@googlemail.com"] },
    attributes: { firstName: "Ayse", lastName: "Yilmaz", city: "Istanbul" }
  }
]
const other: Rec = {
  source: "crm",
  id: "c2",
  identifiers: { email: ["someone@example.org"] },
  attributes: { firstName: "Jon", lastName: "Berg" }
}
const who = { actor: "person", at: "2025-06-01T12:00:00Z" }

const setup = Effect.gen(function* () {
  const resolver = yield* IdentityResolver.IdentityResolver
  yield* resolver.ingest([...ayse, other])
  return yield* resolver.profileIdOf({ source: "crm", id: "c1" })
})

const provide = <A, E>(
  e: Effect.Effect<A, E, IdentityResolver.IdentityResolver | ProfileStore.ProfileStore>
) => e.pipe(Effect.provide(IdentityResolver.layerMemory()))

describe("DataSubject", () => {
  it.effect("access and portability: the whole profile as one documented JSON document", () =>
    provide(
      Effect.gen(function* () {
        const id = yield* setup
        const doc = yield* DataSubject.access(id, who)
        expect(doc.schema).toBe(DataSubject.exportSchema)
        expect(doc.records).toHaveLength(2)
        expect(doc.systems).toEqual([
          { system: "crm", records: ["c1"] },
          { system: "shop", records: ["s7"] }
        ])
        expect(doc.attributes["firstName"]).toMatchObject({ value: "Ayse", source: "shop", id: "s7" })
        expect(doc.consent.state["marketing/email"]).toMatchObject({ status: "granted", source: "crm" })
        expect(doc.consent.history).toHaveLength(1)
        expect(doc.consent.flags.restricted).toBe(false)
        // It round-trips as JSON (portability).
        expect(JSON.parse(JSON.stringify(doc))).toEqual(doc)
      })
    )
  )

  it.effect("rectification outranks every source from then on and lists the systems to update", () =>
    provide(
      Effect.gen(function* () {
        const id = yield* setup
        const r = yield* DataSubject.rectify(id, { attribute: "city", value: "Ankara" }, who)
        expect(r.updates).toEqual([
          { system: "crm", record: "c1", attribute: "city" },
          { system: "shop", record: "s7", attribute: "city" }
        ])
        const resolver = yield* IdentityResolver.IdentityResolver
        yield* resolver.ingest([
          {
            ...ayse[1]!,
            updatedAt: "2025-09-01T00:00:00Z",
            attributes: { ...ayse[1]!.attributes, city: "Izmir" }
          }
        ])
        const p = yield* resolver.profile(id)
        expect(p.attributes["city"]).toMatchObject({
          value: "Ankara",
          policy: "rectified",
          source: "rectification"
        })
      })
    )
  )

  it.effect(
    "erasure removes the person, returns a task per system, and re-ingesting does not bring them back",
    () =>
      provide(
        Effect.gen(function* () {
          const id = yield* setup
          const store = yield* ProfileStore.ProfileStore
          const resolver = yield* IdentityResolver.IdentityResolver
          const result = yield* DataSubject.erase(id, who)
          expect(result.tasks).toEqual([
            { system: "crm", records: ["c1"] },
            { system: "shop", records: ["s7"] }
          ])
          expect(result.tombstones).toBeGreaterThanOrEqual(4)
          expect(Either.isLeft(yield* Effect.either(resolver.profile(id)))).toBe(true)
          // Re-ingesting the same records, and a new record carrying one of the erased e-mails, is suppressed.
          const again = yield* resolver.ingest([
            ...ayse,
            { source: "app", id: "new", identifiers: { email: ["ayseyilmaz@gmail.com"] } }
          ])
          expect(again.suppressed).toBe(3)
          expect(again.created).toBe(0)
          const left = yield* Stream.runCollect(store.profiles)
          expect([...left].map((p) => p.records.map((r) => r.id))).toEqual([["c2"]])
          // Nothing personal remains in what the store shows, the audit log included.
          const everything = JSON.stringify({ left: [...left], audit: yield* store.auditEntries })
          for (const pii of ["yilmaz", "Yılmaz", "ayse", "532", "İstanbul"])
            expect(everything).not.toContain(pii)
          // Someone else is unaffected.
          expect(yield* resolver.profileIdOf({ source: "crm", id: "c2" })).toBeTypeOf("string")
        })
      )
  )

  it.effect("restriction, objection and the profiling opt-out are ledger events that can be lifted", () =>
    provide(
      Effect.gen(function* () {
        const id = yield* setup
        yield* DataSubject.flag(id, { kind: "restriction", set: true }, who)
        yield* DataSubject.flag(id, { kind: "objection", purpose: "marketing", set: true }, who)
        yield* DataSubject.flag(id, { kind: "noAutomatedDecisions", set: true }, who)
        let doc = yield* DataSubject.access(id, who)
        expect(doc.consent.flags).toMatchObject({
          restricted: true,
          objections: ["marketing"],
          noAutomatedDecisions: true
        })
        yield* DataSubject.flag(
          id,
          { kind: "restriction", set: false },
          { actor: "person", at: "2025-07-01T00:00:00Z" }
        )
        doc = yield* DataSubject.access(id, { actor: "person", at: "2025-07-02T00:00:00Z" })
        expect(doc.consent.flags.restricted).toBe(false)
      })
    )
  )

  it.effect(
    "a preference-center choice is newest-wins with the records' events, has a receipt, and stays with the profile id",
    () =>
      provide(
        Effect.gen(function* () {
          const id = yield* setup
          const { event, receipt } = yield* DataSubject.choose(
            id,
            {
              purpose: "marketing",
              channel: "email",
              status: "withdrawn",
              legalBasis: "consent",
              policyVersion: "v3"
            },
            who
          )
          expect(event.source).toBe("preference-center")
          expect(receipt.piiPrincipalId).toBe(id)
          const resolver = yield* IdentityResolver.IdentityResolver
          const p = yield* resolver.profile(id)
          expect(p.consent["marketing/email"]).toEqual({
            status: "withdrawn",
            capturedAt: who.at,
            source: "preference-center"
          })
          // A bad choice is refused with a located error.
          const bad = yield* Effect.either(
            DataSubject.choose(
              id,
              {
                purpose: "marketing",
                channel: "carrier-pigeon" as "email",
                status: "granted",
                legalBasis: "consent"
              },
              who
            )
          )
          expect(Either.isLeft(bad)).toBe(true)
        })
      )
  )

  it.effect(
    "every request is in the hash-chained audit log, which verifies, and a changed entry is detected",
    () =>
      provide(
        Effect.gen(function* () {
          const id = yield* setup
          yield* DataSubject.access(id, who)
          yield* DataSubject.rectify(id, { attribute: "city", value: "Ankara" }, who)
          yield* DataSubject.flag(id, { kind: "restriction", set: true }, who)
          const store = yield* ProfileStore.ProfileStore
          const entries = yield* store.auditEntries
          expect(entries.map((e) => e.kind)).toEqual(["request", "request", "consent"])
          expect(Audit.forProfile(entries, id)).toHaveLength(3)
          expect(Audit.verify(entries)).toEqual({ ok: true })
          const tampered = entries.map((e, i) => (i === 1 ? { ...e, actor: "someone else" } : e))
          expect(Audit.verify(tampered).ok).toBe(false)
          expect(JSON.stringify(entries)).not.toContain("Ankara")
        })
      )
  )

  it.effect(
    "profile-level events follow a merge: the absorbed id's choices show on the surviving profile",
    () =>
      provide(
        Effect.gen(function* () {
          const resolver = yield* IdentityResolver.IdentityResolver
          yield* resolver.ingest([ayse[0]!])
          yield* resolver.ingest([{ ...ayse[1]!, identifiers: { email: ["other@x.example"] } }])
          const older = yield* resolver.profileIdOf({ source: "crm", id: "c1" })
          const newer = yield* resolver.profileIdOf({ source: "shop", id: "s7" })
          expect(newer).not.toBe(older)
          yield* DataSubject.choose(
            newer,
            { purpose: "profiling", channel: "any", status: "denied", legalBasis: "consent" },
            who
          )
          // The shop record now shares the crm e-mail: the profiles merge and the older id survives.
          yield* resolver.ingest([{ ...ayse[1]!, updatedAt: "2025-03-01T00:00:00Z" }])
          expect(yield* resolver.profileIdOf({ source: "shop", id: "s7" })).toBe(older)
          const merged = yield* resolver.profile(older)
          expect(merged.consent["profiling/any"]).toMatchObject({
            status: "denied",
            source: "preference-center"
          })
        })
      )
  )
})
