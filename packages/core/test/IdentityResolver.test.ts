import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import fc from "fast-check"
import {
  IdentityResolver,
  ProfileEvent,
  ProfileStore,
  ResolverConfig,
  type SourceRecord
} from "../src/index.js"

type Rec = SourceRecord.SourceRecord

const rec = (
  source: string,
  id: string,
  attributes: Record<string, string>,
  identifiers: Record<string, Array<string>> = {},
  updatedAt = "2025-01-01T00:00:00Z"
): Rec => ({ source, id, updatedAt, attributes, identifiers })

/** Partition as sorted groups of "source/id", independent of profile ids and order. */
const partitionOf = (store: ProfileStore.ProfileStore["Type"]): Effect.Effect<Array<string>> =>
  Stream.runCollect(store.profiles).pipe(
    Effect.map((c) =>
      [...c]
        .map((p) =>
          p.records
            .map((r) => `${r.source}/${r.id}`)
            .sort()
            .join(" ")
        )
        .sort()
    ),
    Effect.orDie
  )

const resolveAll = (records: ReadonlyArray<Rec>, config = ResolverConfig.defaults) =>
  Effect.gen(function* () {
    const store = ProfileStore.makeMemory(config)
    yield* store.write({ upserts: records })
    return yield* partitionOf(store)
  })

const ayse = [
  rec(
    "shop",
    "42",
    { firstName: "Ayşe", lastName: "Yılmaz", birthDate: "1990-04-01", postcode: "34000", country: "TR" },
    { email: ["Ayse.Yilmaz@Gmail.com"], phone: ["0532 111 22 33"] }
  ),
  rec("newsletter", "n1", { firstName: "Ayse" }, { email: ["ayseyilmaz+news@googlemail.com"] }),
  rec(
    "support",
    "s9",
    { firstName: "AYSE", lastName: "YILMAZ", country: "TR" },
    { phone: ["+90 532 111 2233"] }
  ),
  rec("crm", "c1", { firstName: "Ayse", lastName: "Yilmaz", birthDate: "1990-04-01", postcode: "34000" })
]

const household = [
  rec(
    "crm",
    "h1",
    {
      firstName: "Mehmet",
      lastName: "Demir",
      birthDate: "1970-02-03",
      street: "Atatürk Cd. 12",
      postcode: "06100"
    },
    { email: ["demir.aile@gmail.com"] }
  ),
  rec(
    "crm",
    "h2",
    {
      firstName: "Zeynep",
      lastName: "Demir",
      birthDate: "1974-09-21",
      street: "Ataturk Caddesi 12",
      postcode: "06100"
    },
    { email: ["demir.aile@gmail.com"] }
  ),
  rec("newsletter", "h3", {}, { email: ["demiraile@gmail.com"] })
]

const namesakes = [
  rec("crm", "m1", {
    firstName: "John",
    lastName: "Smith",
    birthDate: "1980-01-01",
    city: "Leeds",
    postcode: "LS1 4AP"
  }),
  rec("shop", "m2", {
    firstName: "John",
    lastName: "Smith",
    birthDate: "1962-07-30",
    city: "Bristol",
    postcode: "BS1 5TR"
  })
]

const junk = ["Alice Brown", "Bob Green", "Carol White"].map((n, i) =>
  rec(
    "shop",
    `j${i}`,
    { firstName: n.split(" ")[0]!, lastName: n.split(" ")[1]!, birthDate: `198${i}-0${i + 1}-1${i}` },
    {
      email: ["info@acme-shop.com"]
    }
  )
)

