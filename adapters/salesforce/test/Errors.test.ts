/**
 * One test per row of the error mapping (Errors.ts), driven through the emulator's faults where it
 * can produce the failure, else through the mapper with errors jsforce threw against the emulator.
 */
import { describe, expect, it } from "@effect/vitest"
import { Connection } from "@jsforce/jsforce-node"
import { type AdapterError, ConsentTarget } from "@living-profile/core"
import { Duration, Effect, Either, Option, type Scope } from "effect"
import { make, type SalesforceConfig, SalesforceErrors } from "../src/index.js"
import { type Emulator, emulator, optionsFor, person, purpose, sameId } from "./support/Emulator.js"

const FIELD = "ContactPointTypeConsent:Marketing:MailingAddress"

const diff = (ref: ConsentTarget.PersonRef) =>
  ConsentTarget.address(
    {
      profileId: "p",
      target: "salesforce",
      changes: [
        {
          key: "marketing/post",
          field: FIELD,
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
    ref
  )

interface Setup {
  readonly em: Emulator
  readonly target: ConsentTarget.ConsentTarget
  readonly contactId: string
  readonly individualId: string
}

/** A logged-in target over a fresh emulator with one person and the purpose in place. */
const setup = (
  overrides: Partial<SalesforceConfig.Options> = {}
): Effect.Effect<Setup, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const em = yield* emulator()
    purpose(em, "Marketing")
    const p = person(em)
    const { target } = yield* make(optionsFor(em, overrides))
    yield* target.read([{ externalId: p.contactId }])
    return { em, target, contactId: p.contactId, individualId: p.individualId! }
  })

/** The error of a push of one diff: the call's, or the item's. */
const pushError = (
  target: ConsentTarget.ConsentTarget,
  ref: ConsentTarget.PersonRef
): Effect.Effect<AdapterError.AdapterError> =>
  Effect.map(Effect.either(target.push([diff(ref)])), (outcome) => {
    if (Either.isLeft(outcome)) return outcome.left
    const r = outcome.right[0]
    if (r?._tag !== "Failed") throw new Error(`expected a failure, got ${r?._tag}`)
    return r.error
  })

const expectReason = (e: AdapterError.AdapterError, reason: AdapterError.Reason, code: string) => {
  expect(e.reason, e.message).toBe(reason)
  expect(e.code).toBe(code)
}

describe("error mapping through the emulator", () => {
  describe("RateLimited", () => {
    it.scopedLive("429 with Retry-After", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ method: "POST", status: 429, headers: { "Retry-After": "7" } })
        const e = yield* pushError(s.target, { externalId: s.contactId })
        expectReason(e, "RateLimited", "REQUEST_LIMIT_EXCEEDED")
        expect(Duration.toSeconds(e.retryAfter!)).toBe(7)
      })
    )
    it.scopedLive("403 REQUEST_LIMIT_EXCEEDED", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ method: "POST", status: 403, errorCode: "REQUEST_LIMIT_EXCEEDED" })
        const e = yield* pushError(s.target, { externalId: s.contactId })
        expectReason(e, "RateLimited", "REQUEST_LIMIT_EXCEEDED")
        expect(e.detail).toContain("HTTP 403")
      })
    )
    it.scopedLive("420", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ method: "POST", status: 420 })
        expect((yield* pushError(s.target, { externalId: s.contactId })).reason).toBe("RateLimited")
      })
    )
  })

  describe("Unauthorized", () => {
    it.scopedLive("401 INVALID_SESSION_ID after the one refresh failed", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ path: "/services/data/", status: 401 })
        s.em.faults.next({ path: "/services/oauth2/token", status: 400, errorCode: "invalid_grant" })
        expectReason(yield* pushError(s.target, { externalId: s.contactId }), "Unauthorized", "invalid_grant")
      })
    )
    it.scopedLive("OAuth invalid_client_id at login", () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em, { auth: { ...optionsFor(em).auth, clientId: "nope" } }))
        expectReason(yield* Effect.flip(target.pull(Option.none())), "Unauthorized", "invalid_client_id")
      })
    )
    it.scopedLive("403 INSUFFICIENT_ACCESS_OR_READONLY", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ method: "POST", status: 403, errorCode: "INSUFFICIENT_ACCESS_OR_READONLY" })
        expectReason(
          yield* pushError(s.target, { externalId: s.contactId }),
          "Unauthorized",
          "INSUFFICIENT_ACCESS_OR_READONLY"
        )
      })
    )
  })

  describe("NotFound", () => {
    it.scopedLive("an externalId no live Contact or Lead has", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.backdoor.delete("Contact", s.contactId)
        expectReason(yield* pushError(s.target, { externalId: s.contactId }), "NotFound", "NOT_FOUND")
      })
    )
    it.scopedLive("404 NOT_FOUND", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ path: "/query", status: 404 })
        expectReason(yield* pushError(s.target, { externalId: s.contactId }), "NotFound", "NOT_FOUND")
      })
    )
    for (const code of ["ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"])
      it.scopedLive(`${code} on a record`, () =>
        Effect.gen(function* () {
          const s = yield* setup()
          s.em.faults.record({ where: (r) => sameId(r["PartyId"], s.individualId), errorCode: code })
          expectReason(yield* pushError(s.target, { externalId: s.contactId }), "NotFound", code)
        })
      )
  })

  describe("Conflict", () => {
    for (const code of ["UNABLE_TO_LOCK_ROW", "DUPLICATE_VALUE"])
      it.scopedLive(`${code} on a record`, () =>
        Effect.gen(function* () {
          const s = yield* setup()
          s.em.faults.record({ where: (r) => sameId(r["PartyId"], s.individualId), errorCode: code })
          const e = yield* pushError(s.target, { externalId: s.contactId })
          expectReason(e, "Conflict", code)
          expect(e.isRetryable).toBe(true)
        })
      )
    it.scopedLive("409", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ method: "POST", status: 409, errorCode: "CONFLICT_X" })
        expect((yield* pushError(s.target, { externalId: s.contactId })).reason).toBe("Conflict")
      })
    )
  })

  describe("Invalid", () => {
    for (const code of [
      "REQUIRED_FIELD_MISSING",
      "MALFORMED_ID",
      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
      "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    ])
      it.scopedLive(`${code} on a record`, () =>
        Effect.gen(function* () {
          const s = yield* setup()
          s.em.faults.record({
            where: (r) => sameId(r["PartyId"], s.individualId),
            errorCode: code,
            fields: ["PartyId"]
          })
          const e = yield* pushError(s.target, { externalId: s.contactId })
          expectReason(e, "Invalid", code)
          expect(e.detail).toContain("fields PartyId")
        })
      )
    it.scopedLive(
      "STRING_TOO_LONG and INVALID_EMAIL_ADDRESS, as the org answers; no value in the error",
      () =>
        Effect.gen(function* () {
          const s = yield* setup()
          const long = `${"a".repeat(75)}@example.test`
          const tooLong = yield* pushError(s.target, { identifiers: { email: [long] } })
          expectReason(tooLong, "Invalid", "STRING_TOO_LONG")
          const bad = yield* pushError(s.target, { identifiers: { email: ["not-an-email"] } })
          expectReason(bad, "Invalid", "INVALID_EMAIL_ADDRESS")
          for (const e of [tooLong, bad]) {
            expect(e.message).not.toContain("aaaa")
            expect(e.message).not.toContain("not-an-email")
          }
        })
    )
    it.scopedLive("400 INVALID_FIELD from a query naming a field the org lacks", () =>
      Effect.gen(function* () {
        const s = yield* setup({ attributes: { Contact: { shoeSize: "ShoeSize__c" } } })
        expectReason(yield* Effect.flip(s.target.pull(Option.none())), "Invalid", "INVALID_FIELD")
      })
    )
    it.scopedLive("400 MALFORMED_QUERY", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ path: "/query", status: 400, errorCode: "MALFORMED_QUERY" })
        expectReason(yield* Effect.flip(s.target.pull(Option.none())), "Invalid", "MALFORMED_QUERY")
      })
    )
  })

  describe("Transport", () => {
    it.scopedLive("a dropped connection (ECONNRESET)", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ method: "POST", drop: true })
        const e = yield* pushError(s.target, { externalId: s.contactId })
        expectReason(e, "Transport", "ECONNRESET")
        expect(e.isRetryable).toBe(true)
      })
    )
    it.scopedLive("a timeout (AbortError)", () =>
      Effect.gen(function* () {
        const s = yield* setup({ requestTimeout: Duration.millis(300) })
        // A pull reads through Composite requests.
        s.em.faults.next({ method: "POST", path: /\/composite$/, hang: true })
        expectReason(yield* Effect.flip(s.target.pull(Option.none())), "Transport", "AbortError")
      })
    )
    for (const [status, code] of [
      [503, "SERVER_UNAVAILABLE"],
      [500, "UNKNOWN_EXCEPTION"]
    ] as const)
      it.scopedLive(`${status} ${code}`, () =>
        Effect.gen(function* () {
          const s = yield* setup()
          s.em.faults.next({ method: "POST", status })
          expectReason(yield* pushError(s.target, { externalId: s.contactId }), "Transport", code)
        })
      )
    it.scopedLive("502 with an HTML page", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({
          method: "POST",
          status: 502,
          body: "<html>bad gateway</html>",
          contentType: "text/html"
        })
        expectReason(yield* pushError(s.target, { externalId: s.contactId }), "Transport", "ERROR_HTTP_502")
      })
    )
    it.scopedLive("nobody listening (ECONNREFUSED)", () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const options = optionsFor(em)
        yield* Effect.promise(() => em.close())
        const { target } = yield* make(options)
        expectReason(yield* Effect.flip(target.pull(Option.none())), "Transport", "ECONNREFUSED")
      })
    )
  })

  describe("Unknown", () => {
    it.scopedLive("an answer of an unexpected shape", () =>
      Effect.gen(function* () {
        const s = yield* setup()
        s.em.faults.next({ path: "/query", status: 200, body: { weird: true } })
        const e = yield* Effect.flip(s.target.pull(Option.none()))
        expect(e.reason).toBe("Unknown")
        expect(e.isRetryable).toBe(false)
      })
    )
  })
})

