/**
 * Erasure leaves nothing personal behind: after a person was created by e-mail, pushed to,
 * changed by an edge service (stream entries) and pulled, erasing them and scanning every key of
 * the prefix finds no key, field or stream entry of theirs; a bystander keeps everything.
 */
import { describe, expect, it } from "@effect/vitest"
import type { ConsentTarget } from "@living-profile/core"
import { Effect, Option } from "effect"
import { make } from "../src/index.js"
import { edgeWrite, freshPrefix, optionsFor, rawRedis, scanKeys, whenRedis } from "./support/redis.js"

const diff = (ref: ConsentTarget.PersonRef, field: string): ConsentTarget.TargetDiff => ({
  profileId: "p",
  target: "redis",
  ref,
  changes: [
    {
      key: "k",
      field,
      from: null,
      to: "granted",
      because: {
        status: "granted",
        capturedAt: new Date().toISOString(),
        source: "test",
        eventId: "e",
        legalBasis: "consent",
        policyVersion: "v1"
      }
    }
  ]
})

whenRedis(() =>
  describe("erasure", () => {
    it.scopedLive("a SCAN of the prefix after erasure finds nothing of the person", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const { target } = yield* make(optionsFor(prefix))
        const mail = "Erase.Me@Example.test"
        const other = "stay@example.test"
        const [me, bystander] = yield* target.push([
          diff({ identifiers: { email: [mail] } }, "marketing.email"),
          diff({ identifiers: { email: [other] } }, "marketing.email")
        ])
        const id = me?._tag === "Applied" ? me.externalId : ""
        const otherId = bystander?._tag === "Applied" ? bystander.externalId : ""
        yield* Effect.promise(() =>
          edgeWrite(r, prefix, id, "marketing.sms", "denied", "2024-01-01T00:00:00.000Z")
        )
        // An entry the writer did not index (XADD only): pull indexes it, erasure scrubs it.
        yield* Effect.promise(() =>
          edgeWrite(r, prefix, id, "analytics", "granted", "2024-01-02T00:00:00.000Z", false)
        )
        yield* Effect.promise(() =>
          edgeWrite(r, prefix, otherId, "marketing.sms", "granted", "2024-01-01T00:00:00.000Z")
        )
        yield* target.pull(Option.none())

        // Before: the raw e-mail is in no key name (index keys are keyed hashes).
        const before = yield* Effect.promise(() => scanKeys(r, prefix))
        expect(before.some((k) => k.toLowerCase().includes("erase.me"))).toBe(false)
        expect(before.filter((k) => k.includes(id)).length).toBeGreaterThan(0)

        // Erased by e-mail, in another case: the index finds them.
        expect(yield* target.erase([{ identifiers: { email: ["erase.me@example.test"] } }])).toEqual([
          { _tag: "Erased" }
        ])

        const after = yield* Effect.promise(() => scanKeys(r, prefix))
        expect(after.filter((k) => k.includes(id))).toEqual([])
        for (const key of after) {
          const type = yield* Effect.promise(() => r.type(key))
          const dump =
            type === "hash"
              ? JSON.stringify(yield* Effect.promise(() => r.hgetall(key)))
              : type === "stream"
                ? JSON.stringify(yield* Effect.promise(() => r.xrange(key, "-", "+")))
                : type === "set"
                  ? JSON.stringify(yield* Effect.promise(() => r.smembers(key)))
                  : String(yield* Effect.promise(() => r.get(key)))
          expect(dump, key).not.toContain(id)
          expect(dump.toLowerCase(), key).not.toContain("erase.me")
        }
        // The index keys left belong to the bystander only.
        const idents = after.filter((k) => k.startsWith(`${prefix}ident:`))
        expect(idents).toHaveLength(1)
        expect(yield* Effect.promise(() => r.get(idents[0]!))).toBe(otherId)
        // The bystander keeps their state, and the erased person reads as nobody.
        const [gone, kept] = yield* target.read([{ externalId: id }, { externalId: otherId }])
        expect(gone).toEqual(Option.none())
        expect(Option.map(kept ?? Option.none(), (p) => p.fields.get("marketing.sms")?.status)).toEqual(
          Option.some("granted")
        )
        // Erasing again is Absent; pushing to the erased id is NotFound (no resurrection).
        expect(yield* target.erase([{ externalId: id }])).toEqual([{ _tag: "Absent" }])
        const [again] = yield* target.push([diff({ externalId: id }, "marketing.email")])
        expect(again?._tag === "Failed" ? again.error.reason : again?._tag).toBe("NotFound")
      })
    )

    it.scopedLive("an entry an edge service writes for an erased person is scrubbed by the next pull", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const { target } = yield* make(optionsFor(prefix))
        const [me] = yield* target.push([
          diff({ identifiers: { email: ["late@example.test"] } }, "profiling")
        ])
        const id = me?._tag === "Applied" ? me.externalId : ""
        yield* target.erase([{ externalId: id }])
        // A late click from a stale page, written after the erasure.
        yield* Effect.promise(() =>
          edgeWrite(r, prefix, id, "profiling", "granted", new Date().toISOString(), false)
        )
        const page = yield* target.pull(Option.none())
        expect(page.changes.filter((c) => c.externalId === id)).toEqual([])
        const entries = yield* Effect.promise(() => r.xrange(`${prefix}changes`, "-", "+"))
        expect(JSON.stringify(entries)).not.toContain(id)
        expect(yield* target.read([{ externalId: id }])).toEqual([Option.none()])
      })
    )
  })
)
