/**
 * The one error of adapters (consent targets and record sources): a `reason` the sync engine acts
 * on, whether trying again may succeed, and for rate limits how long to wait. Adapters never throw
 * and never fail with anything else: they map their driver's or HTTP failures onto these reasons
 * (`fromHttpStatus` does it for HTTP), and `ConsentTarget.make` turns anything that escapes a
 * primitive (a thrown exception, a defect) into reason `Unknown`.
 *
 * Retryable: `RateLimited` (wait `retryAfter`), `Transport` (the request may not have arrived) and
 * `Conflict` (a concurrent write or a locked row; a diff carries the desired end state, so sending
 * it again after the other write is safe). Not retryable: `Unauthorized` (credentials must change
 * first), `NotFound`, `Invalid` (the system refuses the request as it is; a permanent conflict such
 * as a duplicate unique value belongs here, not under `Conflict`) and `Unknown` (a bug or a failure
 * nobody classified: retrying blindly could repeat a harmful effect, so it is parked for a person).
 *
 * The personal-data rule: `detail` and `code` name what failed and where (operation, field name,
 * HTTP status, driver error code, batch position), never a value the person gave (e-mail, name,
 * phone, identifier, free text). Errors end up in logs, metrics, dead letters and the CLI, which
 * must stay free of personal data. That is also why the error keeps no `cause`: a driver's error
 * message often echoes the offending value ("duplicate value ayse@..."), so adapters copy only
 * codes out of it.
 */
import { Data, Duration } from "effect"

/** Why an adapter call failed. */
export type Reason =
  | "RateLimited"
  | "Unauthorized"
  | "NotFound"
  | "Conflict"
  | "Invalid"
  | "Transport"
  | "Unknown"

/** Every reason, in declaration order. */
export const reasons: ReadonlyArray<Reason> = [
  "RateLimited",
  "Unauthorized",
  "NotFound",
  "Conflict",
  "Invalid",
  "Transport",
  "Unknown"
]

/** The reasons after which trying the same request again may succeed. */
export const retryableReasons: ReadonlySet<Reason> = new Set<Reason>(["RateLimited", "Transport", "Conflict"])

/**
 * The reasons that concern the whole target rather than one item: after one of them the rest of
 * a call is not attempted, and a call whose every item failed with one fails as a whole.
 */
export const targetWideReasons: ReadonlySet<Reason> = new Set<Reason>(["RateLimited", "Unauthorized"])

/** The adapter operations, for errors and metrics. */
export type Operation = "push" | "pull" | "read" | "erase"

/** The tagged error every adapter operation fails with. */
export class AdapterError extends Data.TaggedError("AdapterError")<{
  readonly reason: Reason
  /** The target or source name (its mapping's `target`). */
  readonly target: string
  /** What failed and where, without personal data (see the module comment). */
  readonly detail: string
  /** The operation that failed, when known. */
  readonly operation?: Operation | undefined
  /** For `RateLimited`: how long the system asked to wait before the next request. */
  readonly retryAfter?: Duration.Duration | undefined
  /** A machine code from the system (HTTP status, driver code such as `ECONNRESET`), for metrics. */
  readonly code?: string | undefined
}> {
  /** Whether sending the same request again may succeed (RateLimited, Transport, Conflict). */
  get isRetryable(): boolean {
    return retryableReasons.has(this.reason)
  }

  /** Whether the failure concerns the whole target (RateLimited, Unauthorized), not one item. */
  get isTargetWide(): boolean {
    return targetWideReasons.has(this.reason)
  }

  override get message(): string {
    const op = this.operation === undefined ? "" : ` ${this.operation}`
    const code = this.code === undefined ? "" : ` [${this.code}]`
    const wait = this.retryAfter === undefined ? "" : ` (retry after ${Duration.format(this.retryAfter)})`
    return `${this.target}${op}: ${this.reason}${code}: ${this.detail}${wait}`
  }
}

/** Optional fields of the per-reason constructors. */
export interface Extra {
  readonly operation?: Operation | undefined
  readonly code?: string | undefined
}

const build = (reason: Reason, target: string, detail: string, extra: Extra | undefined) =>
  new AdapterError({ reason, target, detail, operation: extra?.operation, code: extra?.code })

