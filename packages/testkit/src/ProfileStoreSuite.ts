/**
 * The conformance suite of profile stores. A store's whole test is
 *
 * ```ts
 * import { profileStoreSuite } from "@living-profile/testkit/ProfileStoreSuite"
 * profileStoreSuite({ name: "my-store", makeStore: (config) => makeMyStoreInAFreshNamespace(config) })
 * ```
 *
 * It uses nothing but the `ProfileStore` contract: profile ids are opaque (compared for equality
 * only), and clusterings are compared as sets of sets of record keys. The read paths check each
 * other (`record`, `profileIdOf`, `profile`, `profiles`, `edges`, `pair`, `stats`), so a store that
 * writes one shape and reads another fails. Every test makes its own store and its own record ids
 * and e-mails; nothing here knows any particular store.
 */
import { describe, expect, it } from "@effect/vitest"
import { Audit, type ProfileStore, ResolverConfig, type SourceRecord } from "@living-profile/core"
import { Effect, Option, type Scope } from "effect"
import { largeValue, unicodeAttributes, unicodeEmail } from "./internal/consentTarget.js"
import {
  allProfiles,
  batches,
  byEventId,
  choice,
  counts,
  day,
  eventsTagged,
  fresh,
  fullOf,
  get,
  idsOf,
  keyOf,
  keysOf,
  namesOf,
  none,
  partitionByIds,
  person,
  rec,
  refOf,
  shuffled,
  storedPartition,
  tagsOf
} from "./internal/profileStore.js"
import { generate } from "./Synthetic.js"

type Store = ProfileStore.ProfileStore["Type"]
type Rec = SourceRecord.SourceRecord

/** Options of the suite. */
export interface SuiteOptions {
  /** Names the describe block. */
  readonly name: string
  /**
   * A fresh, empty store resolving with `config`: a persistent store gives every call its own
   * namespace (a random key prefix, a new database). Called once per test; the scope closes with it.
   */
  readonly makeStore: (config: ResolverConfig.ResolverConfig) => Effect.Effect<Store, unknown, Scope.Scope>
  /** Per-test timeout in milliseconds (default 30 s). */
  readonly timeout?: number
}

/** Records of a seeded synthetic population, a few hundred: big enough for real clusters, fast anywhere. */
const synthetic = (seed: number, records = 300): Array<Rec> =>
  [...generate({ records, seed })].map(({ record }) => record as Rec)

