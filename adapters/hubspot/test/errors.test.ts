/**
 * One test per row of the error mapping (see src/Errors.ts), through the real SDK against the
 * emulator, on both client paths: a typed SDK method (which throws ApiException) and
 * `apiRequest` (which returns the raw response).
 */
import type { FilterOperatorEnum } from "@hubspot/api-client/lib/codegen/crm/contacts/models/Filter.js"
import { describe, expect, it } from "@effect/vitest"
import type { AdapterError } from "@living-profile/core"
import { Duration, Effect, Either, Redacted } from "effect"
import { type HubSpotClient, type HubSpotConfig, make } from "../src/index.js"
import { type Emulator, emulator, optionsFor, RETRIES } from "./support/harness.js"

const READ = "/crm/v3/objects/contacts/batch/read"
const STATUSES = "/communication-preferences/v4/statuses/batch/read"

/** The typed path: batch read of contacts (throws ApiException on non-2xx). */
const typed = (client: HubSpotClient.HubSpotClient) =>
  client.call("read", "standard", `POST ${READ}`, (c) =>
    c.batch.read({ inputs: [{ id: "1001" }], properties: [], propertiesWithHistory: [] })
  )

/** The raw path: v4 status read through apiRequest (returns any status). */
const raw = (client: HubSpotClient.HubSpotClient, query: Record<string, string> = { channel: "EMAIL" }) =>
  client.request("read", "standard", {
    method: "POST",
    path: STATUSES,
    qs: query,
    body: { inputs: ["ada@example.com"] }
  })

const setup = (overrides: Partial<HubSpotConfig.Options> = {}, start: Parameters<typeof emulator>[0] = {}) =>
  Effect.gen(function* () {
    const em = yield* emulator(start)
    const { client } = yield* make(optionsFor(em, overrides))
    return { em, client }
  })

const failure = <A>(effect: Effect.Effect<A, AdapterError.AdapterError>) =>
  Effect.map(Effect.either(effect), (e) => {
    if (Either.isRight(e)) throw new Error("expected a failure")
    return e.left
  })

/** Both paths under the same injected fault (`times` requests each), their errors and attempt counts. */
const bothPaths = (
  em: Emulator,
  client: HubSpotClient.HubSpotClient,
  fault: Parameters<Emulator["faults"]["rule"]>[0]
) =>
  Effect.gen(function* () {
    const out: Array<{ readonly error: AdapterError.AdapterError; readonly attempts: number }> = []
    const paths: ReadonlyArray<readonly [string, Effect.Effect<unknown, AdapterError.AdapterError>]> = [
      [READ, typed(client)],
      [STATUSES, raw(client)]
    ]
    for (const [path, run] of paths) {
      em.faults.clear()
      em.backdoor.clearRequestLog()
      em.faults.rule({ ...fault, path })
      const error = yield* failure(run)
      out.push({ error, attempts: em.backdoor.requestLog.filter((e) => e.path === path).length })
    }
    em.faults.clear()
    return out
  })

