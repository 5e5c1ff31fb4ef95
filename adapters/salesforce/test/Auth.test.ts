import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Effect, Option, Redacted } from "effect"
import { make, type SalesforceConfig } from "../src/index.js"
import { type Emulator, emulator, optionsFor, person, refusedAuth, requests } from "./support/Emulator.js"

const clientCredentials = (em: Emulator): SalesforceConfig.Auth => ({
  type: "client-credentials",
  clientId: em.credentials.clientId,
  clientSecret: Redacted.make(em.credentials.clientSecret)
})

const tokenRequests = (em: Emulator) => requests(em, "POST", "/services/oauth2/token")

describe("authentication", () => {
  for (const flow of ["password", "client-credentials"] as const)
    it.scopedLive(`${flow}: a 401 refreshes the session once and the call succeeds`, () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const options = flow === "password" ? optionsFor(em) : optionsFor(em, { auth: clientCredentials(em) })
        const { target } = yield* make(options)
        const p = person(em)
        expect(Option.isSome((yield* target.read([{ externalId: p.contactId }]))[0]!)).toBe(true)
        em.sessions.expireAll()
        em.backdoor.clearRequestLog()
        const [got] = yield* target.read([{ externalId: p.contactId }])
        expect(Option.map(got!, (h) => h.externalId)).toEqual(Option.some(p.contactId))
        const log = em.backdoor.requestLog
        expect(log[0]?.status).toBe(401)
        expect(log[1]).toMatchObject({ method: "POST", path: "/services/oauth2/token", status: 200 })
        expect(log.slice(2).every((r) => r.status === 200)).toBe(true)
        expect(tokenRequests(em)).toHaveLength(1)
      })
    )

  it.scopedLive("a 401 whose refresh is refused fails Unauthorized after exactly one refresh attempt", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { target } = yield* make(optionsFor(em))
      const p = person(em)
      yield* target.read([{ externalId: p.contactId }])
      em.backdoor.clearRequestLog()
      em.faults.next({ path: "/services/data/", status: 401 })
      em.faults.next({
        path: "/services/oauth2/token",
        status: 400,
        errorCode: "invalid_grant",
        message: "expired"
      })
      const err = yield* Effect.flip(target.read([{ externalId: p.contactId }]))
      expect(err.reason).toBe("Unauthorized")
      expect(err.code).toBe("invalid_grant")
      expect(err.isRetryable).toBe(false)
      expect(tokenRequests(em)).toHaveLength(1)
    })
  )

  it.scopedLive(
    "a token refused again right after a refresh fails Unauthorized instead of refreshing forever",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em))
        const p = person(em)
        yield* target.read([{ externalId: p.contactId }])
        em.backdoor.clearRequestLog()
        const rule = em.faults.rule({ path: "/services/data/", status: 401 })
        const err = yield* Effect.flip(target.read([{ externalId: p.contactId }]))
        rule.remove()
        expect(err.reason).toBe("Unauthorized")
        expect(err.code).toBe("INVALID_SESSION_ID")
        expect(tokenRequests(em)).toHaveLength(1)
        expect(requests(em, "GET", "/query").map((r) => r.status)).toEqual([401, 401])
      })
  )

  it.scopedLive("bad credentials fail the login with Unauthorized; a later call logs in again", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const p = person(em)
      const { target } = yield* make(optionsFor(em, { auth: refusedAuth(em) }))
      const err = yield* Effect.flip(target.read([{ externalId: p.contactId }]))
      expect(err).toMatchObject({ reason: "Unauthorized", code: "invalid_grant", operation: "read" })
      expect(err.message).not.toContain("not-the-password")
      expect(tokenRequests(em)).toHaveLength(1)
      yield* Effect.flip(target.read([{ externalId: p.contactId }]))
      expect(tokenRequests(em)).toHaveLength(2)
    })
  )

  it.scopedLive("403 REQUEST_LIMIT_EXCEEDED (the daily limit) is RateLimited, for push and pull", () =>
    Effect.gen(function* () {
      const em = yield* emulator({ dailyLimit: 1000 })
      const { target } = yield* make(optionsFor(em))
      const p = person(em)
      yield* target.read([{ externalId: p.contactId }])
      em.limits.setUsed(1000)
      const diff = ConsentTarget.address(
        {
          profileId: "p",
          target: "salesforce",
          changes: [
            {
              key: "marketing/email",
              field: "ContactPointTypeConsent:Marketing:Email",
              from: null,
              to: "granted",
              because: {
                status: "granted",
                capturedAt: "2026-01-01T00:00:00Z",
                source: "web",
                eventId: "e",
                legalBasis: "consent"
              }
            }
          ]
        },
        { externalId: p.contactId }
      )
      const pushed = yield* Effect.flip(target.push([diff]))
      expect(pushed).toMatchObject({
        reason: "RateLimited",
        code: "REQUEST_LIMIT_EXCEEDED",
        operation: "push"
      })
      expect(pushed.isRetryable).toBe(true)
      expect(pushed.detail).toContain("HTTP 403")
      const pulled = yield* Effect.flip(target.pull(Option.none()))
      expect(pulled).toMatchObject({
        reason: "RateLimited",
        code: "REQUEST_LIMIT_EXCEEDED",
        operation: "pull"
      })
      expect(em.backdoor.count("ContactPointTypeConsent")).toBe(0)
    })
  )
})
