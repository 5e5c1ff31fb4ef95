/**
 * Encryption at rest, checked on the raw keys: with a key ring every record value, profile event
 * and rectification Redis holds is sealed under the current key id and holds no plaintext, and
 * reads give back exactly what was written. Key rotation: a store whose ring has the old and the
 * new key reads old values, `reseal` rewrites every one under the new key, and a store with only
 * the new key then reads everything. A store with the wrong key, an unknown key id or no ring
 * fails with a StoreError that names no value, and must not damage what the right key reads.
 */
import { randomBytes } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { ConsentEvent, type ProfileStore, type SourceRecord } from "@living-profile/core"
import { Cause, Effect, Either, Exit, Option, Redacted, Stream } from "effect"
import type { Redis } from "ioredis"
import { makeProfileStore } from "../src/index.js"
import { dumpPrefix, hits } from "./support/dump.js"
import { batches, keyOf, listed, memoryPartition, partitionOf, synthetic } from "./support/partition.js"
import { freshPrefix, rawRedis, REDIS_URL, whenRedis } from "./support/redis.js"

type Rec = SourceRecord.SourceRecord

const SECRET = "sealing-secret"
const RECORDS = 300
const SEED = 31_337

const key32 = (): string => randomBytes(32).toString("base64")

const storeOn = (prefix: string, keys: Record<string, string> | undefined, current = "") =>
  makeProfileStore({
    url: REDIS_URL,
    keyPrefix: prefix,
    secret: Redacted.make(SECRET),
    ...(keys === undefined
      ? {}
      : {
          encryption: {
            keys: Object.fromEntries(Object.entries(keys).map(([id, k]) => [id, Redacted.make(k)])),
            current
          }
        })
  })

/** The stored values: record payloads (after `<ms>|`) and the items of every profile list. */
const sealedValues = async (
  r: Redis,
  prefix: string
): Promise<{ records: Array<string>; lists: Array<string> }> => {
  const records = Object.values(await r.hgetall(`${prefix}{g}rec`)).map((v) => {
    expect(v).toMatch(/^\d+\|/)
    return v.slice(v.indexOf("|") + 1)
  })
  const lists = (await dumpPrefix(r, prefix))
    .filter((d) => /p[er]:\{/.test(d.key))
    .flatMap((d) => d.strings.slice(1))
  return { records, lists }
}

/** The StoreError an operation fails with; a success or a defect (a crash) fails the test. */
const storeError = <A>(op: Effect.Effect<A, ProfileStore.StoreError>) =>
  Effect.map(Effect.exit(op), (exit) => {
    if (Exit.isSuccess(exit)) throw new Error("expected a StoreError, the operation succeeded")
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure))
      throw new Error(`expected a StoreError, got a defect: ${Cause.pretty(exit.cause)}`)
    return failure.value
  })

/** Long, distinctive plaintext of the records: e-mails and record ids (short names occur in base64 by chance). */
const plaintextOf = (records: ReadonlyArray<Rec>): Array<string> =>
  records.flatMap((r) => [r.id, ...(r.identifiers?.["email"] ?? [])]).filter((s) => s.length >= 9)

const choice = (n: number): ConsentEvent.ConsentEvent =>
  ConsentEvent.make({
    eventId: `sealing-choice-${n}-${randomBytes(4).toString("hex")}`,
    purpose: "marketing",
    channel: "email",
    status: n % 2 === 0 ? "granted" : "withdrawn",
    legalBasis: "consent",
    capturedAt: `2025-01-0${n}T00:00:00Z`,
    source: "preference-center"
  })