describe("error mapping", () => {
  it.scopedLive("401: Unauthorized, not retried, and the token is in no message", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { client } = yield* make(optionsFor(em, { accessToken: Redacted.make("pat-na1-refused-secret") }))
      const runs: ReadonlyArray<Effect.Effect<unknown, AdapterError.AdapterError>> = [
        typed(client),
        raw(client)
      ]
      for (const run of runs) {
        em.backdoor.clearRequestLog()
        const e = yield* failure(run)
        expect([e.reason, e.code, e.isRetryable]).toEqual(["Unauthorized", "INVALID_AUTHENTICATION", false])
        expect(em.backdoor.requestLog).toHaveLength(1)
        expect(e.message).not.toContain("refused-secret")
      }
    })
  )

  it.scopedLive("403 (missing scope): Unauthorized", () =>
    Effect.gen(function* () {
      const { em, client } = yield* setup()
      const body = {
        status: "error",
        message: "This app hasn't been granted all required scopes",
        category: "MISSING_SCOPES"
      }
      for (const { error, attempts } of yield* bothPaths(em, client, { status: 403, body })) {
        expect([error.reason, error.code, attempts]).toEqual(["Unauthorized", "MISSING_SCOPES", 1])
      }
    })
  )

  it.scopedLive("429 TEN_SECONDLY_ROLLING: waited out (the window the answer names) and retried", () =>
    Effect.gen(function* () {
      // A 300 ms window, so that waiting it out takes 300 ms, not 10 s.
      const { em, client } = yield* setup({}, { burstLimit: { max: 100, windowMs: 300 } })
      const paths: ReadonlyArray<readonly [string, Effect.Effect<unknown, AdapterError.AdapterError>]> = [
        [READ, typed(client)],
        [STATUSES, raw(client)]
      ]
      for (const [path, run] of paths) {
        em.backdoor.clearRequestLog()
        em.faults.rule({ path, rateLimit: "TEN_SECONDLY_ROLLING", times: 1 })
        const started = Date.now()
        yield* run
        expect(Date.now() - started).toBeGreaterThanOrEqual(290)
        expect(em.backdoor.requestLog.map((e) => e.status)).toEqual([429, expect.any(Number)])
      }
    })
  )

  it.scopedLive("429 TEN_SECONDLY_ROLLING that persists: RateLimited with the window as retryAfter", () =>
    Effect.gen(function* () {
      const { em, client } = yield* setup({}, { burstLimit: { max: 100, windowMs: 100 } })
      for (const { error, attempts } of yield* bothPaths(em, client, { rateLimit: "TEN_SECONDLY_ROLLING" })) {
        expect([error.reason, error.code, attempts]).toEqual([
          "RateLimited",
          "TEN_SECONDLY_ROLLING",
          RETRIES.maxRetries + 1
        ])
        expect(Duration.toMillis(error.retryAfter ?? Duration.zero)).toBe(100)
      }
    })
  )

  it.scopedLive(
    "429 SECONDLY (search): RateLimited with 1 s; handed back when longer than maxRateLimitWait",
    () =>
      Effect.gen(function* () {
        const { em, client } = yield* setup({ retry: { ...RETRIES, maxRateLimitWait: Duration.millis(500) } })
        for (const { error, attempts } of yield* bothPaths(em, client, { rateLimit: "SECONDLY" })) {
          expect([error.reason, error.code, attempts]).toEqual(["RateLimited", "SECONDLY", 1])
          expect(Duration.toMillis(error.retryAfter ?? Duration.zero)).toBe(1_000)
        }
      })
  )

  it.scopedLive(
    "429 DAILY: RateLimited at once, retryAfter until the daily reset or as Retry-After says",
    () =>
      Effect.gen(function* () {
        const { em, client } = yield* setup()
        for (const { error, attempts } of yield* bothPaths(em, client, { rateLimit: "DAILY" })) {
          expect([error.reason, error.code, error.isRetryable, attempts]).toEqual([
            "RateLimited",
            "DAILY",
            true,
            1
          ])
          const wait = Duration.toMillis(error.retryAfter ?? Duration.zero)
          expect(wait).toBeGreaterThan(0)
          expect(wait).toBeLessThanOrEqual(24 * 3_600_000)
        }
        const body = { status: "error", message: "You have reached your daily limit.", policyName: "DAILY" }
        for (const { error } of yield* bothPaths(em, client, {
          status: 429,
          body,
          headers: { "Retry-After": "120" }
        }))
          expect(Duration.toMillis(error.retryAfter ?? Duration.zero)).toBe(120_000)
      })
  )

  it.scopedLive("404: NotFound (GDPR delete of an unknown id; an unknown endpoint)", () =>
    Effect.gen(function* () {
      const { client } = yield* setup()
      const purge = yield* failure(
        client.call("erase", "standard", "POST /crm/v3/objects/contacts/gdpr-delete", (c) =>
          c.basic.purge({ objectId: "999999" })
        )
      )
      expect([purge.reason, purge.code, purge.isRetryable]).toEqual(["NotFound", "OBJECT_NOT_FOUND", false])
      const missing = yield* failure(
        client.request("read", "standard", {
          method: "POST",
          path: "/communication-preferences/v4/nothing-here",
          body: {}
        })
      )
      expect(missing.reason).toBe("NotFound")
    })
  )

  it.scopedLive(
    "409: Conflict (a contact with that e-mail exists), retryable, the existing id not echoed",
    () =>
      Effect.gen(function* () {
        const { em, client } = yield* setup()
        em.backdoor.upsertContact({ email: "taken@example.com" })
        const created = yield* failure(
          client.call("push", "standard", "POST /crm/v3/objects/contacts/batch/create", (c) =>
            c.batch.create({ inputs: [{ properties: { email: "taken@example.com" }, associations: [] }] })
          )
        )
        expect([created.reason, created.code, created.isRetryable]).toEqual(["Conflict", "CONFLICT", true])
        expect(created.message).not.toMatch(/Existing ID|taken@/)
        for (const { error } of yield* bothPaths(em, client, {
          status: 409,
          body: { status: "error", message: "x", category: "CONFLICT" }
        }))
          expect(error.reason).toBe("Conflict")
      })
  )

  it.scopedLive(
    "400 VALIDATION_ERROR: Invalid, not retried, HubSpot's message (which echoes values) left out",
    () =>
      Effect.gen(function* () {
        const { em, client } = yield* setup()
        // Real validation errors: a search on a property that does not exist; a v4 read without `channel`.
        const search = yield* failure(
          client.call("pull", "search", "POST /crm/v3/objects/contacts/search", (c) =>
            c.search.doSearch({
              filterGroups: [
                { filters: [{ propertyName: "nope", operator: "EQ" as FilterOperatorEnum, value: "x" }] }
              ]
            })
          )
        )
        expect([search.reason, search.code, search.isRetryable]).toEqual([
          "Invalid",
          "VALIDATION_ERROR",
          false
        ])
        const v4 = yield* failure(raw(client, {}))
        expect([v4.reason, v4.code]).toEqual(["Invalid", "VALIDATION_ERROR"])
        const body = {
          status: "error",
          message: "Email address ada@example.com is invalid",
          category: "VALIDATION_ERROR"
        }
        for (const { error, attempts } of yield* bothPaths(em, client, { status: 400, body })) {
          expect([error.reason, error.code, attempts]).toEqual(["Invalid", "VALIDATION_ERROR", 1])
          expect(error.message).not.toContain("ada@example.com")
        }
      })
  )

  it.scopedLive("5xx: Transport, retried with backoff; recovered when it passes", () =>
    Effect.gen(function* () {
      const { em, client } = yield* setup()
      for (const { error, attempts } of yield* bothPaths(em, client, { status: 503 }))
        expect([error.reason, error.code, error.isRetryable, attempts]).toEqual([
          "Transport",
          "INTERNAL_ERROR",
          true,
          RETRIES.maxRetries + 1
        ])
      // A gateway's HTML page, once: the retry gets through.
      em.faults.rule({
        path: READ,
        status: 502,
        body: "<html>Bad Gateway</html>",
        contentType: "text/html",
        times: 1
      })
      em.faults.rule({
        path: STATUSES,
        status: 502,
        body: "<html>Bad Gateway</html>",
        contentType: "text/html",
        times: 1
      })
      yield* typed(client)
      yield* raw(client)
    })
  )

  it.scopedLive("a dropped connection (ECONNRESET): Transport, retried", () =>
    Effect.gen(function* () {
      const { em, client } = yield* setup()
      for (const { error, attempts } of yield* bothPaths(em, client, { drop: true }))
        expect([error.reason, error.code, attempts]).toEqual([
          "Transport",
          "ECONNRESET",
          RETRIES.maxRetries + 1
        ])
    })
  )

  it.scopedLive("no answer within requestTimeout: Transport TIMEOUT", () =>
    Effect.gen(function* () {
      const { em, client } = yield* setup({ requestTimeout: Duration.millis(150), retry: { maxRetries: 0 } })
      for (const { error } of yield* bothPaths(em, client, { hold: true }))
        expect([error.reason, error.code, error.isRetryable]).toEqual(["Transport", "TIMEOUT", true])
      em.faults.release()
    })
  )

  it.scopedLive("anything else: Unknown (a 3xx; a success answer that is not HubSpot's shape)", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const { client, target } = yield* make(optionsFor(em))
      for (const { error, attempts } of yield* bothPaths(em, client, { status: 304 }))
        expect([error.reason, error.isRetryable, attempts]).toEqual(["Unknown", false, 1])
      // Success answers that are not what HubSpot documents, on either path: Unknown, never a crash.
      const ada = em.backdoor.upsertContact({ email: "ada@example.com" })
      em.faults.rule({ path: READ, status: 200, body: "OK", contentType: "text/plain", times: 1 })
      const sdk = yield* failure(target.read([{ externalId: ada.id }]))
      expect([sdk.reason, sdk.code, sdk.isRetryable]).toEqual(["Unknown", "MALFORMED", false])
      em.faults.rule({ path: STATUSES, status: 200, body: { results: "nope" }, times: 1 })
      const v4 = yield* failure(target.read([{ externalId: ada.id }]))
      expect([v4.reason, v4.code]).toEqual(["Unknown", "MALFORMED"])
      expect(v4.detail).toContain("results")
    })
  )
})