describe("IdentityResolver", () => {
  it.effect("merges a person's records across sources through normalised identifiers and fuzzy names", () =>
    Effect.gen(function* () {
      const partition = yield* resolveAll(ayse)
      expect(partition).toEqual(["crm/c1 newsletter/n1 shop/42 support/s9"])
    })
  )

  it.effect(
    "keeps a household sharing a family e-mail apart, and does not glue a bare e-mail record to either",
    () =>
      Effect.gen(function* () {
        const partition = yield* resolveAll(household)
        expect(partition).toEqual(["crm/h1", "crm/h2", "newsletter/h3"])
      })
  )

  it.effect("keeps namesakes with different birth dates and cities apart", () =>
    Effect.gen(function* () {
      expect(yield* resolveAll(namesakes)).toEqual(["crm/m1", "shop/m2"])
    })
  )

  it.effect("does not let a shared junk identifier glue different people", () =>
    Effect.gen(function* () {
      expect(yield* resolveAll(junk)).toEqual(["shop/j0", "shop/j1", "shop/j2"])
    })
  )

  it.effect("vetoes a shared identifier when first names and birth dates both differ", () =>
    Effect.gen(function* () {
      const a = rec(
        "crm",
        "v1",
        { firstName: "Peter", lastName: "Ng", birthDate: "1950-01-01", country: "GB" },
        { phone: ["+44 7911 123555"] }
      )
      const b = rec(
        "app",
        "v2",
        { firstName: "Susan", lastName: "Ng", birthDate: "1988-11-12", country: "GB" },
        { phone: ["07911 123555"] }
      )
      const c = rec(
        "app",
        "v3",
        { firstName: "Peter", lastName: "Ng", country: "GB" },
        { phone: ["07911123555"] }
      )
      expect(yield* resolveAll([a, b])).toEqual(["app/v2", "crm/v1"])
      // Alone with Peter, the phone links; once Susan shares it, it is ambiguous and links nobody by itself.
      expect(yield* resolveAll([a, c])).toEqual(["app/v3 crm/v1"])
      expect(yield* resolveAll([a, b, c])).toEqual(["app/v2", "app/v3", "crm/v1"])
    })
  )

  it.effect("merges swapped first and last names and day/month swapped birth dates", () =>
    Effect.gen(function* () {
      const a = rec("crm", "x1", {
        firstName: "Emma",
        lastName: "Watson",
        birthDate: "1990-03-07",
        postcode: "OX1 2JD"
      })
      const b = rec("shop", "x2", { firstName: "Watson", lastName: "Emma", birthDate: "1990-07-03" })
      expect(yield* resolveAll([a, b])).toEqual(["crm/x1 shop/x2"])
    })
  )

  it.effect(
    "keeps the oldest profile id on merge, resolves the absorbed id as an alias, and emits typed events",
    () =>
      Effect.gen(function* () {
        const store = ProfileStore.makeMemory()
        const first = yield* store.write({ upserts: [ayse[0]!] })
        const second = yield* store.write({
          upserts: [ayse[2]!.identifiers ? { ...ayse[2]!, identifiers: {} } : ayse[2]!]
        })
        expect(first.events.map((e) => e._tag)).toEqual(["ProfileCreated"])
        expect(second.events.map((e) => e._tag)).toEqual(["ProfileCreated"])
        const p1 = (first.events[0] as Extract<ProfileEvent.ProfileEvent, { _tag: "ProfileCreated" }>)
          .profileId
        const p2 = (second.events[0] as Extract<ProfileEvent.ProfileEvent, { _tag: "ProfileCreated" }>)
          .profileId
        // The bridging record links both (same phone as support/s9, same e-mail as shop/42).
        const bridge = rec(
          "app",
          "b1",
          { firstName: "Ayşe", lastName: "Yılmaz" },
          {
            email: ["ayse.yilmaz@gmail.com"],
            phone: ["+905321112233"]
          }
        )
        const supportWithPhone = ayse[2]!
        const third = yield* store.write({ upserts: [supportWithPhone, bridge] })
        const tags = third.events.map((e) => e._tag)
        expect(tags).toContain("ProfileMerged")
        const merged = third.events.find(ProfileEvent.ProfileEvent.$is("ProfileMerged"))!
        expect(merged.profileId).toBe(p1)
        expect(merged.absorbed).toBe(p2)
        const viaAlias = yield* store.profile(p2)
        expect(viaAlias._tag).toBe("Some")
        if (viaAlias._tag === "Some") expect(viaAlias.value.profileId).toBe(p1)
      })
  )

  it.effect("un-merges: removing the record that bridged two people splits the profile", () =>
    Effect.gen(function* () {
      const store = ProfileStore.makeMemory()
      const a = rec("crm", "a", { firstName: "Lena", lastName: "Berg" }, { email: ["lena@example.org"] })
      const b = rec(
        "shop",
        "b",
        { firstName: "Lena", lastName: "Berg" },
        { email: ["lena@example.org"], phone: ["+49 151 23456789"] }
      )
      const c = rec(
        "app",
        "c",
        { firstName: "Lena", lastName: "Berg", country: "DE" },
        { phone: ["0151 23456789"] }
      )
      const d = rec(
        "app",
        "d",
        { firstName: "Lena", lastName: "Berg", country: "DE" },
        { phone: ["0151 23456789"] }
      )
      yield* store.write({ upserts: [a, b, c, d] })
      expect(yield* partitionOf(store)).toEqual(["app/c app/d crm/a shop/b"])
      const before = yield* store.profileIdOf({ source: "crm", id: "a" })
      const removal = yield* store.write({ removes: [{ source: "shop", id: "b" }] })
      expect(yield* partitionOf(store)).toEqual(["app/c app/d", "crm/a"])
      const split = removal.events.find(ProfileEvent.ProfileEvent.$is("ProfileSplit"))
      expect(split).toBeDefined()
      expect(removal.events.some((e) => e._tag === "RecordDetached")).toBe(true)
      // The larger part keeps the id.
      const cId = yield* store.profileIdOf({ source: "app", id: "c" })
      expect(cId).toEqual(before)
      expect(split!.into).toHaveLength(2)
    })
  )

  it.effect(
    "un-merges when an updated record no longer matches, and re-ingesting a record changes nothing",
    () =>
      Effect.gen(function* () {
        const store = ProfileStore.makeMemory()
        const a = rec(
          "crm",
          "1",
          { firstName: "Omar", lastName: "Haddad", birthDate: "1985-05-05" },
          { email: ["omar@h.example"] }
        )
        const b = rec("shop", "2", { firstName: "Omar", lastName: "Haddad" }, { email: ["omar@h.example"] })
        yield* store.write({ upserts: [a, b] })
        expect(yield* partitionOf(store)).toEqual(["crm/1 shop/2"])
        const again = yield* store.write({ upserts: [a, b] })
        expect(again.unchanged).toBe(2)
        expect(again.events).toEqual([])
        const changed = {
          ...b,
          updatedAt: "2025-02-01T00:00:00Z",
          identifiers: { email: ["someone.else@x.example"] }
        }
        const update = yield* store.write({ upserts: [changed] })
        expect(update.updated).toBe(1)
        expect(yield* partitionOf(store)).toEqual(["crm/1", "shop/2"])
        expect(update.events.some((e) => e._tag === "ProfileSplit")).toBe(true)
        const stale = yield* store.write({ upserts: [{ ...b, updatedAt: "2024-01-01T00:00:00Z" }] })
        expect(stale.stale).toBe(1)
        expect(yield* partitionOf(store)).toEqual(["crm/1", "shop/2"])
      })
  )

  it.effect("deleting every record of a profile deletes the profile", () =>
    Effect.gen(function* () {
      const store = ProfileStore.makeMemory()
      yield* store.write({ upserts: namesakes })
      const r = yield* store.write({
        removes: [
          { source: "crm", id: "m1" },
          { source: "nope", id: "0" }
        ]
      })
      expect(r.removed).toBe(1)
      expect(r.unknown).toBe(1)
      expect(r.events.some((e) => e._tag === "ProfileDeleted")).toBe(true)
      expect(yield* partitionOf(store)).toEqual(["shop/m2"])
    })
  )

  it.effect("caps cluster size with a warning event", () =>
    Effect.gen(function* () {
      const store = ProfileStore.makeMemory(ResolverConfig.make({ maxClusterSize: 3 }))
      const many = [1, 2, 3, 4, 5].map((i) =>
        rec("s", `${i}`, { firstName: "Kim", lastName: "Lee", birthDate: "1999-09-09" })
      )
      const r = yield* store.write({ upserts: many })
      const sizes = (yield* partitionOf(store)).map((g) => g.split(" ").length)
      expect(Math.max(...sizes)).toBe(3)
      expect(r.events.some((e) => e._tag === "ClusterCapReached")).toBe(true)
      expect((yield* store.stats).capWarnings).toBeGreaterThan(0)
    })
  )

  it.effect("survivorship picks per policy and keeps provenance", () =>
    Effect.gen(function* () {
      const config = ResolverConfig.make({
        survivorship: {
          attributes: { city: "sourcePriority", lastName: "mostFrequent" },
          sourcePriority: ["crm", "shop"]
        }
      })
      const layer = IdentityResolver.layerMemory(config)
      const records = [
        rec(
          "shop",
          "1",
          { firstName: "Ana", lastName: "Pena", city: "Madrid" },
          { email: ["ana@p.example"] },
          "2025-03-01T00:00:00Z"
        ),
        rec(
          "crm",
          "2",
          { firstName: "Ana María", lastName: "Peña", city: "Sevilla" },
          { email: ["ana@p.example"] },
          "2024-01-01T00:00:00Z"
        ),
        rec(
          "app",
          "3",
          { firstName: "Ana", lastName: "Pena" },
          { email: ["ana@p.example"] },
          "2023-01-01T00:00:00Z"
        )
      ]
      const profile = yield* Effect.gen(function* () {
        const resolver = yield* IdentityResolver.IdentityResolver
        yield* resolver.ingest(records)
        const id = yield* resolver.profileIdOf({ source: "app", id: "3" })
        return yield* resolver.profile(id)
      }).pipe(Effect.provide(layer))
      expect(profile.records).toHaveLength(3)
      expect(profile.attributes["firstName"]).toMatchObject({
        value: "Ana",
        source: "shop",
        id: "1",
        policy: "mostRecent"
      })
      expect(profile.attributes["city"]).toMatchObject({
        value: "Sevilla",
        source: "crm",
        policy: "sourcePriority"
      })
      expect(profile.attributes["lastName"]).toMatchObject({
        value: "Pena",
        policy: "mostFrequent",
        candidates: 3
      })
      expect(profile.identifiers["email"]![0]!.records).toHaveLength(3)
    })
  )

  it.effect(
    "keeps consent with the records: effective state in the profile view, bad events refused on ingest",
    () =>
      Effect.gen(function* () {
        const resolver = yield* IdentityResolver.IdentityResolver
        const withConsent = (r: Rec, consents: Array<Record<string, unknown>>): Rec => ({ ...r, consents })
        yield* resolver.ingest([
          withConsent(ayse[0]!, [
            {
              purpose: "marketing",
              channel: "email",
              status: "granted",
              capturedAt: "2025-01-01T00:00:00Z",
              legalBasis: "consent"
            }
          ]),
          withConsent(ayse[3]!, [
            {
              purpose: "marketing",
              channel: "email",
              status: "withdrawn",
              capturedAt: "2025-03-01T00:00:00Z",
              legalBasis: "consent"
            }
          ])
        ])
        const id = yield* resolver.profileIdOf({ source: "shop", id: "42" })
        const profile = yield* resolver.profile(id)
        expect(profile.consent).toEqual({
          "marketing/email": { status: "withdrawn", capturedAt: "2025-03-01T00:00:00Z", source: "crm" }
        })
        const bad = yield* Effect.either(
          resolver.ingest([
            withConsent(household[0]!, [{ purpose: "marketing", channel: "email", status: "maybe" }])
          ])
        )
        expect(Either.isLeft(bad) && bad.left.message).toMatch(/record crm\/h1: field "consents\.0\.status"/)
        expect(Either.isLeft(yield* Effect.either(resolver.profileIdOf({ source: "crm", id: "h1" })))).toBe(
          true
        )
      }).pipe(Effect.provide(IdentityResolver.layerMemory()))
  )

  it.effect(
    "explains a profile's edges and why a pair was or was not merged, without identifier values",
    () =>
      Effect.gen(function* () {
        const resolver = yield* IdentityResolver.IdentityResolver
        yield* resolver.ingest([...ayse, ...household])
        const id = yield* resolver.profileIdOf({ source: "shop", id: "42" })
        const explanation = yield* resolver.explain(id)
        expect(explanation.records).toHaveLength(4)
        expect(explanation.edges.length).toBeGreaterThanOrEqual(3)
        expect(
          explanation.edges.some((e) => e.rule === "identifier" && e.sharedIdentifierTypes.includes("email"))
        ).toBe(true)
        expect(JSON.stringify(explanation)).not.toContain("gmail")
        const apart = yield* resolver.explainPair({ source: "crm", id: "h1" }, { source: "crm", id: "h2" })
        expect(apart.outcome).toBe("separate")
        expect(apart.vetoed).toBe(true)
        expect(apart.reason).toMatch(/^vetoed/)
        const linked = yield* resolver.explainPair({ source: "shop", id: "42" }, { source: "crm", id: "c1" })
        expect(linked.outcome).toBe("linked")
        expect(linked.score).toBeGreaterThanOrEqual(linked.threshold)
        const missing = yield* Effect.either(
          resolver.explainPair({ source: "shop", id: "42" }, { source: "x", id: "y" })
        )
        expect(Either.isLeft(missing) && missing.left._tag).toBe("RecordNotFound")
        const noProfile = yield* Effect.either(resolver.profile("nope"))
        expect(Either.isLeft(noProfile) && noProfile.left._tag).toBe("ProfileNotFound")
      }).pipe(Effect.provide(IdentityResolver.layerMemory()))
  )
})