whenRedis(() =>
  describe("RedisProfileStore: encryption at rest", () => {
    it.scopedLive(
      "seals every value, reads back what was written, rotates keys and refuses a wrong key",
      () =>
        Effect.gen(function* () {
          const prefix = freshPrefix()
          const r = yield* rawRedis(prefix)
          const k1 = key32()
          const k2 = key32()
          const records = synthetic(RECORDS, SEED)
          const events = [choice(1), choice(2)]
          const fix: ProfileStore.Rectification = {
            attribute: "city",
            value: "Sealed-City-Rectified",
            at: "2025-01-03T00:00:00Z",
            by: "operator"
          }

          // Written under k1: sealed, no plaintext, and read back equal.
          const first = yield* storeOn(prefix, { k1 }, "k1")
          for (const batch of batches(records, 100)) yield* first.write({ upserts: batch })
          const id = Option.getOrThrow(yield* first.profileIdOf(records[0]!))
          expect(yield* first.addProfileEvents(id, events)).toBe(true)
          expect(yield* first.addRectification(id, fix)).toBe(true)
          const underK1 = yield* Effect.promise(() => sealedValues(r, prefix))
          expect(underK1.records).toHaveLength(RECORDS)
          expect(underK1.lists).toHaveLength(events.length + 1)
          for (const v of [...underK1.records, ...underK1.lists]) expect(v).toMatch(/^~k1~[A-Za-z0-9_-]+$/)
          const dump = yield* Effect.promise(() => dumpPrefix(r, prefix))
          expect(
            hits(dump, [...plaintextOf(records), fix.value as string, ...events.map((e) => e.eventId)])
          ).toEqual([])
          for (const rec of records) expect(yield* first.record(rec), keyOf(rec)).toEqual(Option.some(rec))
          const expected = yield* memoryPartition(records)
          expect(partitionOf(yield* listed(first))).toEqual(expected)
          const profile = Option.getOrThrow(yield* first.profile(id))
          expect(profile.profileEvents).toEqual(events)
          expect(profile.rectifications).toEqual([fix])
          // Sealing is deterministic per key, so re-ingesting is seen as unchanged.
          const again = yield* first.write({ upserts: records })
          expect({ unchanged: again.unchanged, updated: again.updated }).toEqual({
            unchanged: RECORDS,
            updated: 0
          })

          // Rotation: a ring with k1 and k2 (current) reads k1's values and seals new ones under k2.
          const both = yield* storeOn(prefix, { k1, k2 }, "k2")
          for (const rec of records) expect(yield* both.record(rec), keyOf(rec)).toEqual(Option.some(rec))
          const added: Rec = {
            source: "sealing",
            id: `added-${randomBytes(4).toString("hex")}`,
            updatedAt: "2025-02-01T00:00:00Z",
            attributes: { firstName: "Added" }
          }
          expect((yield* both.write({ upserts: [added] })).created).toBe(1)
          const withAdded = yield* Effect.promise(() => sealedValues(r, prefix))
          expect(withAdded.records.filter((v) => v.startsWith("~k2~"))).toHaveLength(1)
          // reseal rewrites every value still under k1, and nothing more.
          expect(yield* both.reseal).toBe(RECORDS + events.length + 1)
          const underK2 = yield* Effect.promise(() => sealedValues(r, prefix))
          expect(underK2.records).toHaveLength(RECORDS + 1)
          for (const v of [...underK2.records, ...underK2.lists]) expect(v).toMatch(/^~k2~[A-Za-z0-9_-]+$/)
          expect(yield* both.reseal, "a second reseal").toBe(0)

          // k1 dropped: a store with only k2 reads everything, and its replica catches up from the whole log.
          const second = yield* storeOn(prefix, { k2 }, "k2")
          for (const rec of [...records, added])
            expect(yield* second.record(rec), keyOf(rec)).toEqual(Option.some(rec))
          const resealed = Option.getOrThrow(yield* second.profile(id))
          expect(resealed.profileEvents).toEqual(events)
          expect(resealed.rectifications).toEqual([fix])
          yield* second.sync
          expect(partitionOf(yield* listed(second))).toEqual(yield* memoryPartition([...records, added]))
          expect((yield* second.write({ upserts: records })).unchanged).toBe(RECORDS)

          // A wrong key under the right id is refused when the store opens, before it seals anything.
          const wrongKey = key32()
          const wrong = yield* Effect.either(Effect.scoped(storeOn(prefix, { k2: wrongKey }, "k2")))
          expect(wrong._tag).toBe("Left")
          if (Either.isLeft(wrong)) {
            expect(wrong.left._tag).toBe("StoreError")
            expect(wrong.left.message).toContain('key "k2" differs')
            expect(wrong.left.message).not.toContain(wrongKey)
            expect(wrong.left.message).not.toContain(k2)
          }
          // An unknown key id and no ring at all open, and then fail on every read: StoreErrors naming no value.
          const unknown = yield* storeOn(prefix, { k9: key32() }, "k9")
          const none = yield* storeOn(prefix, undefined)
          const probe = records[0]!
          for (const [name, store] of Object.entries({ unknown, none })) {
            const failures = {
              record: yield* storeError(store.record(probe)),
              profile: yield* storeError(store.profile(id)),
              profiles: yield* storeError(Stream.runDrain(store.profiles)),
              sync: yield* storeError(store.sync)
            }
            for (const [op, e] of Object.entries(failures)) {
              expect(e._tag, `${name} ${op}`).toBe("StoreError")
              expect(
                hits([{ key: op, type: "error", strings: [e.message, e.detail] }], plaintextOf([probe]))
              ).toEqual([])
              expect(e.message, `${name} ${op}`).not.toContain(k2)
            }
          }
          // The key material never shows in a message either, nor in a key-ring error.
          const bad = yield* Effect.either(Effect.scoped(storeOn(prefix, { k3: "too-short" }, "k3")))
          expect(bad._tag).toBe("Left")
          expect(String(bad._tag === "Left" ? bad.left.message : "")).not.toContain("too-short")
        }),
      60_000
    )

    it.scopedLive(
      "a process with the wrong key is refused at open and every value stays readable with the right key",
      () =>
        Effect.gen(function* () {
          const prefix = freshPrefix()
          yield* rawRedis(prefix)
          const k1 = key32()
          const records = synthetic(60, SEED + 1)
          const right = yield* storeOn(prefix, { k1 }, "k1")
          yield* right.write({ upserts: records })
          const raw = yield* rawRedis()
          const before = {
            rec: yield* Effect.promise(() => raw.hlen(right.keys.rec)),
            log: yield* Effect.promise(() => raw.xlen(right.keys.log))
          }
          // A process deployed with the wrong key material under the same id is refused when it opens,
          // so it cannot write a value nobody else can open.
          const wrong = yield* Effect.either(Effect.scoped(storeOn(prefix, { k1: key32() }, "k1")))
          expect(wrong._tag).toBe("Left")
          if (Either.isLeft(wrong)) expect(wrong.left._tag).toBe("StoreError")
          expect({
            rec: yield* Effect.promise(() => raw.hlen(right.keys.rec)),
            log: yield* Effect.promise(() => raw.xlen(right.keys.log))
          }).toEqual(before)
          // The right key still reads every record, and the store still takes writes.
          for (const rec of records) {
            const read = yield* Effect.either(right.record(rec))
            expect(
              Either.isRight(read) ? read.right : read.left.message,
              `${keyOf(rec)} after the wrong-key write`
            ).toEqual(Option.some(rec))
          }
          const next = yield* Effect.either(
            right.write({ upserts: [{ ...records[1]!, updatedAt: "2030-01-01T00:00:00Z" }] })
          )
          expect(
            Either.isRight(next) ? "written" : next.left.message,
            "a write by the right key after the wrong-key write"
          ).toBe("written")
        })
    )
  })
)
