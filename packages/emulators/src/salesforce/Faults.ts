/**
 * Injected faults. A fault matches requests by method and path and then, in this order: holds the
 * request `delayMs`, and answers `status` (with a Salesforce-shaped error body unless `body` is
 * given), or destroys the connection (`drop`), or never answers (`hang`, until the client gives up
 * or the emulator closes). A fault with only `delayMs` is a latency spike: the request then runs
 * normally. `next` queues one-shot faults (first match wins, in order); `rule` adds a standing
 * rule, optionally limited to `times` matches. Queued faults are consulted before rules. Faulted
 * requests are not counted against the API limit.
 *
 * A status fault (not `drop` / `hang`) also answers a Composite subrequest whose method and path it
 * matches, unless the Composite request itself took it first: `{ path: "/query", status: 404 }`
 * fails the next query whether it comes alone or inside a composite.
 *
 * `record` adds a record-level fault: a write of a matching record fails on its own (per-record
 * error in collections, the error response of a single-record call) while the request succeeds,
 * e.g. UNABLE_TO_LOCK_ROW for one record of a batch of otherwise valid records.
 */

/** Which requests a fault applies to. */
export interface FaultMatch {
  /** HTTP method, case-insensitive; any when omitted. */
  readonly method?: string
  /** A substring of the URL path, or a RegExp tested against it; any when omitted. */
  readonly path?: string | RegExp
}

/** What a fault does. */
export interface FaultAction {
  /** Answer with this HTTP status. */
  readonly status?: number
  /** errorCode of the default error body (defaults by status, e.g. 503 SERVER_UNAVAILABLE). */
  readonly errorCode?: string
  /** message of the default error body. */
  readonly message?: string
  /** A body to send instead of the default: a string is sent as is, anything else as JSON. */
  readonly body?: unknown
  /** Content-Type of the answer (default application/json;charset=UTF-8). */
  readonly contentType?: string
  /** Extra response headers. */
  readonly headers?: Readonly<Record<string, string>>
  /** Hold the request this long before acting (or before running it normally). */
  readonly delayMs?: number
  /** Destroy the connection without an answer (the client sees ECONNRESET / socket hang up). */
  readonly drop?: boolean
  /** Never answer; the connection stays open until the client aborts or the emulator closes. */
  readonly hang?: boolean
}

/** A one-shot fault: where it applies and what it does. */
export type FaultSpec = FaultMatch & FaultAction

/** A standing fault rule. */
export interface FaultRule extends FaultSpec {
  /** How many matching requests it applies to; unlimited when omitted. */
  readonly times?: number
}

/** A handle on a rule. */
export interface FaultHandle {
  /** How many more requests the rule will fault (Infinity when unlimited). */
  readonly remaining: () => number
  /** Removes the rule. */
  readonly remove: () => void
}

/** Which writes a record fault applies to, and the error they fail with. */
export interface RecordFault {
  /** Object name, case-insensitive; any when omitted. */
  readonly object?: string
  /** Kind of write (an upsert is a create or an update); any when omitted. */
  readonly operation?: "create" | "update" | "delete"
  /** Chooses records by their JSON fields as they would be saved; all when omitted. */
  readonly where?: (record: Readonly<Record<string, unknown>>) => boolean
  /** Default UNABLE_TO_LOCK_ROW. */
  readonly errorCode?: string
  /** Default "unable to obtain exclusive access to this record or 1 records: <id>". */
  readonly message?: string
  /** Default []. */
  readonly fields?: ReadonlyArray<string>
  /** How many record writes it fails; unlimited when omitted. */
  readonly times?: number
}

/** The error a record fault produces. */
export interface RecordFaultError {
  readonly errorCode: string
  readonly message: string
  readonly fields: ReadonlyArray<string>
}

/** The fault registry of an emulator. */
export interface Faults {
  /** Queues a fault for the next matching request. */
  readonly next: (fault: FaultSpec) => void
  /** Adds a standing rule; returns a handle to inspect or remove it. */
  readonly rule: (rule: FaultRule) => FaultHandle
  /** Adds a record-level fault rule; returns a handle to inspect or remove it. */
  readonly record: (fault: RecordFault) => FaultHandle
  /** Removes every queued fault and rule (record rules included). */
  readonly clear: () => void
  /** How many queued faults and live rules remain. */
  readonly pending: () => number
}

/** The registry plus the lookup the server uses. */
export interface FaultRegistry extends Faults {
  /** Takes the fault for a request, if any (consuming a queued fault or one use of a rule). */
  readonly take: (method: string, path: string) => FaultAction | undefined
  /** Takes a status fault (no drop or hang) for a composite subrequest, if any. */
  readonly takeStatus: (method: string, path: string) => FaultAction | undefined
  /** Takes the record fault for a write, if any; `record` is only built when a rule could match. */
  readonly takeRecord: (
    object: string,
    operation: "create" | "update" | "delete",
    id: string | undefined,
    record: () => Readonly<Record<string, unknown>>
  ) => RecordFaultError | undefined
}