// A pool with identifier sharing, households, namesakes and typos: the material of the order properties.
const pool: ReadonlyArray<Rec> = [...ayse, ...household, ...namesakes, ...junk]
  .concat([
    rec(
      "crm",
      "q1",
      { firstName: "Lena", lastName: "Berg", birthDate: "1991-01-02" },
      { email: ["lena@example.org"] }
    ),
    rec(
      "shop",
      "q2",
      { firstName: "Lena", lastName: "Berg" },
      { email: ["lena@example.org"], phone: ["+49 151 23456789"] }
    ),
    rec(
      "app",
      "q3",
      { firstName: "Lena", lastName: "Bergh", birthDate: "1991-01-02" },
      { phone: ["0151 23456789"] }
    ),
    rec("app", "q4", { firstName: "Jon", lastName: "Smith", birthDate: "1980-01-01", city: "Leeds" }),
    rec(
      "app",
      "q5",
      { firstName: "Lina", lastName: "Berg", birthDate: "1993-05-05" },
      { email: ["lena@example.org"] }
    ),
    rec(
      "crm",
      "q6",
      { firstName: "Mehmet", lastName: "Demir", birthDate: "1970-02-03" },
      { phone: ["+90 312 444 55 66"] }
    ),
    rec(
      "shop",
      "q7",
      { firstName: "Zeynep", lastName: "Demir", birthDate: "1974-09-21" },
      { phone: ["0312 444 55 66"] }
    )
  ])
  .map((r) => (r.attributes?.["country"] === undefined && r.identifiers?.["phone"] ? r : r))

