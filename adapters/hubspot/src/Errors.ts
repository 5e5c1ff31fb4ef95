/**
 * How HubSpot failures become `AdapterError` reasons. Both ways the adapter calls HubSpot end here:
 * the typed SDK methods throw `ApiException` (`code`, `body`, lower-cased `headers`) on any non-2xx,
 * `client.apiRequest` returns the raw response whatever its status, and both reject with
 * node-fetch's `FetchError` when the connection drops.
 *
 * | HubSpot says                                   | reason       | code                      | retryAfter                                   |
 * | ---------------------------------------------- | ------------ | ------------------------- | -------------------------------------------- |
 * | 401, 403 (bad token, missing scope)            | Unauthorized | category or status        |                                              |
 * | 429 `TEN_SECONDLY_ROLLING`                     | RateLimited  | `TEN_SECONDLY_ROLLING`    | Retry-After, else the window (10 s)          |
 * | 429 `SECONDLY` (search)                        | RateLimited  | `SECONDLY`                | Retry-After, else 1 s                        |
 * | 429 `DAILY`                                    | RateLimited  | `DAILY`                   | Retry-After, else until the next UTC midnight |
 * | 429 without a known policy                     | RateLimited  | `429`                     | Retry-After, else 10 s                       |
 * | 404, 410                                       | NotFound     | category or status        |                                              |
 * | 409, 412, 423                                  | Conflict     | category or status        |                                              |
 * | 400 `VALIDATION_ERROR`, other 4xx              | Invalid      | category or status        |                                              |
 * | 408, 5xx                                       | Transport    | category or status        |                                              |
 * | connection reset / refused / DNS (`FetchError`) | Transport    | `ECONNRESET`, ...         |                                              |
 * | no answer within `requestTimeout`              | Transport    | `TIMEOUT`                 |                                              |
 * | anything else (1xx/3xx, unreadable 2xx, throws) | Unknown      | status or error class     |                                              |
 *
 * `detail` names the endpoint (method and path template, never an e-mail), the HTTP status and
 * HubSpot's category: never HubSpot's `message`, which often echoes the value it refused.
 */
import { AdapterError } from "@living-profile/core"
import { Duration } from "effect"

/** The rate-limit policies HubSpot names in a 429's `policyName`. */
export type Policy = "TEN_SECONDLY_ROLLING" | "SECONDLY" | "DAILY"

/** Where a failure happened: for the error's target, operation and detail. */
export interface Where {
  readonly target: string
  readonly operation: AdapterError.Operation
  /** Method and path, e.g. `POST /crm/v3/objects/contacts/search`; no personal data. */
  readonly endpoint: string
  /** Epoch millis, to read HTTP-date Retry-After headers and the daily reset against. */
  readonly now: number
}

/** A non-success HTTP answer, as either client path gives it. */
export interface HttpFailure {
  readonly status: number
  /** The parsed JSON body, the raw text, or undefined. */
  readonly body: unknown
  /** A response header by (case-insensitive) name. */
  readonly header: (name: string) => string | undefined
}

