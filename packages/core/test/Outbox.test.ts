import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import * as AdapterError from "../src/AdapterError.js"
import type * as ConsentTarget from "../src/ConsentTarget.js"
import * as Outbox from "../src/Outbox.js"

const diff = (to: "granted" | "denied", ref: ConsentTarget.PersonRef): ConsentTarget.TargetDiff => ({
  profileId: "p1",
  target: "crm",
  changes: [
    {
      key: "marketing/email",
      field: "newsletter",
      from: null,
      to,
      because: {
        status: to,
        capturedAt: "2025-01-01T00:00:00Z",
        source: "preference-center",
        eventId: `e-${to}`,
        legalBasis: "consent"
      }
    }
  ],
  ref
})

const byEmail = { identifiers: { email: ["ada@example.org"] } }

describe("Outbox", () => {
  it("an item's id depends on its content, never on identifier values", () => {
    const a = Outbox.push(diff("granted", byEmail), 0)
    expect(Outbox.push(diff("granted", byEmail), 99).id).toBe(a.id)
    expect(Outbox.push(diff("granted", { identifiers: { email: ["other@example.org"] } }), 0).id).toBe(a.id)
    expect(Outbox.push(diff("denied", byEmail), 0).id).not.toBe(a.id)
    expect(Outbox.push(diff("granted", { externalId: "x1" }), 0).id).not.toBe(a.id)
    expect(a.id).not.toContain("ada")
    expect(Outbox.keyOf(a)).toBe(Outbox.keyOf(Outbox.push(diff("denied", byEmail), 0)))
  })

  it("a superseding item keeps the first enqueue time, the attempts and the backoff", () => {
    const first = { ...Outbox.push(diff("granted", byEmail), 100), attempts: 2, nextAttemptAt: 5000 }
    const next = Outbox.supersede(first, Outbox.push(diff("denied", byEmail), 200))
    expect(next).toMatchObject({ enqueuedAt: 100, attempts: 2, nextAttemptAt: 5000 })
    expect(next._tag === "Push" && next.diff.changes[0]!.to).toBe("denied")
    expect(Outbox.supersede(first, Outbox.push(diff("granted", byEmail), 300))).toBe(first)
  })

  it.effect(
    "the default policy backs off exponentially, honours retryAfter and gives up after maxAttempts",
    () =>
      Effect.gen(function* () {
        const policy = Outbox.retryPolicy({ maxAttempts: 3, jitter: false, base: "1 second" })
        const reset = AdapterError.transport("crm", "connection reset")
        expect(yield* Outbox.nextAttempt(policy, 1, reset, 0)).toEqual(Option.some(1000))
        expect(yield* Outbox.nextAttempt(policy, 2, reset, 0)).toEqual(Option.some(2000))
        expect(yield* Outbox.nextAttempt(policy, 3, reset, 0)).toEqual(Option.none())
        const limited = AdapterError.rateLimited("crm", "slow down", "45 seconds")
        expect(yield* Outbox.nextAttempt(policy, 1, limited, 0)).toEqual(Option.some(45_000))
        expect(yield* Outbox.nextAttempt(policy, 1, AdapterError.invalid("crm", "bad request"), 0)).toEqual(
          Option.none()
        )
        const capped = Outbox.retryPolicy({ maxAttempts: 20, jitter: false, maxDelay: "10 seconds" })
        expect(yield* Outbox.nextAttempt(capped, 10, reset, 0)).toEqual(Option.some(10_000))
      })
  )

  it.effect("failed counts an attempt and records the reason; the last one parks the item", () =>
    Effect.gen(function* () {
      const policy = Outbox.retryPolicy({ maxAttempts: 2, jitter: false })
      const item = Outbox.push(diff("granted", byEmail), 0)
      const e = AdapterError.conflict("crm", "the row is locked", { code: "423" })
      const once = yield* Outbox.failed(item, e, 10, policy)
      expect(once._tag).toBe("Retry")
      if (once._tag !== "Retry") return
      expect(once.item).toMatchObject({
        attempts: 1,
        nextAttemptAt: 1010,
        lastError: { reason: "Conflict", code: "423" }
      })
      const twice = yield* Outbox.failed(once.item, e, 2000, policy)
      expect(twice._tag).toBe("Park")
      if (twice._tag !== "Park") return
      expect(twice.letter).toMatchObject({
        parkedAt: 2000,
        failure: { reason: "Conflict" },
        item: { attempts: 2 }
      })
      const revived = Outbox.revive(twice.letter, 5000)
      expect(revived).toMatchObject({ attempts: 0, nextAttemptAt: 5000 })
      expect(revived.lastError).toBeUndefined()
    })
  )

  it("items and dead letters round-trip through their JSON wire format", () => {
    const item = Outbox.erase("crm", "p1", [{ externalId: "x1" }, byEmail], 7)
    expect(Outbox.fromJson(Outbox.toJson(item))).toEqual(Either.right(item))
    const push = {
      ...Outbox.push(diff("granted", byEmail), 1),
      lastError: { reason: "Transport" as const, detail: "reset" }
    }
    expect(Outbox.fromJson(Outbox.toJson(push))).toEqual(Either.right(push))
    const letter = Outbox.parkWith(push, { reason: "Rejected", detail: "archived" }, 9)
    expect(Outbox.deadLetterFromJson(Outbox.deadLetterToJson(letter))).toEqual(Either.right(letter))
    expect(Either.isLeft(Outbox.fromJson('{"_tag":"Push"}'))).toBe(true)
  })

  it("lag is the age of the oldest pending item", () => {
    expect(Outbox.lag(Option.none(), 1000)).toBe(0)
    expect(Outbox.lag(Option.some(400), 1000)).toBe(600)
  })
})