describe("error mapping of a Composite subrequest that fails as a whole", () => {
  // The push reads and writes through Composite requests: a fault on a resource's path answers the
  // subrequest, and the call fails as the same answer to a request of its own would make it fail.
  it.scopedLive("a query subrequest: 429 with Retry-After, 503, 403 INSUFFICIENT_ACCESS", () =>
    Effect.gen(function* () {
      const s = yield* setup()
      s.em.faults.next({ path: "/query", status: 429, headers: { "Retry-After": "7" } })
      const limited = yield* pushError(s.target, { externalId: s.contactId })
      expectReason(limited, "RateLimited", "REQUEST_LIMIT_EXCEEDED")
      expect(Duration.toSeconds(limited.retryAfter!)).toBe(7)
      expect(limited.detail).toContain("HTTP 429")
      s.em.faults.next({ path: "/query", status: 503 })
      expectReason(yield* pushError(s.target, { externalId: s.contactId }), "Transport", "SERVER_UNAVAILABLE")
      s.em.faults.next({ path: "/query", status: 403, errorCode: "INSUFFICIENT_ACCESS" })
      expectReason(
        yield* pushError(s.target, { externalId: s.contactId }),
        "Unauthorized",
        "INSUFFICIENT_ACCESS"
      )
      expect(s.em.backdoor.count("ContactPointTypeConsent")).toBe(0)
    })
  )
  it.scopedLive("a collection subrequest: 400 JSON_PARSER_ERROR, and a 502 HTML page", () =>
    Effect.gen(function* () {
      const s = yield* setup()
      s.em.faults.next({
        method: "POST",
        path: "/composite/sobjects",
        status: 400,
        errorCode: "JSON_PARSER_ERROR"
      })
      expectReason(yield* pushError(s.target, { externalId: s.contactId }), "Invalid", "JSON_PARSER_ERROR")
      s.em.faults.next({
        method: "POST",
        path: "/composite/sobjects",
        status: 502,
        body: "<html>bad gateway</html>",
        contentType: "text/html"
      })
      expectReason(yield* pushError(s.target, { externalId: s.contactId }), "Transport", "ERROR_HTTP_502")
      expect(s.em.backdoor.count("ContactPointTypeConsent")).toBe(0)
    })
  )
  it("fromSubrequest: the first error's code, its fields, the status; never the message", () => {
    const e = SalesforceErrors.fromSubrequest("sf", "push", "update Contact x2", 400, [
      { errorCode: "INVALID_FIELD", message: "No such column 'Secret@example' ...", fields: ["Foo__c"] },
      { errorCode: "UNABLE_TO_LOCK_ROW", message: "locked" }
    ])
    expect(e).toMatchObject({ reason: "Invalid", code: "INVALID_FIELD" })
    expect(e.detail).toBe("update Contact x2: INVALID_FIELD (fields Foo__c) (HTTP 400)")
    expect(SalesforceErrors.fromSubrequest("sf", "push", "x", 418, null).reason).toBe("Invalid")
  })
})