/** The shape of the SDK's `ApiException` (each generated API has its own class, so it is matched by shape). */
export interface ApiExceptionLike {
  readonly code: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

const SECONDLY_MESSAGE = "You have reached your secondly limit."

const objectOf = (u: unknown): Readonly<Record<string, unknown>> | undefined =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? (u as Record<string, unknown>) : undefined

const stringField = (u: unknown, key: string): string | undefined => {
  const v = objectOf(u)?.[key]
  return typeof v === "string" ? v : undefined
}

// Category and policy names are HubSpot's machine codes; anything else in the body may echo input.
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/
const codeField = (u: unknown, key: string): string | undefined => {
  const v = stringField(u, key)
  return v !== undefined && CODE.test(v) ? v : undefined
}

/** Whether a thrown value is an SDK `ApiException`. */
export const isApiException = (u: unknown): u is ApiExceptionLike => {
  const o = objectOf(u)
  return (
    u instanceof Error &&
    o !== undefined &&
    typeof o["code"] === "number" &&
    "body" in o &&
    typeof o["headers"] === "object" &&
    o["headers"] !== null
  )
}

/** The HTTP failure an `ApiException` carries. */
export const failureOfApiException = (e: ApiExceptionLike): HttpFailure => ({
  status: e.code,
  body: e.body,
  header: (name) => e.headers[name.toLowerCase()]
})

/** The policy of a 429 body: `policyName`, or the search limit's message (which some 429s carry alone). */
export const policyOfBody = (body: unknown): Policy | undefined => {
  const name = stringField(body, "policyName")
  if (name === "TEN_SECONDLY_ROLLING" || name === "SECONDLY" || name === "DAILY") return name
  return stringField(body, "message") === SECONDLY_MESSAGE ? "SECONDLY" : undefined
}

/** The rate-limit policy of an error this module made, when it is a 429. */
export const policyOf = (e: AdapterError.AdapterError): Policy | undefined =>
  e.reason === "RateLimited" &&
  (e.code === "TEN_SECONDLY_ROLLING" || e.code === "SECONDLY" || e.code === "DAILY")
    ? e.code
    : undefined

const nextUtcMidnight = (now: number): number => {
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
}

/** How long a 429 asks to wait: its Retry-After when it has one, else what its policy implies. */
export const retryAfterOf = (
  policy: Policy | undefined,
  failure: HttpFailure,
  now: number
): Duration.Duration => {
  const stated = AdapterError.parseRetryAfter(failure.header("retry-after"), now)
  if (stated !== undefined) return stated
  switch (policy) {
    case "TEN_SECONDLY_ROLLING": {
      // The window is rolling: waiting one whole window frees every request counted against it.
      const interval = Number(failure.header("x-hubspot-ratelimit-interval-milliseconds"))
      return Duration.millis(Number.isFinite(interval) && interval > 0 ? interval : 10_000)
    }
    case "SECONDLY":
      return Duration.seconds(1)
    case "DAILY":
      // HubSpot resets the daily count at midnight (in the portal's zone, which the API does not say).
      return Duration.millis(Math.max(60_000, nextUtcMidnight(now) - now))
    default:
      return Duration.seconds(10)
  }
}

/** The AdapterError of a non-success HTTP answer. */
export const fromHttp = (where: Where, failure: HttpFailure): AdapterError.AdapterError => {
  const { status, body } = failure
  const category = codeField(body, "category") ?? codeField(body, "errorType")
  const extra = { operation: where.operation }
  if (status === 429) {
    const policy = policyOfBody(body)
    return AdapterError.rateLimited(
      where.target,
      `${where.endpoint}: HTTP 429${policy === undefined ? "" : ` ${policy}`}`,
      retryAfterOf(policy, failure, where.now),
      { ...extra, code: policy ?? "429" }
    )
  }
  const detail = `${where.endpoint}: HTTP ${status}${category === undefined ? "" : ` ${category}`}`
  return AdapterError.fromHttpStatus(where.target, status, {
    ...extra,
    detail,
    code: category ?? String(status),
    now: where.now
  })
}

// node-fetch's FetchError of type "system" carries the socket error's code.
const SYSTEM_CODE = /^E[A-Z0-9_]+$/

/** The AdapterError of anything a client call threw or rejected with. */
export const fromThrown = (where: Where, thrown: unknown): AdapterError.AdapterError => {
  if (AdapterError.isAdapterError(thrown)) return thrown
  if (isApiException(thrown)) return fromHttp(where, failureOfApiException(thrown))
  const o = objectOf(thrown)
  const code =
    typeof o?.["code"] === "string" ? o["code"] : typeof o?.["errno"] === "string" ? o["errno"] : undefined
  if (code !== undefined && SYSTEM_CODE.test(code)) {
    return AdapterError.transport(where.target, `${where.endpoint}: connection failed (${code})`, {
      operation: where.operation,
      code
    })
  }
  const kind = thrown instanceof Error ? thrown.name : typeof thrown
  const type = typeof o?.["type"] === "string" && /^[a-z-]{1,40}$/.test(o["type"]) ? ` (${o["type"]})` : ""
  return AdapterError.unknown(where.target, `${where.endpoint}: the client threw ${kind}${type}`, {
    operation: where.operation,
    code: kind
  })
}

/** No answer within the request timeout: the request may or may not have been applied. */
export const timedOut = (where: Where, after: Duration.Duration): AdapterError.AdapterError =>
  AdapterError.transport(where.target, `${where.endpoint}: no answer within ${Duration.format(after)}`, {
    operation: where.operation,
    code: "TIMEOUT"
  })

/** A success status whose body is not what HubSpot documents. */
export const malformed = (where: Where, what: string): AdapterError.AdapterError =>
  AdapterError.unknown(where.target, `${where.endpoint}: unexpected answer (${what})`, {
    operation: where.operation,
    code: "MALFORMED"
  })