/** The system refused the request for its rate; `retryAfter` is what it asked for, when it said. */
export const rateLimited = (
  target: string,
  detail: string,
  retryAfter?: Duration.DurationInput,
  extra?: Extra
): AdapterError =>
  new AdapterError({
    reason: "RateLimited",
    target,
    detail,
    operation: extra?.operation,
    code: extra?.code,
    retryAfter: retryAfter === undefined ? undefined : Duration.decode(retryAfter)
  })

/** The credentials were refused or lack a permission. */
export const unauthorized = (target: string, detail: string, extra?: Extra): AdapterError =>
  build("Unauthorized", target, detail, extra)

/** The person or object named by the request does not exist in the system. */
export const notFound = (target: string, detail: string, extra?: Extra): AdapterError =>
  build("NotFound", target, detail, extra)

/** A concurrent write or a lock got in the way; retryable. */
export const conflict = (target: string, detail: string, extra?: Extra): AdapterError =>
  build("Conflict", target, detail, extra)

/** The system refuses the request as it is (validation, unsupported operation, bad cursor). */
export const invalid = (target: string, detail: string, extra?: Extra): AdapterError =>
  build("Invalid", target, detail, extra)

/** The request or its answer was lost (connection reset, timeout, 5xx); it may have been applied. */
export const transport = (target: string, detail: string, extra?: Extra): AdapterError =>
  build("Transport", target, detail, extra)

/** Anything nobody classified, including exceptions and defects escaping an adapter. */
export const unknown = (target: string, detail: string, extra?: Extra): AdapterError =>
  build("Unknown", target, detail, extra)

/** Whether a value is an AdapterError. */
export const isAdapterError = (u: unknown): u is AdapterError => u instanceof AdapterError

/**
 * An AdapterError from anything a primitive threw or died with: an AdapterError passes through
 * (an author may throw one from Promise code), anything else becomes `Unknown` naming only the
 * thrown value's class (its message may hold personal data).
 */
export const fromUnknown = (target: string, operation: Operation, thrown: unknown): AdapterError => {
  if (isAdapterError(thrown)) return thrown
  const kind =
    thrown instanceof Error
      ? thrown.name
      : thrown === null
        ? "null"
        : typeof thrown === "object"
          ? (thrown.constructor?.name ?? "object")
          : typeof thrown
  return unknown(target, `${operation} threw ${kind}`, { operation })
}

/**
 * How long a `Retry-After` header asks to wait: delay-seconds or an HTTP-date (RFC 9110 10.2.3),
 * relative to `now` (epoch millis); undefined when absent or unreadable.
 */
export const parseRetryAfter = (
  header: string | null | undefined,
  now: number
): Duration.Duration | undefined => {
  if (header === null || header === undefined) return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Duration.seconds(Number(text))
  const at = Date.parse(text)
  if (Number.isNaN(at)) return undefined
  return Duration.millis(Math.max(0, at - now))
}

/** Options of `fromHttpStatus`. */
export interface HttpOptions extends Extra {
  /** The `Retry-After` header, when the response had one. */
  readonly retryAfter?: string | null | undefined
  /** What failed, without personal data; default `HTTP <status>`. */
  readonly detail?: string | undefined
  /** Epoch millis to read an HTTP-date Retry-After against (default Date.now()). */
  readonly now?: number | undefined
}

/**
 * The reason of an HTTP error status: 429 RateLimited (with Retry-After), 401/403 Unauthorized,
 * 404/410 NotFound, 409/412/423 Conflict, other 4xx Invalid, 408/5xx Transport, anything else Unknown.
 */
export const fromHttpStatus = (target: string, status: number, options: HttpOptions = {}): AdapterError => {
  const detail = options.detail ?? `HTTP ${status}`
  const extra: Extra = { operation: options.operation, code: options.code ?? String(status) }
  if (status === 429)
    return rateLimited(target, detail, parseRetryAfter(options.retryAfter, options.now ?? Date.now()), extra)
  if (status === 401 || status === 403) return unauthorized(target, detail, extra)
  if (status === 404 || status === 410) return notFound(target, detail, extra)
  if (status === 409 || status === 412 || status === 423) return conflict(target, detail, extra)
  if (status === 408 || (status >= 500 && status <= 599)) return transport(target, detail, extra)
  if (status >= 400 && status <= 499) return invalid(target, detail, extra)
  return unknown(target, detail, extra)
}