/** Runs jsforce itself against the emulator and returns what it threw. */
const thrown = (em: Emulator, fault: () => void, run: (conn: Connection) => Promise<unknown>) =>
  Effect.promise(async () => {
    const c = em.credentials
    const conn = new Connection({
      loginUrl: em.url,
      version: "60.0",
      oauth2: { loginUrl: em.url, clientId: c.clientId, clientSecret: c.clientSecret }
    })
    await conn.login(c.username, c.password)
    fault()
    try {
      await run(conn)
    } catch (e) {
      return e
    }
    throw new Error("jsforce did not throw")
  })

describe("error mapping of errors jsforce threw", () => {
  const post = (conn: Connection) =>
    conn.requestPost("/composite/sobjects", { allOrNone: false, records: [] })

  it.scopedLive("HttpApiError keeps the code, MULTIPLE_API_ERRORS goes by the first", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const limit = yield* thrown(
        em,
        () => em.faults.next({ method: "POST", status: 403, errorCode: "REQUEST_LIMIT_EXCEEDED" }),
        post
      )
      expect(SalesforceErrors.fromJsforce("sf", "push", "x", limit).reason).toBe("RateLimited")
      const multiple = yield* thrown(
        em,
        () =>
          em.faults.next({
            method: "POST",
            status: 400,
            body: [
              { errorCode: "UNABLE_TO_LOCK_ROW", message: "locked" },
              { errorCode: "INVALID_FIELD", message: "bad" }
            ]
          }),
        post
      )
      expect(SalesforceErrors.codeOf(multiple)).toBe("UNABLE_TO_LOCK_ROW")
      expect(SalesforceErrors.fromJsforce("sf", "push", "x", multiple).reason).toBe("Conflict")
    })
  )

  it.scopedLive(
    "without the observed status, an unknown code falls back to Unknown; with it, to the status",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const teapot = yield* thrown(
          em,
          () => em.faults.next({ method: "POST", status: 418, errorCode: "TEAPOT" }),
          post
        )
        expect(SalesforceErrors.fromJsforce("sf", "push", "x", teapot).reason).toBe("Unknown")
        const observed = { ...SalesforceErrors.observe(), status: 418 }
        expect(SalesforceErrors.fromJsforce("sf", "push", "x", teapot, observed).reason).toBe("Invalid")
      })
  )

  it.scopedLive("FetchError and AbortError are Transport", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const reset = yield* thrown(em, () => em.faults.next({ method: "POST", drop: true }), post)
      expect(SalesforceErrors.fromJsforce("sf", "push", "x", reset)).toMatchObject({
        reason: "Transport",
        code: "ECONNRESET"
      })
      const aborted = yield* thrown(
        em,
        () => em.faults.next({ method: "POST", hang: true }),
        (conn) => conn.request({ method: "POST", url: "/composite/sobjects", body: "{}" }, { timeout: 100 })
      )
      expect(SalesforceErrors.fromJsforce("sf", "push", "x", aborted)).toMatchObject({
        reason: "Transport",
        code: "AbortError"
      })
    })
  )

  it("a failed refresh without a recorded cause is Unauthorized; anything else thrown is Unknown", () => {
    const refresh = new Error("Unable to refresh session due to: No refresh token found in the connection")
    expect(SalesforceErrors.fromJsforce("sf", "pull", "x", refresh).reason).toBe("Unauthorized")
    const bug = SalesforceErrors.fromJsforce(
      "sf",
      "pull",
      "x",
      new TypeError("cannot read properties of undefined")
    )
    expect(bug.reason).toBe("Unknown")
    expect(bug.message).not.toContain("cannot read")
  })

  it("per-record errors: statusCode or errorCode, fields named, message dropped", () => {
    const e = SalesforceErrors.fromRecordErrors("sf", "push", "create Contact", [
      {
        statusCode: "INVALID_EMAIL_ADDRESS",
        message: "Email: invalid email address: ayse@example",
        fields: ["Email"]
      }
    ])
    expect(e).toMatchObject({ reason: "Invalid", code: "INVALID_EMAIL_ADDRESS" })
    expect(e.detail).toBe("create Contact: INVALID_EMAIL_ADDRESS (fields Email)")
    expect(
      SalesforceErrors.fromRecordErrors("sf", "push", "x", [{ errorCode: "UNABLE_TO_LOCK_ROW" }]).reason
    ).toBe("Conflict")
  })
})
