/**
 * Every failure jsforce (or a per-record result of sObject Collections) reports, mapped onto the
 * AdapterError reasons the sync engine acts on.
 *
 * jsforce throws an `HttpApiError` named after the body's `errorCode` and drops the HTTP status and
 * headers, so `Client` records the status and `Retry-After` of the last error response of each call
 * (`Observed`) and the outcome of a failed token refresh; this module reads them back. It copies
 * only codes, statuses and field names into the error: Salesforce messages echo values
 * ("invalid email address: ayse@...") and must not reach logs. A Composite subrequest that fails
 * as a whole carries its own status and error body, mapped the same way (`fromSubrequest`).
 *
 * | Salesforce / jsforce                                                                        | Reason       |
 * | ------------------------------------------------------------------------------------------- | ------------ |
 * | `REQUEST_LIMIT_EXCEEDED` (403 daily limit, concurrent limit), any 429 or 420                | RateLimited  |
 * | `INVALID_SESSION_ID` / 401 (after the one refresh failed), OAuth `invalid_grant`, `invalid_client*`, `INSUFFICIENT_ACCESS*`, `API_DISABLED_FOR_ORG` | Unauthorized |
 * | `NOT_FOUND`, `ENTITY_IS_DELETED`, `INVALID_CROSS_REFERENCE_KEY`, 404                         | NotFound     |
 * | `UNABLE_TO_LOCK_ROW`, `DUPLICATE_VALUE`, 409                                                | Conflict     |
 * | field and request validation (`INVALID_FIELD`, `REQUIRED_FIELD_MISSING`, `MALFORMED_ID`, ...), other 4xx | Invalid |
 * | `ECONNRESET`, `ECONNREFUSED`, timeouts (`AbortError`), `SERVER_UNAVAILABLE`, 5xx             | Transport    |
 * | anything else                                                                               | Unknown      |
 */
import { AdapterError } from "@living-profile/core"

/** What the client saw of a call that failed: the status and Retry-After of the error response. */
export interface Observed {
  /** HTTP status of the last response with status >= 400. */
  status?: number | undefined
  /** Its `Retry-After` header, when it had one. */
  retryAfter?: string | undefined
  /** Set when a token refresh was attempted during the call and failed: how it failed. */
  refreshFailure?: AdapterError.AdapterError | undefined
  /** How many token refreshes the call made (one at most). */
  refreshes: number
}

/** A fresh, empty observation. */
export const observe = (): Observed => ({ refreshes: 0 })

const UNAUTHORIZED = new Set([
  "INVALID_SESSION_ID",
  "INVALID_AUTH_HEADER",
  "INVALID_GRANT",
  "INVALID_CLIENT",
  "INVALID_CLIENT_ID",
  "UNAUTHORIZED_CLIENT",
  "INACTIVE_USER",
  "INACTIVE_ORG",
  "INVALID_LOGIN",
  "INSUFFICIENT_ACCESS",
  "INSUFFICIENT_ACCESS_OR_READONLY",
  "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
  "API_DISABLED_FOR_ORG",
  "API_CURRENTLY_DISABLED",
  "LOGIN_MUST_USE_SECURITY_TOKEN"
])

const RATE_LIMITED = new Set([
  "REQUEST_LIMIT_EXCEEDED",
  "TOO_MANY_REQUESTS",
  "CONCURRENT_REQUESTS_LIMIT_EXCEEDED"
])

const NOT_FOUND = new Set(["NOT_FOUND", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"])

// DUPLICATE_VALUE is a unique-field clash. The adapter writes no unique field of its own, so it
// meets one only when a concurrent writer (a trigger, another integration) got there first; the
// retry re-reads the person and then finds that record, which is why it is a retryable Conflict.
const CONFLICT = new Set(["UNABLE_TO_LOCK_ROW", "DUPLICATE_VALUE"])

const INVALID = new Set([
  "INVALID_FIELD",
  "REQUIRED_FIELD_MISSING",
  "MALFORMED_ID",
  "INVALID_ID_FIELD",
  "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
  "STRING_TOO_LONG",
  "INVALID_EMAIL_ADDRESS",
  "INVALID_FIELD_FOR_INSERT_UPDATE",
  "FIELD_INTEGRITY_EXCEPTION",
  "FIELD_CUSTOM_VALIDATION_EXCEPTION",
  "INVALID_TYPE",
  "INVALID_TYPE_ON_FIELD_IN_RECORD",
  "NUMBER_OUTSIDE_VALID_RANGE",
  "JSON_PARSER_ERROR",
  "MALFORMED_QUERY",
  "MALFORMED_URL",
  "INVALID_QUERY_FILTER_OPERATOR",
  "INVALID_QUERY_LOCATOR",
  "INVALID_REPLICATION_DATE",
  "EXCEEDED_ID_LIMIT",
  "MISSING_ARGUMENT",
  "LIMIT_EXCEEDED",
  "INVALID_HEADER",
  "BAD_REQUEST",
  "MULTIPLE_CHOICES",
  "DUPLICATES_DETECTED",
  "FUNCTIONALITY_NOT_ENABLED",
  "INVALID_OPERATION",
  "METHOD_NOT_ALLOWED",
  "UNSUPPORTED_GRANT_TYPE",
  "NOT_SUPPORTED"
])

const TRANSPORT = new Set(["SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG"])

/** Network failure codes of node-fetch / undici / the OS. */
const NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETDOWN",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET"
])

