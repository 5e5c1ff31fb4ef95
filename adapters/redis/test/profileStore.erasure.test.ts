/**
 * Erasure leaves nothing of the person in Redis, checked by scanning rather than by asking the
 * store: a person with values found nowhere else (e-mail, phone, names, record ids), spread over
 * two profiles that a third record merges, with profile events and a rectification, is erased; a
 * SCAN of the prefix dumping every value of every key finds none of their values (in plaintext, and
 * with encryption on, in what the sealed values open to either), while a bystander's are all still
 * there. Re-ingesting the erased records, or a new record with the erased e-mail, is suppressed,
 * also by a second, freshly started process.
 */
import { randomBytes, randomInt } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { ConsentEvent, type ProfileStore, type SourceRecord } from "@living-profile/core"
import { Effect, Option, Redacted } from "effect"
import { makeProfileStore, Sealing } from "../src/index.js"
import { type Dumped, dumpPrefix, hits } from "./support/dump.js"
import { keyOf, listed } from "./support/partition.js"
import { freshPrefix, rawRedis, REDIS_URL, whenRedis } from "./support/redis.js"
import { assertBuilt, worker } from "./support/worker.js"

type Rec = SourceRecord.SourceRecord

const SECRET = "erasure-secret"

const letters = (n: number): string =>
  Array.from({ length: n }, () => "bcdfghjklmnpqrstvwxz"[randomInt(20)]).join("")
const hex = (): string => randomBytes(6).toString("hex")

/** A person whose every value is unique to this test run. */
const personOf = () => {
  const subscriber = String(randomInt(10_000_000, 100_000_000))
  const p = {
    first: `Qa${letters(7)}`,
    last: `Zo${letters(8)}`,
    mail: `${letters(6)}.${hex()}@example.test`,
    phone: `+49 151 ${subscriber}`,
    national: `0151${subscriber}`,
    ids: [`crm-${hex()}`, `shop-${hex()}`, `support-${hex()}`] as const,
    rectified: `Rx${letters(9)}`,
    userAgent: `ua-${hex()}`,
    eventId: `pc-${hex()}`
  }
  const names = { firstName: p.first, lastName: p.last, country: "DE" }
  const records: [Rec, Rec, Rec] = [
    {
      source: "crm",
      id: p.ids[0],
      updatedAt: "2025-01-01T00:00:00Z",
      identifiers: { email: [p.mail] },
      attributes: names
    },
    {
      source: "shop",
      id: p.ids[1],
      updatedAt: "2025-01-02T00:00:00Z",
      identifiers: { phone: [p.phone] },
      attributes: names
    },
    // Carries both: the record that merges the first two profiles.
    {
      source: "support",
      id: p.ids[2],
      updatedAt: "2025-01-03T00:00:00Z",
      identifiers: { email: [p.mail.toUpperCase()], phone: [p.national] },
      attributes: names
    }
  ]
  /** Every value of theirs a scan must not find once they are erased. */
  const values = [
    p.first,
    p.last,
    p.mail,
    p.phone,
    p.national,
    subscriber,
    ...p.ids,
    p.rectified,
    p.userAgent,
    p.eventId
  ]
  const event = ConsentEvent.make({
    eventId: p.eventId,
    purpose: "marketing",
    channel: "email",
    status: "granted",
    legalBasis: "consent",
    capturedAt: "2025-01-02T12:00:00Z",
    source: "preference-center",
    proof: { userAgent: p.userAgent }
  })
  const rectification: ProfileStore.Rectification = {
    attribute: "lastName",
    value: p.rectified,
    at: "2025-01-04T00:00:00Z",
    by: "operator"
  }
  return { ...p, records, values, event, rectification }
}

const key32 = (): string => randomBytes(32).toString("base64")

/** The strings of a dump with every sealed value opened (record values are `<ms>|<sealed>`). */
const opened = (dump: ReadonlyArray<Dumped>, sealer: Sealing.Sealer): Array<Dumped> =>
  dump.map((d) => ({
    ...d,
    strings: d.strings.map((s) => {
      const bar = s.indexOf("|~")
      if (s.startsWith("~")) return sealer.open(s)
      if (bar > 0 && /^\d+$/.test(s.slice(0, bar))) return sealer.open(s.slice(bar + 1))
      return s
    })
  }))