const matches = (m: FaultMatch, method: string, path: string): boolean => {
  if (m.method !== undefined && m.method.toUpperCase() !== method.toUpperCase()) return false
  if (m.path === undefined) return true
  if (typeof m.path === "string") return path.includes(m.path)
  m.path.lastIndex = 0
  return m.path.test(path)
}

interface LiveRule {
  readonly rule: FaultRule
  remaining: number
}

interface LiveRecordRule {
  readonly rule: RecordFault
  remaining: number
}

const handle = <T extends { remaining: number }>(list: Array<T>, live: T): FaultHandle => ({
  remaining: () => live.remaining,
  remove: () => {
    const i = list.indexOf(live)
    if (i >= 0) list.splice(i, 1)
  }
})

/** An empty registry. */
export const make = (): FaultRegistry => {
  const queue: Array<FaultSpec> = []
  const rules: Array<LiveRule> = []
  const recordRules: Array<LiveRecordRule> = []
  const take = (
    method: string,
    path: string,
    eligible: (f: FaultAction) => boolean
  ): FaultAction | undefined => {
    const q = queue.findIndex((f) => eligible(f) && matches(f, method, path))
    if (q >= 0) return queue.splice(q, 1)[0]
    const live = rules.find((r) => r.remaining > 0 && eligible(r.rule) && matches(r.rule, method, path))
    if (live === undefined) return undefined
    live.remaining--
    if (live.remaining <= 0) rules.splice(rules.indexOf(live), 1)
    return live.rule
  }
  return {
    next: (fault) => {
      queue.push(fault)
    },
    rule: (rule) => {
      const live: LiveRule = { rule, remaining: rule.times ?? Number.POSITIVE_INFINITY }
      rules.push(live)
      return handle(rules, live)
    },
    record: (rule) => {
      const live: LiveRecordRule = { rule, remaining: rule.times ?? Number.POSITIVE_INFINITY }
      recordRules.push(live)
      return handle(recordRules, live)
    },
    clear: () => {
      queue.length = 0
      rules.length = 0
      recordRules.length = 0
    },
    pending: () => queue.length + rules.length + recordRules.length,
    takeRecord: (object, operation, id, record) => {
      const candidates = recordRules.filter(
        (r) =>
          r.remaining > 0 &&
          (r.rule.object === undefined || r.rule.object.toLowerCase() === object.toLowerCase()) &&
          (r.rule.operation === undefined || r.rule.operation === operation)
      )
      if (candidates.length === 0) return undefined
      const fields = record()
      const live = candidates.find((r) => r.rule.where === undefined || r.rule.where(fields))
      if (live === undefined) return undefined
      live.remaining--
      if (live.remaining <= 0) recordRules.splice(recordRules.indexOf(live), 1)
      return {
        errorCode: live.rule.errorCode ?? "UNABLE_TO_LOCK_ROW",
        message:
          live.rule.message ??
          `unable to obtain exclusive access to this record or 1 records: ${id ?? "(new record)"}`,
        fields: live.rule.fields ?? []
      }
    },
    take: (method, path) => take(method, path, () => true),
    takeStatus: (method, path) => take(method, path, statusOnly)
  }
}

const statusOnly = (f: FaultAction): boolean => f.status !== undefined && f.drop !== true && f.hang !== true

const defaultCodes: Record<number, readonly [string, string]> = {
  400: ["BAD_REQUEST", "Bad request (injected by the Salesforce emulator)"],
  401: ["INVALID_SESSION_ID", "Session expired or invalid"],
  403: ["REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."],
  404: ["NOT_FOUND", "The requested resource does not exist"],
  409: ["CONFLICT", "Conflict (injected by the Salesforce emulator)"],
  420: ["REQUEST_LIMIT_EXCEEDED", "Enhance your calm (injected by the Salesforce emulator)"],
  429: ["REQUEST_LIMIT_EXCEEDED", "Too many requests (injected by the Salesforce emulator)"],
  500: [
    "UNKNOWN_EXCEPTION",
    "An unexpected error occurred. Please include this ErrorId if you contact support: 000000000-00000 (0) (injected by the Salesforce emulator)"
  ],
  502: ["SERVER_UNAVAILABLE", "Bad gateway (injected by the Salesforce emulator)"],
  503: ["SERVER_UNAVAILABLE", "Server temporarily unavailable (injected by the Salesforce emulator)"],
  504: ["SERVER_UNAVAILABLE", "Gateway timeout (injected by the Salesforce emulator)"]
}

/** The default body of a status fault: a REST error array, or an OAuth error on the token endpoint. */
export const defaultBody = (fault: FaultAction, status: number, oauth: boolean): unknown => {
  const [code, message] = defaultCodes[status] ?? [
    "UNKNOWN_EXCEPTION",
    `HTTP ${status} (injected by the Salesforce emulator)`
  ]
  if (oauth) return { error: fault.errorCode ?? "unknown_error", error_description: fault.message ?? message }
  return [{ message: fault.message ?? message, errorCode: fault.errorCode ?? code }]
}