const withCountry = pool.map((r) =>
  r.identifiers?.["phone"] !== undefined && r.attributes?.["country"] === undefined
    ? {
        ...r,
        attributes: { ...r.attributes, country: r.identifiers["phone"]![0]!.includes("151") ? "DE" : "TR" }
      }
    : r
)

describe("order independence (properties)", () => {
  const configs = [
    ResolverConfig.defaults,
    // Tiny caps force blocks to go over and back under their limits, exercising prune and reopen.
    ResolverConfig.make({ maxBlockSize: 2, maxIdentifierRecords: 2 })
  ]
  for (const [i, config] of configs.entries()) {
    it(`any order gives the same partition (config ${i})`, () => {
      const reference = Effect.runSync(resolveAll(withCountry, config))
      fc.assert(
        fc.property(
          fc.shuffledSubarray(withCountry, { minLength: withCountry.length }),
          fc.integer({ min: 1, max: 7 }),
          (order, batch) => {
            const store = ProfileStore.makeMemory(config)
            for (let k = 0; k < order.length; k += batch)
              Effect.runSync(store.write({ upserts: order.slice(k, k + batch) }))
            expect(Effect.runSync(partitionOf(store))).toEqual(reference)
          }
        ),
        { numRuns: 150 }
      )
    })

    it(`adding then removing records gives the partition of what remains (config ${i})`, () => {
      fc.assert(
        fc.property(
          fc.shuffledSubarray(withCountry, { minLength: withCountry.length }),
          fc.subarray(withCountry.map((r) => ({ source: r.source, id: r.id }))),
          (order, removed) => {
            const store = ProfileStore.makeMemory(config)
            Effect.runSync(store.write({ upserts: order }))
            Effect.runSync(store.write({ removes: removed }))
            const gone = new Set(removed.map((r) => `${r.source}/${r.id}`))
            const expected = Effect.runSync(
              resolveAll(
                withCountry.filter((r) => !gone.has(`${r.source}/${r.id}`)),
                config
              )
            )
            expect(Effect.runSync(partitionOf(store))).toEqual(expected)
          }
        ),
        { numRuns: 150 }
      )
    })
  }
})