/** Registers the conformance tests of a profile store (call it at the top level of a test file). */
export const profileStoreSuite = (options: SuiteOptions): void => {
  const timeout = options.timeout ?? 30_000
  const store = (config: ResolverConfig.ResolverConfig = ResolverConfig.defaults) => options.makeStore(config)

  /** The id of the profile a record is in, which must exist. */
  const idOf = (s: Store, r: SourceRecord.RecordRef) =>
    Effect.map(s.profileIdOf(r), (o) => get(o, `a profile for ${keyOf(r)}`))

  /** The profile an id (or alias) resolves to, which must exist. */
  const profileOf = (s: Store, id: string) => Effect.map(s.profile(id), (o) => get(o, `profile ${id}`))

  describe(`${options.name}: profile store conformance`, () => {
    // Writes and reads ---------------------------------------------------------------------------

    describe("writes and reads", () => {
      it.scopedLive(
        "a batch counts created, updated, unchanged, stale, removed and unknown",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const a = rec(n.ref("crm", "a"), fullOf(person(0)), { email: [n.email("a")] })
            const b = rec(n.ref("crm", "b"), fullOf(person(1)), { email: [n.email("b")] })
            expect(counts(yield* s.write({ upserts: [a, b] }))).toEqual({ ...none, created: 2 })

            const newerB = { ...b, updatedAt: day(5), attributes: { ...b.attributes, city: "Köln" } }
            expect(counts(yield* s.write({ upserts: [a, newerB] }))).toEqual({
              ...none,
              unchanged: 1,
              updated: 1
            })
            expect(yield* s.record(b)).toStrictEqual(Option.some(newerB))

            const olderB = { ...b, updatedAt: day(2), attributes: { ...b.attributes, city: "Bonn" } }
            expect(counts(yield* s.write({ upserts: [olderB] }))).toEqual({ ...none, stale: 1 })
            expect(yield* s.record(b), "a stale upsert must not replace the newer record").toStrictEqual(
              Option.some(newerB)
            )

            const c = rec(n.ref("shop", "c"), fullOf(person(2)), { email: [n.email("c")] })
            const mixed = yield* s.write({ upserts: [c], removes: [refOf(a), n.ref("crm", "never-written")] })
            expect(counts(mixed)).toEqual({ ...none, created: 1, removed: 1, unknown: 1 })
            expect(yield* s.record(a)).toStrictEqual(Option.none())
            expect(yield* s.record(c)).toStrictEqual(Option.some(c))
            expect(counts(yield* s.write({ removes: [refOf(a)] })), "removing twice").toEqual({
              ...none,
              unknown: 1
            })
            expect(counts(yield* s.write({}))).toEqual(none)
          }),
        timeout
      )

      it.scopedLive(
        "records read back exactly as written: Unicode, every value type, consents, awkward keys",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const full: Rec = {
              source: "crm-ünïcödé",
              // Separators a key-value store might use: a store must not read anything into them.
              id: n.ref("x", "a/b:c{d} e").id,
              updatedAt: "2025-05-01T10:00:00Z",
              attributes: {
                ...unicodeAttributes,
                birthDate: "1990-04-01",
                vip: true,
                visits: 42,
                balance: -3.25,
                middleName: null,
                note: largeValue(10_000)
              },
              identifiers: {
                email: [unicodeEmail(), n.email("second")],
                phone: ["+90 532 111 22 33"],
                loyalty: [`L-${n.ref("x", "card").id}`]
              },
              consents: [
                {
                  purpose: "marketing",
                  channel: "email",
                  status: "granted",
                  capturedAt: "2025-04-01T09:00:00Z",
                  legalBasis: "consent",
                  policyVersion: "2025-03",
                  proof: { formId: "footer-signup", userAgent: "Mozilla/5.0 (ß; İ)" }
                },
                { purpose: "analytics", channel: "web", status: "denied", capturedAt: "2025-04-02T09:00:00Z" }
              ]
            }
            const bare: Rec = { ...n.ref("app", "bare") }
            expect(counts(yield* s.write({ upserts: [full, bare] }))).toEqual({ ...none, created: 2 })
            expect(yield* s.record(full)).toStrictEqual(Option.some(full))
            expect(yield* s.record(bare), "a record without optional fields gains none").toStrictEqual(
              Option.some(bare)
            )
            const viaProfile = yield* profileOf(s, yield* idOf(s, full))
            expect(viaProfile.records).toStrictEqual([full])
            const listed = (yield* allProfiles(s)).flatMap((p) => p.records)
            expect(listed.find((r) => r.id === full.id)).toStrictEqual(full)
            expect(listed.find((r) => r.id === bare.id)).toStrictEqual(bare)
          }),
        timeout
      )

      it.scopedLive(
        "unknown refs and ids read as none, and a record key is the pair (source, id)",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            // Parts that concatenate to the same string: "kit:x" + "y" and "kit" + "x:y".
            const known = rec({ source: "kit:x", id: n.ref("", "y").id }, fullOf(person(3)), {
              email: [n.email("k")]
            })
            yield* s.write({ upserts: [known] })
            const knownId = yield* idOf(s, known)
            const lookalikes = [
              { source: "kit", id: `x:${known.id}` },
              { source: "kit:", id: `x${known.id}` },
              { source: known.source, id: `${known.id}-other` },
              { source: "elsewhere", id: known.id }
            ]
            for (const ref of lookalikes) {
              expect(yield* s.record(ref), keyOf(ref)).toStrictEqual(Option.none())
              expect(yield* s.profileIdOf(ref), keyOf(ref)).toStrictEqual(Option.none())
              expect(yield* s.pair(ref, known), keyOf(ref)).toStrictEqual(Option.none())
            }
            const unknownId = `kit-no-such-profile-${known.id}`
            expect(unknownId).not.toBe(knownId)
            expect(yield* s.profile(unknownId)).toStrictEqual(Option.none())
            expect(yield* s.edges(unknownId)).toEqual([])
            expect(yield* s.erase(unknownId)).toStrictEqual(Option.none())
            expect(yield* s.record(known)).toStrictEqual(Option.some(known))
          }),
        timeout
      )
    })

    // Resolution ---------------------------------------------------------------------------------

    describe("resolution", () => {
      it.scopedLive(
        "two records sharing an e-mail form one profile; a stranger gets another",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const mail = n.email("shared")
            const a = rec(n.ref("crm", "a"), namesOf(person(0)), { email: [mail] })
            const b = rec(n.ref("shop", "b"), namesOf(person(0)), { email: [mail] })
            const x = rec(n.ref("shop", "x"), fullOf(person(1)), { email: [n.email("x")] })
            yield* s.write({ upserts: [a, b, x] })
            const id = yield* idOf(s, a)
            expect(yield* idOf(s, b)).toBe(id)
            const xId = yield* idOf(s, x)
            expect(xId).not.toBe(id)
            const p = yield* profileOf(s, id)
            expect(p.profileId).toBe(id)
            expect(keysOf(p.records)).toEqual(keysOf([a, b]))
            expect(keysOf((yield* profileOf(s, xId)).records)).toEqual(keysOf([x]))
          }),
        timeout
      )

      it.scopedLive(
        "the oldest profile id survives a merge, even into a larger profile, and the absorbed id resolves to it",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const p = namesOf(person(4))
            const [e1, e2] = [n.email("one"), n.email("two")]
            const a = rec(n.ref("crm", "a"), p, { email: [e1] })
            const b1 = rec(n.ref("shop", "b1"), p, { email: [e2] })
            const b2 = rec(n.ref("app", "b2"), p, { email: [e2] })
            yield* s.write({ upserts: [a] })
            const older = yield* idOf(s, a)
            yield* s.write({ upserts: [b1, b2] })
            const younger = yield* idOf(s, b1)
            expect(younger, "names alone must not merge").not.toBe(older)
            const bridge = rec(n.ref("support", "c"), p, { email: [e1, e2] })
            const merge = yield* s.write({ upserts: [bridge] })
            for (const r of [a, b1, b2, bridge]) expect(yield* idOf(s, r), keyOf(r)).toBe(older)
            const viaAlias = yield* profileOf(s, younger)
            expect(viaAlias.profileId).toBe(older)
            expect(keysOf(viaAlias.records)).toEqual(keysOf([a, b1, b2, bridge]))
            expect(keysOf((yield* profileOf(s, older)).records)).toEqual(keysOf([a, b1, b2, bridge]))
            expect(eventsTagged(merge, "ProfileMerged")).toEqual([
              expect.objectContaining({ profileId: older, absorbed: younger })
            ])
            const listed = (yield* allProfiles(s)).map((x) => x.profileId)
            expect(listed).toContain(older)
            expect(listed, "an absorbed id is an alias, not a profile").not.toContain(younger)
          }),
        timeout
      )

      it.scopedLive(
        "a profile id stays the same through updates of its records and unrelated writes",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const mail = n.email("m")
            const a = rec(n.ref("crm", "a"), namesOf(person(5)), { email: [mail] })
            const b = rec(n.ref("shop", "b"), namesOf(person(5)), { email: [mail] })
            yield* s.write({ upserts: [a, b] })
            const id = yield* idOf(s, a)
            const others = [6, 7, 8].map((i) =>
              rec(n.ref("crm", `o${i}`), fullOf(person(i)), { email: [n.email(`o${i}`)] })
            )
            yield* s.write({ upserts: others })
            const a2 = { ...a, updatedAt: day(3), attributes: { ...a.attributes, city: "Malmö" } }
            expect(counts(yield* s.write({ upserts: [a2], removes: [refOf(others[0]!)] }))).toEqual({
              ...none,
              updated: 1,
              removed: 1
            })
            expect(yield* idOf(s, a)).toBe(id)
            expect(yield* idOf(s, b)).toBe(id)
            const p = yield* profileOf(s, id)
            expect(p.records.find((r) => r.id === a.id)).toStrictEqual(a2)
          }),
        timeout
      )

      it.scopedLive(
        "an update that drops the shared evidence splits: the larger part keeps the id, both parts resolve",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const p = namesOf(person(6))
            const mail = n.email("m")
            // a is the oldest record, yet the larger part keeps the profile id.
            const a = rec(n.ref("crm", "a"), p, { email: [mail] })
            const b = rec(n.ref("shop", "b"), p, { email: [mail] })
            const c = rec(n.ref("app", "c"), p, { email: [mail] })
            yield* s.write({ upserts: [a] })
            yield* s.write({ upserts: [b, c] })
            const id = yield* idOf(s, a)
            expect(yield* idOf(s, c)).toBe(id)
            const moved = { ...a, updatedAt: day(4), identifiers: { email: [n.email("elsewhere")] } }
            const split = yield* s.write({ upserts: [moved] })
            expect(counts(split)).toEqual({ ...none, updated: 1 })
            expect(yield* idOf(s, b)).toBe(id)
            expect(yield* idOf(s, c)).toBe(id)
            const aId = yield* idOf(s, a)
            expect(aId).not.toBe(id)
            expect(keysOf((yield* profileOf(s, id)).records)).toEqual(keysOf([b, c]))
            const aProfile = yield* profileOf(s, aId)
            expect(aProfile.profileId).toBe(aId)
            expect(aProfile.records).toStrictEqual([moved])
            const splits = eventsTagged(split, "ProfileSplit")
            expect(splits).toHaveLength(1)
            expect(splits[0]!.profileId).toBe(id)
            expect([...splits[0]!.into].sort()).toEqual([id, aId].sort())
          }),
        timeout
      )

      it.scopedLive(
        "removing a record takes it out of its profile; the rest keep the id",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const mail = n.email("m")
            const a = rec(n.ref("crm", "a"), namesOf(person(7)), { email: [mail] })
            const b = rec(n.ref("shop", "b"), namesOf(person(7)), { email: [mail] })
            yield* s.write({ upserts: [a, b] })
            const id = yield* idOf(s, a)
            expect(counts(yield* s.write({ removes: [refOf(b)] }))).toEqual({ ...none, removed: 1 })
            expect(yield* s.record(b)).toStrictEqual(Option.none())
            expect(yield* s.profileIdOf(b)).toStrictEqual(Option.none())
            expect(yield* idOf(s, a)).toBe(id)
            expect((yield* profileOf(s, id)).records).toStrictEqual([a])
          }),
        timeout
      )

      it.scopedLive(
        "removing the record that bridged two groups splits the profile; the larger group keeps the id",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const p = namesOf(person(8))
            const [e1, e2] = [n.email("one"), n.email("two")]
            const a = rec(n.ref("crm", "a"), p, { email: [e1] })
            const b1 = rec(n.ref("shop", "b1"), p, { email: [e2] })
            const b2 = rec(n.ref("app", "b2"), p, { email: [e2] })
            const bridge = rec(n.ref("support", "c"), p, { email: [e1, e2] })
            yield* s.write({ upserts: [a, bridge, b1, b2] })
            const id = yield* idOf(s, a)
            for (const r of [b1, b2, bridge]) expect(yield* idOf(s, r)).toBe(id)
            yield* s.write({ removes: [refOf(bridge)] })
            expect(yield* idOf(s, b1)).toBe(id)
            expect(yield* idOf(s, b2)).toBe(id)
            const aId = yield* idOf(s, a)
            expect(aId).not.toBe(id)
            expect(keysOf((yield* profileOf(s, id)).records)).toEqual(keysOf([b1, b2]))
            expect(keysOf((yield* profileOf(s, aId)).records)).toEqual(keysOf([a]))
          }),
        timeout
      )

      it.scopedLive(
        "removing every record of a profile removes the profile, and its aliases stop resolving",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const p = namesOf(person(9))
            const [e1, e2] = [n.email("one"), n.email("two")]
            const a = rec(n.ref("crm", "a"), p, { email: [e1] })
            const b = rec(n.ref("shop", "b"), p, { email: [e2] })
            const bridge = rec(n.ref("app", "c"), p, { email: [e1, e2] })
            const stranger = rec(n.ref("crm", "s"), fullOf(person(10)), { email: [n.email("s")] })
            yield* s.write({ upserts: [a, stranger] })
            yield* s.write({ upserts: [b] })
            const [older, younger] = [yield* idOf(s, a), yield* idOf(s, b)]
            yield* s.write({ upserts: [bridge] })
            expect(yield* idOf(s, b)).toBe(older)
            const gone = yield* s.write({ removes: [a, b, bridge].map(refOf) })
            expect(counts(gone)).toEqual({ ...none, removed: 3 })
            expect(yield* s.profile(older)).toStrictEqual(Option.none())
            expect(yield* s.profile(younger)).toStrictEqual(Option.none())
            for (const r of [a, b, bridge]) expect(yield* s.profileIdOf(r)).toStrictEqual(Option.none())
            expect(yield* s.edges(older)).toEqual([])
            expect(yield* storedPartition(s)).toEqual([keysOf([stranger])])
          }),
        timeout
      )

      it.scopedLive(
        "profiles lists every live profile once, with exactly its members",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const [e1, e2, e3] = [n.email("one"), n.email("two"), n.email("three")]
            const pair = [0, 1].map((i) =>
              rec(n.ref("crm", `pair${i}`), namesOf(person(11)), { email: [e1] })
            )
            const single = rec(n.ref("shop", "single"), fullOf(person(12)), { email: [n.email("single")] })
            const x = rec(n.ref("crm", "x"), namesOf(person(13)), { email: [e2] })
            const y = rec(n.ref("shop", "y"), namesOf(person(13)), { email: [e3] })
            const bridge = rec(n.ref("app", "xy"), namesOf(person(13)), { email: [e2, e3] })
            const removed = rec(n.ref("app", "removed"), fullOf(person(14)), { email: [n.email("r")] })
            yield* s.write({ upserts: [...pair, single, x, removed] })
            const removedId = yield* idOf(s, removed)
            yield* s.write({ upserts: [y] })
            const absorbed = yield* idOf(s, y)
            yield* s.write({ upserts: [bridge], removes: [refOf(removed)] })

            const live = [...pair, single, x, y, bridge]
            const listed = yield* allProfiles(s)
            const ids = listed.map((p) => p.profileId)
            expect(new Set(ids).size, "a profile listed twice").toBe(ids.length)
            expect(ids).not.toContain(absorbed)
            expect(ids).not.toContain(removedId)
            expect(keysOf(listed.flatMap((p) => p.records))).toEqual(keysOf(live))
            for (const p of listed) {
              expect(p.records.length).toBeGreaterThan(0)
              for (const r of p.records) {
                expect(yield* idOf(s, r), keyOf(r)).toBe(p.profileId)
                expect(yield* s.record(r)).toStrictEqual(Option.some(r))
              }
              expect(keysOf((yield* profileOf(s, p.profileId)).records)).toEqual(keysOf(p.records))
            }
            expect(yield* storedPartition(s)).toEqual(yield* partitionByIds(s, live))
            expect(listed).toHaveLength(3)
            expect((yield* s.stats).profiles).toBe(3)
          }),
        timeout
      )

      it.scopedLive(
        "the partition does not depend on record order or batch boundaries",
        () =>
          Effect.gen(function* () {
            const records = synthetic(7)
            const refs = records.map(refOf)
            expect(new Set(refs.map(keyOf)).size, "synthetic record keys are unique").toBe(records.length)

            const one = yield* store()
            expect((yield* one.write({ upserts: records, events: false })).created).toBe(records.length)
            const expected = yield* storedPartition(one)
            expect(expected.flat().sort()).toEqual(keysOf(refs))
            // Real duplicates exist, or the comparisons below could not fail.
            expect(expected.length).toBeLessThan(records.length - 20)
            expect(yield* partitionByIds(one, refs)).toEqual(expected)

            const orders: ReadonlyArray<readonly [string, ReadonlyArray<Rec>, ReadonlyArray<number>]> = [
              ["reversed, batches of 37", [...records].reverse(), [37]],
              ["shuffled, batches of 1 to 5", shuffled(records, 11), [1, 2, 3, 4, 5]],
              ["shuffled again, batches of 60 and 1", shuffled(records, 29), [60, 1]]
            ]
            for (const [label, order, sizes] of orders) {
              const other = yield* store()
              let created = 0
              for (const batch of batches(order, sizes))
                created += (yield* other.write({ upserts: batch })).created
              expect(created, label).toBe(records.length)
              expect(yield* storedPartition(other), label).toEqual(expected)
            }
          }),
        timeout
      )

      it.scopedLive(
        "re-ingesting the same records changes nothing: all unchanged, no events, same partition and ids",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const records = synthetic(11)
            const refs = records.map(refOf)
            yield* s.write({ upserts: records })
            const partition = yield* storedPartition(s)
            const ids = yield* idsOf(s, refs)
            for (const again of [records, [...records].reverse()]) {
              const w = yield* s.write({ upserts: again, events: true })
              expect(counts(w)).toEqual({ ...none, unchanged: records.length })
              expect(w.events).toEqual([])
              expect(yield* storedPartition(s)).toEqual(partition)
              expect(yield* idsOf(s, refs)).toEqual(ids)
            }
          }),
        timeout
      )

      for (const crowd of [4, 14]) {
        it.scopedLive(
          `a shared info@ e-mail on ${crowd} different people does not glue them`,
          () =>
            Effect.gen(function* () {
              const s = yield* store()
              const n = fresh()
              const info = `info@${n.ref("", "shop").id}.example`
              const own = n.email("own0")
              const staff = Array.from({ length: crowd }, (_, i) =>
                rec(n.ref("crm", `p${i}`), fullOf(person(i)), { email: i === 0 ? [info, own] : [info] })
              )
              // The same person as staff[0], linked only by an e-mail of their own.
              const again = rec(n.ref("shop", "p0-again"), namesOf(person(0)), { email: [own] })
              yield* s.write({ upserts: [...staff, again] })
              const ids = yield* idsOf(s, staff)
              expect(new Set(ids.values()).size).toBe(crowd)
              expect(yield* idOf(s, again), "an unambiguous e-mail still links").toBe(
                ids.get(keyOf(staff[0]!))
              )
              const why = get(yield* s.pair(staff[1]!, staff[2]!), "the pair state")
              expect(why.edge).toBe(false)
              expect(why.profileA).not.toBe(why.profileB)
              expect(why.ambiguousIdentifierTypes).toContain("email")
            }),
          timeout
        )
      }

      it.scopedLive(
        "the store resolves with the configuration it was made with",
        () =>
          Effect.gen(function* () {
            const config = ResolverConfig.make({ maxClusterSize: 2 })
            const s = yield* store(config)
            expect(s.config).toEqual(config)
            const n = fresh()
            const mail = n.email("m")
            const same = [0, 1, 2, 3].map((i) =>
              rec(n.ref("crm", `r${i}`), fullOf(person(15)), { email: [mail] })
            )
            const w = yield* s.write({ upserts: same })
            const sizes = (yield* storedPartition(s)).map((g) => g.length)
            expect(Math.max(...sizes)).toBe(2)
            expect(tagsOf(w)).toContain("ClusterCapReached")
            expect((yield* s.stats).capWarnings).toBeGreaterThan(0)
          }),
        timeout
      )
    })

    // Profile data -------------------------------------------------------------------------------

    describe("profile data", () => {
      it.scopedLive(
        "profile events and rectifications are kept on the profile; an unknown profile refuses them",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const a = rec(n.ref("crm", "a"), fullOf(person(0)), { email: [n.email("a")] })
            yield* s.write({ upserts: [a] })
            const id = yield* idOf(s, a)
            const events = [choice(1), choice(2, "withdrawn")]
            const fix: ProfileStore.Rectification = {
              attribute: "city",
              value: "İzmir",
              at: day(6),
              by: "preference-center"
            }
            const fix2: ProfileStore.Rectification = {
              attribute: "vip",
              value: false,
              at: day(7),
              by: "operator"
            }
            expect(yield* s.addProfileEvents(id, events)).toBe(true)
            expect(yield* s.addRectification(id, fix)).toBe(true)
            expect(yield* s.addRectification(id, fix2)).toBe(true)
            const unknown = `kit-no-such-profile-${a.id}`
            expect(yield* s.addProfileEvents(unknown, [choice(3)])).toBe(false)
            expect(yield* s.addRectification(unknown, fix)).toBe(false)
            const p = yield* profileOf(s, id)
            expect(byEventId(p.profileEvents)).toStrictEqual(byEventId(events))
            expect(p.rectifications).toStrictEqual([fix, fix2])
            expect(p.records).toStrictEqual([a])
            expect(yield* s.profile(unknown)).toStrictEqual(Option.none())
            const listed = (yield* allProfiles(s)).find((x) => x.profileId === id)
            expect(byEventId(listed?.profileEvents ?? [])).toStrictEqual(byEventId(events))
            expect(listed?.rectifications).toStrictEqual([fix, fix2])
          }),
        timeout
      )

      it.scopedLive(
        "profile data survives a merge into an older profile, read and written through survivor and alias",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const p = namesOf(person(1))
            const [e1, e2] = [n.email("one"), n.email("two")]
            const a = rec(n.ref("crm", "a"), p, { email: [e1] })
            const b = rec(n.ref("shop", "b"), p, { email: [e2] })
            yield* s.write({ upserts: [a] })
            yield* s.write({ upserts: [b] })
            const [older, younger] = [yield* idOf(s, a), yield* idOf(s, b)]
            const [onOlder, onYounger, viaAlias] = [choice(1), choice(2), choice(3)]
            const fix: ProfileStore.Rectification = {
              attribute: "lastName",
              value: "Satō",
              at: day(8),
              by: "operator"
            }
            expect(yield* s.addProfileEvents(older, [onOlder])).toBe(true)
            expect(yield* s.addProfileEvents(younger, [onYounger])).toBe(true)
            expect(yield* s.addRectification(younger, fix)).toBe(true)

            yield* s.write({ upserts: [rec(n.ref("app", "bridge"), p, { email: [e1, e2] })] })
            expect(yield* idOf(s, b)).toBe(older)
            for (const id of [older, younger]) {
              const merged = yield* profileOf(s, id)
              expect(merged.profileId).toBe(older)
              expect(byEventId(merged.profileEvents)).toStrictEqual(byEventId([onOlder, onYounger]))
              expect(merged.rectifications).toStrictEqual([fix])
            }
            expect(yield* s.addProfileEvents(younger, [viaAlias]), "through the alias").toBe(true)
            expect(byEventId((yield* profileOf(s, older)).profileEvents)).toStrictEqual(
              byEventId([onOlder, onYounger, viaAlias])
            )
          }),
        timeout
      )

      it.scopedLive(
        "a record that moves to another profile leaves the profile it left, id and data, to the records that stay",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const p = namesOf(person(2))
            const [e1, e2] = [n.email("one"), n.email("two")]
            const a = rec(n.ref("crm", "a"), p, { email: [e1] })
            const b = rec(n.ref("shop", "b"), p, { email: [e2] })
            const c = rec(n.ref("app", "c"), p, { email: [e2] })
            yield* s.write({ upserts: [a] })
            yield* s.write({ upserts: [b, c] })
            const [first, second] = [yield* idOf(s, a), yield* idOf(s, c)]
            expect(second).not.toBe(first)
            const ofSecond = choice(1)
            expect(yield* s.addProfileEvents(second, [ofSecond])).toBe(true)
            // c now carries a's e-mail instead of b's: it leaves b and joins a. Nothing about b changed.
            yield* s.write({ upserts: [{ ...c, updatedAt: day(9), identifiers: { email: [e1] } }] })
            expect(yield* idOf(s, c)).toBe(first)
            expect(yield* idOf(s, a)).toBe(first)
            expect(yield* idOf(s, b), "b's profile id changed though b did not").toBe(second)
            const left = yield* profileOf(s, second)
            expect(keysOf(left.records)).toEqual(keysOf([b]))
            expect(left.profileEvents, "b's profile events").toStrictEqual([ofSecond])
            expect((yield* profileOf(s, first)).profileEvents, "a's profile got b's events").toEqual([])
          }),
        timeout
      )
    })

    // Erasure ------------------------------------------------------------------------------------

    describe("erasure", () => {
      /** A person of three records merged from two profiles (so with an alias), with profile data. */
      const erasable = (s: Store) =>
        Effect.gen(function* () {
          const n = fresh()
          const p = namesOf(person(3))
          const [e1, e2] = [n.email("one"), n.email("two")]
          const a = rec(n.ref("crm", "a"), p, { email: [e1] })
          const b = rec(n.ref("shop", "b"), p, { email: [e2] }, day(1))
          const bridge = rec(n.ref("app", "c"), p, { email: [e1, e2] }, day(2))
          const stranger = rec(n.ref("crm", "stranger"), fullOf(person(4)), { email: [n.email("s")] })
          yield* s.write({ upserts: [a, stranger] })
          yield* s.write({ upserts: [b] })
          const [id, alias] = [yield* idOf(s, a), yield* idOf(s, b)]
          yield* s.write({ upserts: [bridge] })
          expect(yield* idOf(s, b)).toBe(id)
          expect(yield* s.addProfileEvents(id, [choice(1)])).toBe(true)
          expect(
            yield* s.addRectification(id, { attribute: "city", value: "Ankara", at: day(3), by: "op" })
          ).toBe(true)
          return { n, id, alias, records: [a, b, bridge], stranger, e1 }
        })

      it.scopedLive(
        "erase returns the refs and removes every record, the profile, its data and its aliases",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const { id, alias, records, stranger } = yield* erasable(s)
            const erased = get(yield* s.erase(id), "an erasure")
            expect(erased.profileId).toBe(id)
            expect(keysOf(erased.records)).toEqual(keysOf(records))
            for (const ref of erased.records)
              expect(Object.keys(ref).sort(), "refs only").toEqual(["id", "source"])
            expect(erased.tombstones).toBeGreaterThan(0)
            for (const r of records) {
              expect(yield* s.record(r), keyOf(r)).toStrictEqual(Option.none())
              expect(yield* s.profileIdOf(r), keyOf(r)).toStrictEqual(Option.none())
            }
            expect(yield* s.profile(id)).toStrictEqual(Option.none())
            expect(yield* s.profile(alias), "the alias").toStrictEqual(Option.none())
            expect(yield* s.addProfileEvents(id, [choice(2)])).toBe(false)
            expect(yield* s.addProfileEvents(alias, [choice(2)])).toBe(false)
            expect(yield* s.addRectification(alias, { attribute: "x", value: 1, at: day(4), by: "op" })).toBe(
              false
            )
            expect(yield* s.edges(id)).toEqual([])
            expect(yield* s.erase(id), "erasing twice").toStrictEqual(Option.none())
            expect(yield* s.erase(alias)).toStrictEqual(Option.none())
            expect(yield* storedPartition(s)).toEqual([keysOf([stranger])])
            const stats = yield* s.stats
            expect([stats.records, stats.profiles]).toEqual([1, 1])
          }),
        timeout
      )

      it.scopedLive(
        "re-ingesting an erased person's records is suppressed and brings no profile back",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const { n, id, records, stranger, e1 } = yield* erasable(s)
            yield* s.erase(id)
            const again = yield* s.write({ upserts: records })
            expect(counts(again)).toEqual({ ...none, suppressed: records.length })
            // A newer version of an erased record that shares nothing with the old one: its key is suppressed.
            const rewritten = { ...records[0]!, updatedAt: day(30), attributes: {}, identifiers: {} }
            // A new record carrying the erased person's e-mail: the identifier is suppressed.
            const newcomer = rec(n.ref("web", "newcomer"), namesOf(person(3)), { email: [e1] })
            expect(counts(yield* s.write({ upserts: [rewritten, newcomer] }))).toEqual({
              ...none,
              suppressed: 2
            })
            for (const r of [...records, newcomer]) {
              expect(yield* s.record(r), keyOf(r)).toStrictEqual(Option.none())
              expect(yield* s.profileIdOf(r), keyOf(r)).toStrictEqual(Option.none())
            }
            expect(yield* s.profile(id)).toStrictEqual(Option.none())
            expect(yield* storedPartition(s)).toEqual([keysOf([stranger])])
          }),
        timeout
      )

      it.scopedLive(
        "erasure leaves a person who shares nothing with the erased one untouched",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const { n, id, stranger } = yield* erasable(s)
            const strangerId = yield* idOf(s, stranger)
            expect(strangerId).not.toBe(id)
            yield* s.erase(id)
            expect(yield* s.record(stranger)).toStrictEqual(Option.some(stranger))
            expect(yield* idOf(s, stranger)).toBe(strangerId)
            expect((yield* profileOf(s, strangerId)).records).toStrictEqual([stranger])
            const updated = {
              ...stranger,
              updatedAt: day(20),
              attributes: { ...stranger.attributes, city: "Oslo" }
            }
            const later = rec(n.ref("shop", "later"), fullOf(person(5)), { email: [n.email("later")] })
            expect(counts(yield* s.write({ upserts: [updated, later] }))).toEqual({
              ...none,
              updated: 1,
              created: 1
            })
            expect(yield* s.record(stranger)).toStrictEqual(Option.some(updated))
            expect(yield* idOf(s, stranger)).toBe(strangerId)
            expect(yield* s.record(later)).toStrictEqual(Option.some(later))
          }),
        timeout
      )

      it.scopedLive(
        "erasure does not refuse updates of another person's record that only shared an ambiguous e-mail",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const info = `info@${n.ref("", "shop").id}.example`
            const staff = [0, 1, 2, 3].map((i) =>
              rec(n.ref("crm", `p${i}`), fullOf(person(i)), {
                email: i === 0 ? [info, n.email("own")] : [info]
              })
            )
            yield* s.write({ upserts: staff })
            const ids = yield* idsOf(s, staff)
            expect(new Set(ids.values()).size).toBe(staff.length)
            yield* s.erase(ids.get(keyOf(staff[0]!))!)
            // p1 withdraws consent; the withdrawal travels on p1's own record, which was never erased.
            const withdrawal = {
              ...staff[1]!,
              updatedAt: day(40),
              consents: [
                {
                  purpose: "marketing",
                  channel: "email",
                  status: "withdrawn",
                  capturedAt: day(40),
                  legalBasis: "consent"
                }
              ]
            }
            expect(counts(yield* s.write({ upserts: [withdrawal] }))).toEqual({ ...none, updated: 1 })
            expect(yield* s.record(staff[1]!)).toStrictEqual(Option.some(withdrawal))
          }),
        timeout
      )

      it.scopedLive(
        "erasure suppresses the person's own identifiers, not those other live records carry",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const info = `info@${n.ref("", "office").id}.example`
            const own = n.email("own")
            const staff = [0, 1, 2].map((i) =>
              rec(n.ref("crm", `q${i}`), fullOf(person(i)), { email: i === 0 ? [info, own] : [info] })
            )
            yield* s.write({ upserts: staff })
            const ids = yield* idsOf(s, staff)
            yield* s.erase(ids.get(keyOf(staff[0]!))!)
            // A newcomer at the shared address is someone else's business: accepted.
            const newcomer = rec(n.ref("crm", "q9"), fullOf(person(9)), { email: [info] })
            expect(counts(yield* s.write({ upserts: [newcomer] }))).toEqual({ ...none, created: 1 })
            // A new record with the erased person's own address brings them back: refused.
            const back = rec(n.ref("web", "q0"), fullOf(person(0)), { email: [own] })
            expect(counts(yield* s.write({ upserts: [back] }))).toEqual({ ...none, suppressed: 1 })
          }),
        timeout
      )
    })

    // Audit --------------------------------------------------------------------------------------

    describe("audit", () => {
      it.scopedLive(
        "the audit log is a hash chain in append order, and it outlives an erasure",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            expect(yield* s.auditEntries).toEqual([])
            const n = fresh()
            const a = rec(n.ref("crm", "a"), fullOf(person(6)), { email: [n.email("a")] })
            yield* s.write({ upserts: [a] })
            const id = yield* idOf(s, a)
            const inputs: Array<Audit.AuditInput> = [
              Audit.ofEvent(choice(1), id, day(1), "preference-center"),
              {
                at: day(2),
                kind: "request",
                profileId: id,
                actor: "operator-7",
                source: "dsr-portal",
                detail: { request: "access", ticket: "T-1", nested: { ok: true, n: 3, list: [1, "ü", null] } }
              },
              {
                at: day(3),
                kind: "propagation",
                profileId: id,
                actor: "sync",
                source: "crm",
                policyVersion: "2025-03",
                detail: { outcome: "Applied", externalId: "x-1" }
              }
            ]
            const appended: Array<Audit.AuditEntry> = []
            for (const input of inputs) appended.push(yield* s.appendAudit(input))
            // A copy: whether a read is a snapshot is the next test's concern, not this one's.
            const entries = [...(yield* s.auditEntries)]
            expect(entries).toStrictEqual(appended)
            entries.forEach((e, i) => {
              expect(e).toMatchObject(inputs[i]!)
              expect(e.seq).toBe(i + 1)
              expect(e.prevHash).toBe(i === 0 ? Audit.genesisHash : entries[i - 1]!.hash)
            })
            expect(new Set(entries.map((e) => e.hash)).size).toBe(entries.length)
            expect(Audit.verify(entries)).toEqual({ ok: true })

            yield* s.erase(id)
            expect(yield* s.auditEntries, "the log outlives the erasure").toStrictEqual(appended)
            const after = yield* s.appendAudit({
              at: day(4),
              kind: "request",
              profileId: id,
              actor: "operator-7",
              source: "dsr-portal",
              detail: { request: "erasure" }
            })
            expect(after.seq).toBe(entries.length + 1)
            expect(after.prevHash).toBe(entries[entries.length - 1]!.hash)
            expect(Audit.verify(yield* s.auditEntries)).toEqual({ ok: true })
          }),
        timeout
      )

      it.scopedLive(
        "a read of the audit log is a snapshot: later appends do not change it",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const entry = (k: number): Audit.AuditInput => ({
              at: day(k),
              kind: "request",
              profileId: `kit-profile-${k}`,
              actor: "operator",
              source: "dsr-portal",
              detail: { k }
            })
            yield* s.appendAudit(entry(1))
            const read = yield* s.auditEntries
            const copy = [...read]
            yield* s.appendAudit(entry(2))
            expect(read, "an earlier read changed under its holder").toStrictEqual(copy)
            expect(yield* s.auditEntries).toHaveLength(2)
          }),
        timeout
      )
    })

    // Explanations -------------------------------------------------------------------------------

    describe("explanations", () => {
      it.scopedLive(
        "edges of a merged profile connect its members and nothing else",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const p = namesOf(person(7))
            const [e1, e2] = [n.email("one"), n.email("two")]
            const a = rec(n.ref("crm", "a"), p, { email: [e1] })
            const b = rec(n.ref("shop", "b"), p, { email: [e2] })
            const bridge = rec(n.ref("app", "c"), p, { email: [e1, e2] })
            const other = [0, 1].map((i) =>
              rec(n.ref("crm", `o${i}`), namesOf(person(8)), { email: [n.email("o")] })
            )
            const single = rec(n.ref("crm", "single"), fullOf(person(9)), { email: [n.email("single")] })
            yield* s.write({ upserts: [a, b, bridge, ...other, single] })
            const id = yield* idOf(s, a)
            const members = new Set(keysOf([a, b, bridge]))
            const edges = yield* s.edges(id)
            expect(edges.length).toBeGreaterThan(0)
            const pairs = edges.map((e) => [keyOf(e.a), keyOf(e.b)].sort().join(" ~ "))
            expect(new Set(pairs).size, "an edge listed twice").toBe(pairs.length)
            for (const e of edges) {
              expect(members.has(keyOf(e.a)) && members.has(keyOf(e.b)), pairs.join(", ")).toBe(true)
              expect(keyOf(e.a)).not.toBe(keyOf(e.b))
              expect(yield* s.record(e.a)).toStrictEqual(Option.some(e.a))
              expect(yield* s.record(e.b)).toStrictEqual(Option.some(e.b))
            }
            expect(
              new Set(edges.flatMap((e) => [keyOf(e.a), keyOf(e.b)])),
              "every member is connected"
            ).toEqual(members)
            for (const end of [a, b]) expect(pairs).toContain([keyOf(end), keyOf(bridge)].sort().join(" ~ "))
            expect(yield* s.edges(yield* idOf(s, single))).toEqual([])
          }),
        timeout
      )

      it.scopedLive(
        "pair says a merged pair has an edge in one profile, and two strangers have none",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const mail = n.email("m")
            const a = rec(n.ref("crm", "a"), namesOf(person(10)), { email: [mail] })
            const b = rec(n.ref("shop", "b"), namesOf(person(10)), { email: [mail] })
            const x = rec(n.ref("crm", "x"), fullOf(person(11)), { email: [n.email("x")] })
            yield* s.write({ upserts: [a, b, x] })
            const [idA, idX] = [yield* idOf(s, a), yield* idOf(s, x)]
            const merged = get(yield* s.pair(a, b), "the state of a merged pair")
            expect(merged.a).toStrictEqual(a)
            expect(merged.b).toStrictEqual(b)
            expect(merged.edge).toBe(true)
            expect(merged.candidate).toBe(true)
            expect([merged.profileA, merged.profileB]).toEqual([idA, idA])
            expect(merged.ambiguousIdentifierTypes).toEqual([])
            expect(get(yield* s.pair(b, a), "the reversed pair").edge).toBe(true)
            const strangers = get(yield* s.pair(a, x), "the state of two strangers")
            expect(strangers.edge).toBe(false)
            expect([strangers.profileA, strangers.profileB]).toEqual([idA, idX])
            expect(idA).not.toBe(idX)
            expect(strangers.b).toStrictEqual(x)
          }),
        timeout
      )
    })

    // Events and stats ---------------------------------------------------------------------------

    describe("events and stats", () => {
      it.scopedLive(
        "writes report what they did to profiles as typed events, unless events are off",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const n = fresh()
            const p = namesOf(person(12))
            const [e1, e2] = [n.email("one"), n.email("two")]
            const a = rec(n.ref("crm", "a"), p, { email: [e1] })
            const created = yield* s.write({ upserts: [a] })
            const id = yield* idOf(s, a)
            expect(eventsTagged(created, "ProfileCreated")).toEqual([
              expect.objectContaining({ profileId: id, records: [refOf(a)] })
            ])

            const b = rec(n.ref("shop", "b"), p, { email: [e1] })
            const attached = yield* s.write({ upserts: [b], events: true })
            expect(eventsTagged(attached, "RecordAttached")).toContainEqual(
              expect.objectContaining({ profileId: id, record: refOf(b) })
            )

            const y = rec(n.ref("app", "y"), p, { email: [e2] })
            yield* s.write({ upserts: [y] })
            const yId = yield* idOf(s, y)
            const bridge = rec(n.ref("support", "c"), p, { email: [e1, e2] })
            const merged = yield* s.write({ upserts: [bridge] })
            expect(eventsTagged(merged, "ProfileMerged")).toEqual([
              expect.objectContaining({ profileId: id, absorbed: yId })
            ])

            // The bridge forgets e2: y leaves.
            const split = yield* s.write({
              upserts: [{ ...bridge, updatedAt: day(5), identifiers: { email: [e1] } }]
            })
            const newY = yield* idOf(s, y)
            expect(eventsTagged(split, "ProfileSplit")).toEqual([expect.objectContaining({ profileId: id })])
            expect(eventsTagged(split, "RecordDetached")).toContainEqual(
              expect.objectContaining({ profileId: id, record: refOf(y) })
            )
            expect(newY).not.toBe(id)

            const deleted = yield* s.write({ removes: [a, b, bridge].map(refOf) })
            expect(eventsTagged(deleted, "ProfileDeleted")).toEqual([
              expect.objectContaining({ profileId: id })
            ])
            expect(tagsOf(created, attached, merged, split, deleted)).toEqual(
              new Set([
                "ProfileCreated",
                "RecordAttached",
                "ProfileMerged",
                "ProfileSplit",
                "RecordDetached",
                "ProfileDeleted"
              ])
            )

            const quiet = yield* s.write({
              upserts: [rec(n.ref("crm", "q"), fullOf(person(13)), { email: [n.email("q")] })],
              events: false
            })
            expect(quiet.created).toBe(1)
            expect(quiet.events).toEqual([])
          }),
        timeout
      )

      it.scopedLive(
        "stats count live records and profiles",
        () =>
          Effect.gen(function* () {
            const s = yield* store()
            const before = yield* s.stats
            expect([before.records, before.profiles]).toEqual([0, 0])
            const n = fresh()
            const mail = n.email("m")
            const a = rec(n.ref("crm", "a"), namesOf(person(14)), { email: [mail] })
            const b = rec(n.ref("shop", "b"), namesOf(person(14)), { email: [mail] })
            const x = rec(n.ref("crm", "x"), fullOf(person(15)), { email: [n.email("x")] })
            yield* s.write({ upserts: [a, b, x] })
            const full = yield* s.stats
            expect([full.records, full.profiles]).toEqual([3, 2])
            expect(full.edges).toBeGreaterThan(0)
            yield* s.write({ removes: [refOf(x)] })
            const after = yield* s.stats
            expect([after.records, after.profiles]).toEqual([2, 1])
          }),
        timeout
      )
    })
  })
}