/** The reason a Salesforce error code (REST `errorCode`, collection `statusCode`, OAuth `error`) stands for. */
export const reasonOfCode = (code: string): AdapterError.Reason | undefined => {
  const c = code.toUpperCase()
  if (RATE_LIMITED.has(c)) return "RateLimited"
  if (UNAUTHORIZED.has(c)) return "Unauthorized"
  if (NOT_FOUND.has(c)) return "NotFound"
  if (CONFLICT.has(c)) return "Conflict"
  if (INVALID.has(c)) return "Invalid"
  if (TRANSPORT.has(c) || NETWORK.has(c)) return "Transport"
  const http = /^ERROR_HTTP_(\d{3})$/.exec(c)
  if (http !== null) return reasonOfStatus(Number(http[1]))
  return undefined
}

/** The reason of an HTTP error status when the code says nothing more specific. */
export const reasonOfStatus = (status: number): AdapterError.Reason => {
  if (status === 429 || status === 420) return "RateLimited"
  // 403 is not Unauthorized by itself here: Salesforce sends REQUEST_LIMIT_EXCEEDED with 403 (caught by
  // its code); other 403s refuse the user a permission.
  if (status === 401 || status === 403) return "Unauthorized"
  if (status === 404 || status === 410) return "NotFound"
  if (status === 409 || status === 412 || status === 423) return "Conflict"
  if (status === 408 || (status >= 500 && status <= 599)) return "Transport"
  if (status >= 400 && status <= 499) return "Invalid"
  return "Unknown"
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const str = (o: Record<string, unknown>, key: string): string | undefined => {
  const v = o[key]
  return typeof v === "string" && v.length > 0 ? v : undefined
}

/** Field names an error names (API names only, never values). */
const fieldsOf = (data: unknown): ReadonlyArray<string> => {
  const fields = isObject(data) ? data["fields"] : undefined
  return Array.isArray(fields)
    ? fields.filter((f): f is string => typeof f === "string" && /^[A-Za-z][A-Za-z0-9_.]*$/.test(f))
    : []
}

/** The code of a thrown value: the REST errorCode, the OAuth error, a network code, or its name. */
export const codeOf = (error: unknown): string | undefined => {
  if (!isObject(error)) return undefined
  const errorCode = str(error, "errorCode")
  if (errorCode === "MULTIPLE_API_ERRORS") {
    // Several errors in one response: classify by the first, which is what Salesforce rejected first.
    const data = error["data"]
    const first = Array.isArray(data) ? data[0] : undefined
    if (isObject(first)) return str(first, "errorCode") ?? str(first, "statusCode") ?? errorCode
    return errorCode
  }
  if (errorCode !== undefined) return errorCode
  const code = str(error, "code")
  if (code !== undefined && NETWORK.has(code.toUpperCase())) return code.toUpperCase()
  const name = str(error, "name")
  if (name === "AbortError") return "AbortError"
  if (name === "FetchError") {
    const type = str(error, "type")
    return type === "request-timeout" ? "AbortError" : (code ?? "FetchError")
  }
  // OAuth errors come back as an Error named after the `error` field (`invalid_grant`).
  if (name !== undefined && name !== "Error" && /^[A-Za-z_]+$/.test(name)) return name
  return code
}

const detailOf = (
  what: string,
  code: string | undefined,
  data: unknown,
  status: number | undefined
): string => {
  const fields = fieldsOf(data)
  return (
    `${what}: ${code ?? "error"}` +
    (fields.length > 0 ? ` (fields ${fields.join(", ")})` : "") +
    (status === undefined ? "" : ` (HTTP ${status})`)
  )
}

const REFRESH_FAILED = /^Unable to refresh session due to:/

/**
 * An AdapterError for anything a jsforce call threw. `observed` is what the client recorded of the
 * call (status, Retry-After, a failed refresh); `now` reads an HTTP-date Retry-After.
 */
export const fromJsforce = (
  target: string,
  operation: AdapterError.Operation,
  what: string,
  error: unknown,
  observed: Observed = observe(),
  now: number = Date.now()
): AdapterError.AdapterError => {
  if (AdapterError.isAdapterError(error)) return error
  const message = error instanceof Error ? error.message : ""
  // jsforce replaces a failed refresh's error by a new Error carrying only its message; the client
  // kept the classified failure, and a refresh that failed otherwise means the credentials are gone.
  if (REFRESH_FAILED.test(message)) {
    const cause = observed.refreshFailure
    return AdapterError.isAdapterError(cause)
      ? new AdapterError.AdapterError({
          reason: cause.reason,
          target,
          detail: `${what}: the session expired and refreshing it failed: ${cause.detail}`,
          operation,
          code: cause.code,
          retryAfter: cause.retryAfter
        })
      : AdapterError.unauthorized(target, `${what}: the session expired and could not be refreshed`, {
          operation,
          code: "INVALID_SESSION_ID"
        })
  }
  const code = codeOf(error)
  const data = isObject(error) ? error["data"] : undefined
  return classified(target, operation, what, code, Array.isArray(data) ? data[0] : data, {
    status: observed.status,
    retryAfter: observed.retryAfter,
    now
  })
}

/** The AdapterError of an error code (or none) answered with an HTTP status (or none). */
const classified = (
  target: string,
  operation: AdapterError.Operation,
  what: string,
  code: string | undefined,
  data: unknown,
  http: { readonly status: number | undefined; readonly retryAfter: string | undefined; readonly now: number }
): AdapterError.AdapterError => {
  const status = http.status
  const detail = detailOf(what, code, data, status)
  const extra = { operation, code: code ?? (status === undefined ? undefined : String(status)) }
  let reason: AdapterError.Reason | undefined = code === "AbortError" ? "Transport" : undefined
  reason ??= code === undefined ? undefined : reasonOfCode(code)
  if (reason === undefined && status !== undefined) reason = reasonOfStatus(status)
  if (reason === undefined && code === "FetchError") reason = "Transport"
  switch (reason) {
    case "RateLimited":
      return AdapterError.rateLimited(
        target,
        detail,
        AdapterError.parseRetryAfter(http.retryAfter, http.now),
        extra
      )
    case undefined:
      return AdapterError.unknown(target, detail, extra)
    default:
      return new AdapterError.AdapterError({ reason, target, detail, ...extra })
  }
}

/**
 * An AdapterError for a Composite subrequest that failed as a whole: its status and its REST error
 * body (`[{ errorCode, message, fields? }]`), mapped as the same answer to a request of its own
 * would be (`MULTIPLE_API_ERRORS` goes by the first error there too).
 */
export const fromSubrequest = (
  target: string,
  operation: AdapterError.Operation,
  what: string,
  status: number,
  body: unknown,
  retryAfter?: string,
  now: number = Date.now()
): AdapterError.AdapterError => {
  const first = Array.isArray(body) ? body[0] : body
  const code = isObject(first) ? (str(first, "errorCode") ?? str(first, "statusCode")) : undefined
  return classified(target, operation, what, code ?? `ERROR_HTTP_${status}`, first, {
    status,
    retryAfter,
    now
  })
}

/** One error of a per-record result in sObject Collections (`statusCode`; jsforce's types say `errorCode`). */
export interface RecordError {
  readonly statusCode?: string | undefined
  readonly errorCode?: string | undefined
  readonly message?: string | undefined
  readonly fields?: ReadonlyArray<string> | undefined
}

/** An AdapterError for a record that failed inside a collection request that succeeded as a whole. */
export const fromRecordErrors = (
  target: string,
  operation: AdapterError.Operation,
  what: string,
  errors: ReadonlyArray<RecordError>
): AdapterError.AdapterError => {
  const first = errors[0]
  const code = first?.statusCode ?? first?.errorCode ?? "UNKNOWN"
  const reason = reasonOfCode(code) ?? "Unknown"
  const detail = detailOf(what, code, first, undefined)
  return reason === "RateLimited"
    ? AdapterError.rateLimited(target, detail, undefined, { operation, code })
    : new AdapterError.AdapterError({ reason, target, detail, operation, code })
}
