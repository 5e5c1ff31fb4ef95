/**
 * The edge's side: one `HGETALL` gives a person's consent; changes other services append to the
 * stream are pulled with their modification time and materialised into the hash; the stream can
 * never roll a field back.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Effect, Option } from "effect"
import { make } from "../src/index.js"
import { edgeWrite, freshPrefix, optionsFor, rawRedis, whenRedis } from "./support/redis.js"

const grant = (ref: ConsentTarget.PersonRef): ConsentTarget.TargetDiff => ({
  profileId: "p",
  target: "redis",
  ref,
  changes: [
    {
      key: "marketing/email",
      field: "marketing.email",
      from: null,
      to: "granted",
      because: {
        status: "granted",
        capturedAt: new Date().toISOString(),
        source: "test",
        eventId: "e",
        legalBasis: "consent"
      }
    }
  ]
})

whenRedis(() =>
  describe("edge read and stream", () => {
    it.scopedLive("the edge reads a person's consent with one HGETALL", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const { target } = yield* make(optionsFor(prefix))
        const [res] = yield* target.push([grant({ identifiers: { email: ["edge@example.test"] } })])
        const id = res?._tag === "Applied" ? res.externalId : ""
        const consent = yield* Effect.promise(() => r.hgetall(`${prefix}consent:{${id}}`))
        expect(consent["marketing.email"]).toBe("granted")
        expect(Number.isNaN(Date.parse(consent["__modifiedAt:marketing.email"] ?? ""))).toBe(false)
        // Nothing else is in the hash: no identifiers for the edge to leak.
        expect(Object.keys(consent).sort()).toEqual(["__modifiedAt:marketing.email", "marketing.email"])
      })
    )

    it.scopedLive("an XADD-only writer's change is pulled, then read sees it; stale entries never win", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const { target } = yield* make(optionsFor(prefix))
        const [res] = yield* target.push([grant({ identifiers: { email: ["click@example.test"] } })])
        const id = res?._tag === "Applied" ? res.externalId : ""
        const late = "2099-01-01T00:00:00.000Z"
        yield* Effect.promise(() => edgeWrite(r, prefix, id, "marketing.sms", "withdrawn", late, false))
        const unread = yield* target.read([{ externalId: id }])
        expect(Option.map(unread[0] ?? Option.none(), (p) => p.fields.has("marketing.sms"))).toEqual(
          Option.some(false)
        )
        const { changes, cursor } = yield* ConsentTarget.pullAll(target, Option.none())
        expect(changes.filter((c) => c.externalId === id)).toEqual([
          {
            externalId: id,
            identifiers: { email: ["click@example.test"] },
            field: "marketing.sms",
            status: "withdrawn",
            modifiedAt: late
          }
        ])
        const [held] = yield* target.read([{ externalId: id }])
        expect(Option.map(held ?? Option.none(), (p) => p.fields.get("marketing.sms"))).toEqual(
          Option.some({ status: "withdrawn", modifiedAt: late })
        )
        // An older entry appended later does not replace the newer state, though it is pulled.
        yield* Effect.promise(() =>
          edgeWrite(r, prefix, id, "marketing.sms", "granted", "2020-01-01T00:00:00.000Z", false)
        )
        expect((yield* ConsentTarget.pullAll(target, Option.some(cursor))).changes).toHaveLength(1)
        const [still] = yield* target.read([{ externalId: id }])
        expect(Option.map(still ?? Option.none(), (p) => p.fields.get("marketing.sms")?.status)).toEqual(
          Option.some("withdrawn")
        )
      })
    )

    it.scopedLive("entries it cannot use are skipped and the cursor moves past them", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const { target } = yield* make(optionsFor(prefix))
        const [res] = yield* target.push([grant({ identifiers: { email: ["odd@example.test"] } })])
        const id = res?._tag === "Applied" ? res.externalId : ""
        const stream = `${prefix}changes`
        yield* Effect.promise(() =>
          r.xadd(
            stream,
            "*",
            "externalId",
            id,
            "field",
            "nope",
            "status",
            "granted",
            "modifiedAt",
            "2024-01-01T00:00:00Z"
          )
        )
        yield* Effect.promise(() =>
          r.xadd(
            stream,
            "*",
            "externalId",
            id,
            "field",
            "profiling",
            "status",
            "expired",
            "modifiedAt",
            "2024-01-01T00:00:00Z"
          )
        )
        yield* Effect.promise(() => r.xadd(stream, "*", "garbage", "1"))
        const page = yield* target.pull(Option.none())
        expect(page.changes).toEqual([])
        expect(page.hasMore).toBe(false)
        const last = yield* Effect.promise(() => r.xrevrange(stream, "+", "-", "COUNT", 1))
        expect(page.cursor).toBe(`r1.${last[0]?.[0]}`)
        expect((yield* target.pull(Option.some(page.cursor))).changes).toEqual([])
      })
    )

    it.scopedLive("an empty stream gives a cursor that later changes come after", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const r = yield* rawRedis(prefix)
        const { target } = yield* make(optionsFor(prefix))
        const empty = yield* target.pull(Option.none())
        expect(empty).toMatchObject({ changes: [], hasMore: false })
        const [res] = yield* target.push([grant({ identifiers: { email: ["first@example.test"] } })])
        const id = res?._tag === "Applied" ? res.externalId : ""
        yield* Effect.promise(() =>
          edgeWrite(r, prefix, id, "profiling", "denied", "2024-05-05T00:00:00.000Z")
        )
        const next = yield* target.pull(Option.some(empty.cursor))
        expect(next.changes.map((c) => [c.field, c.status])).toEqual([["profiling", "denied"]])
      })
    )
  })
)