const scenario = (encrypted: boolean) =>
  it.scopedLive(
    `${encrypted ? "with" : "without"} encryption: a scan finds nothing of the erased person, all of the bystander`,
    () =>
      Effect.gen(function* () {
        assertBuilt()
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const k1 = key32()
        const encryption = encrypted ? { keys: { k1 }, current: "k1" } : undefined
        const options = {
          url: REDIS_URL,
          keyPrefix: prefix,
          secret: Redacted.make(SECRET),
          ...(encryption === undefined
            ? {}
            : { encryption: { keys: { k1: Redacted.make(k1) }, current: "k1" } })
        }
        const store = yield* makeProfileStore(options)
        const gone = personOf()
        const stays = personOf()
        const [a1, a2, a3] = gone.records
        const idOf = (rec: Rec) =>
          Effect.map(store.profileIdOf(rec), (o) =>
            Option.getOrThrowWith(o, () => new Error(`no profile: ${keyOf(rec)}`))
          )

        // Two profiles of the person, each with something of its own, then the record that merges them.
        yield* store.write({ upserts: [a1, a2, ...stays.records] })
        const first = yield* idOf(a1)
        const second = yield* idOf(a2)
        expect(first).not.toBe(second)
        expect(yield* store.addProfileEvents(second, [gone.event])).toBe(true)
        yield* store.write({ upserts: [a3] })
        const merged = yield* idOf(a1)
        expect(yield* idOf(a2)).toBe(merged)
        expect(yield* idOf(a3)).toBe(merged)
        expect(yield* store.addRectification(merged, gone.rectification)).toBe(true)
        const other = yield* idOf(stays.records[0])
        expect(yield* idOf(stays.records[2])).toBe(other)
        expect(yield* store.addProfileEvents(other, [stays.event])).toBe(true)
        expect(yield* store.addRectification(other, stays.rectification)).toBe(true)

        // Before: the scan does find the person (in plaintext, or in what the sealed values open to).
        const sealer = encryption === undefined ? Sealing.plain : Sealing.make(options.encryption!)
        const readable = (d: ReadonlyArray<Dumped>) => (encrypted ? opened(d, sealer) : d)
        const before = yield* Effect.promise(() => dumpPrefix(r, prefix))
        for (const v of gone.values)
          expect(hits(readable(before), [v]), `${v} before erasure`).not.toEqual([])

        const erased = Option.getOrThrow(yield* store.erase(second))
        expect(erased.profileId).toBe(merged)
        expect(erased.records.map(keyOf).sort()).toEqual(gone.records.map(keyOf).sort())
        expect(erased.tombstones).toBeGreaterThan(0)

        const check = (label: string) =>
          Effect.gen(function* () {
            const dump = yield* Effect.promise(() => dumpPrefix(r, prefix))
            expect(hits(dump, gone.values), `${label}: the erased person's values in the raw keys`).toEqual(
              []
            )
            expect(hits(dump, [first, second, merged]), `${label}: the erased profile ids`).toEqual([])
            if (encrypted) {
              // Nothing of anyone in plaintext: every record value, profile event and rectification is sealed.
              expect(hits(dump, stays.values), `${label}: the bystander in plaintext`).toEqual([])
              const sealed = dump.filter((d) => d.key.endsWith("{g}rec") || /p[er]:\{/.test(d.key))
              expect(sealed.length).toBeGreaterThanOrEqual(3)
              for (const d of sealed) {
                const values =
                  d.type === "hash" ? d.strings.filter((_, i) => i > 0 && i % 2 === 0) : d.strings.slice(1)
                for (const v of values)
                  expect(v.slice(v.indexOf("|") + 1), d.key).toMatch(/^~k1~[A-Za-z0-9_-]+$/)
              }
              // And nothing of the erased person in what they open to, all of the bystander.
              const plain = opened(dump, sealer)
              expect(hits(plain, gone.values), `${label}: the erased person, opened`).toEqual([])
              for (const v of stays.values)
                expect(hits(plain, [v]), `${label}: bystander's ${v}, opened`).not.toEqual([])
            } else {
              for (const v of stays.values)
                expect(hits(dump, [v]), `${label}: bystander's ${v}`).not.toEqual([])
            }
            // The bystander reads back whole.
            const kept = Option.getOrThrow(yield* store.profile(other))
            expect(kept.records.map(keyOf).sort()).toEqual(stays.records.map(keyOf).sort())
            expect(kept.profileEvents).toEqual([stays.event])
            expect(kept.rectifications).toEqual([stays.rectification])
            expect((yield* listed(store)).map((p) => p.profileId)).toEqual([other])
            for (const rec of gone.records) {
              expect(yield* store.record(rec), label).toEqual(Option.none())
              expect(yield* store.profileIdOf(rec), label).toEqual(Option.none())
            }
            for (const id of [first, second, merged])
              expect(yield* store.profile(id), label).toEqual(Option.none())
          })
        yield* check("after erasure")

        // Re-ingesting is suppressed: the erased records, a newer version of one, a new record with the e-mail.
        const newer: Rec = { ...a2, updatedAt: "2026-01-01T00:00:00Z", attributes: { note: "newer" } }
        const byMail: Rec = {
          source: "web",
          id: `web-${hex()}`,
          updatedAt: "2026-01-01T00:00:00Z",
          identifiers: { email: [gone.mail] }
        }
        const again = yield* store.write({ upserts: [a1, a3, newer, byMail] })
        expect({ created: again.created, updated: again.updated, suppressed: again.suppressed }).toEqual({
          created: 0,
          updated: 0,
          suppressed: 4
        })
        yield* check("after re-ingesting in the same process")

        // A second process, started fresh, suppresses them too.
        const byPhone: Rec = {
          source: "app",
          id: `app-${hex()}`,
          updatedAt: "2026-01-02T00:00:00Z",
          identifiers: { phone: [gone.phone] }
        }
        const w = yield* worker({
          mode: "write",
          url: REDIS_URL,
          prefix,
          secret: SECRET,
          ...(encryption === undefined ? {} : { encryption }),
          upserts: [a1, a2, a3, byMail, byPhone]
        })
        const line = yield* Effect.promise(() =>
          w.waitFor((l) => l.startsWith("result ") || l.startsWith("error "))
        )
        expect(line.startsWith("result "), `${line} ${w.stderr()}`).toBe(true)
        expect(JSON.parse(line.slice("result ".length))).toMatchObject({
          created: 0,
          updated: 0,
          suppressed: 5
        })
        expect(yield* Effect.promise(() => w.exited)).toBe(0)
        yield* check("after re-ingesting in a second process")
      }),
    60_000
  )

whenRedis(() =>
  describe("RedisProfileStore: erasure, checked by scanning", () => {
    scenario(false)
    scenario(true)
  })
)
