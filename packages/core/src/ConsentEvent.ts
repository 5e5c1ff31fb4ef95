/**
 * The consent event: one immutable choice of a person (or one GDPR request of theirs), attached to
 * the record it came from or to the profile itself. The consent ledger gives a set of them its
 * meaning; this module owns the format, its decoding and the event id.
 *
 * GDPR flags live in the same ledger as events with a `kind` other than `consent`:
 * - `restriction` (Art. 18), `noAutomatedDecisions` (Art. 22), `erasureRequested` (Art. 17) cover
 *   the whole profile: `purpose` is `"*"` (the default) and `channel` is `any` (the default);
 * - `objection` (Art. 21) is per purpose: `purpose` is required (`"*"` objects to every purpose),
 *   `channel` is `any`;
 * - `status` is `granted` when the flag is set and `withdrawn` when it is lifted (`denied` is refused);
 * - `legalBasis` defaults to `legal_obligation` (recording and honouring a request is an obligation
 *   of the controller); `expiresAt` and `doubleOptIn` are refused on flags.
 */
import { createHash } from "node:crypto"
import { Data, Either, Schema } from "effect"
import { describeIssue, issuePath, locatedMessage } from "./internal/parseIssue.js"
import {
  Instant,
  isInstant,
  type Location,
  RecordDecodeError,
  type RecordRef,
  type SourceRecord
} from "./SourceRecord.js"

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "must be a non-empty string" }))

/** Purposes with an agreed meaning; any other non-empty string is a valid purpose too. */
export const wellKnownPurposes = [
  "marketing",
  "profiling",
  "analytics",
  "personalisation",
  "thirdPartySharing"
] as const

/** A channel of contact; `any` covers every channel of its purpose. */
export const Channel = Schema.Literal("email", "sms", "phone", "post", "push", "web", "any")
/** A channel of contact. */
export type Channel = typeof Channel.Type

/** What the person said: `withdrawn` takes back an earlier grant, `denied` refuses one. */
export const Status = Schema.Literal("granted", "denied", "withdrawn")
/** What the person said. */
export type Status = typeof Status.Type

/** The lawful basis of processing (GDPR Art. 6(1)). */
export const LegalBasis = Schema.Literal(
  "consent",
  "contract",
  "legal_obligation",
  "vital_interests",
  "public_task",
  "legitimate_interests"
)
/** The lawful basis of processing. */
export type LegalBasis = typeof LegalBasis.Type

/** A consent choice, or one of the GDPR flags (see the module comment for their encoding). */
export const Kind = Schema.Literal(
  "consent",
  "restriction",
  "objection",
  "noAutomatedDecisions",
  "erasureRequested"
)
/** A consent choice or a GDPR flag. */
export type Kind = typeof Kind.Type

/** A double opt-in: a grant without `confirmedAt` reads as pending. */
export const DoubleOptIn = Schema.Struct({
  requestedAt: Instant,
  confirmedAt: Schema.optionalWith(Instant, { exact: true })
})

/** Evidence of how the choice was captured; personal data, so never hashed, logged or sent on. */
export const Proof = Schema.Struct({
  formId: Schema.optionalWith(Schema.String, { exact: true }),
  userAgent: Schema.optionalWith(Schema.String, { exact: true }),
  /** The IP address as a keyed hash, never the address. */
  ipHash: Schema.optionalWith(Schema.String, { exact: true })
})

/**
 * Schema of a consent event as written. `kind`, `purpose`, `channel` and `legalBasis` are optional
 * here because flags default them; a `consent` event must carry all four (checked by `decode`).
 */
export const ConsentEvent = Schema.Struct({
  /** Given by the source, or derived (a hash of the event's fields); must be unique across sources. */
  eventId: Schema.optionalWith(NonEmpty, { exact: true }),
  kind: Schema.optionalWith(Kind, { exact: true }),
  purpose: Schema.optionalWith(NonEmpty, { exact: true }),
  channel: Schema.optionalWith(Channel, { exact: true }),
  status: Status,
  legalBasis: Schema.optionalWith(LegalBasis, { exact: true }),
  capturedAt: Instant,
  source: NonEmpty,
  /** The privacy notice or policy version the person saw. */
  policyVersion: Schema.optionalWith(NonEmpty, { exact: true }),
  /** A grant stops counting at this instant (it reads `expired`). */
  expiresAt: Schema.optionalWith(Instant, { exact: true }),
  doubleOptIn: Schema.optionalWith(DoubleOptIn, { exact: true }),
  proof: Schema.optionalWith(Proof, { exact: true }),
  /** The record the event came with; absent for profile-level events (a preference-center choice). */
  record: Schema.optionalWith(Schema.Struct({ source: NonEmpty, id: NonEmpty }), { exact: true })
})

/** A consent event as written (what `decode` accepts). */
export type ConsentEventInput = Schema.Schema.Encoded<typeof ConsentEvent>

/** A decoded consent event: defaults filled in and its id fixed. */
export interface ConsentEvent {
  readonly eventId: string
  readonly kind: Kind
  readonly purpose: string
  readonly channel: Channel
  readonly status: Status
  readonly legalBasis: LegalBasis
  readonly capturedAt: string
  readonly source: string
  readonly policyVersion?: string
  readonly expiresAt?: string
  readonly doubleOptIn?: { readonly requestedAt: string; readonly confirmedAt?: string }
  readonly proof?: { readonly formId?: string; readonly userAgent?: string; readonly ipHash?: string }
  readonly record?: RecordRef
}

/**
 * The canonical JSON of a value: object keys sorted (by UTF-16 code units, as RFC 8785), no
 * whitespace, `undefined` members left out. Event ids, receipt ids and audit hashes are computed
 * over this form, so that equal values hash equally whatever order their keys were written in.
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    // JSON.stringify gives undefined for undefined, functions and symbols: they read as null, as in arrays.
    const s = JSON.stringify(value)
    return s === undefined ? "null" : s
  }
  const withToJson = value as { toJSON?: unknown }
  if (typeof withToJson.toJSON === "function")
    return canonicalJson((withToJson.toJSON as () => unknown).call(value))
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(value[i])
    return out + "]"
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let out = "{"
  let first = true
  for (const k of keys) {
    const v = record[k]
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue
    out += (first ? "" : ",") + JSON.stringify(k) + ":" + canonicalJson(v)
    first = false
  }
  return out + "}"
}

/** The SHA-256 of a string (UTF-8), as 64 lowercase hex digits. */
export const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

const ZONE = /(Z|z|[+-]\d{2}:?\d{2})$/

// A digit's value, or a large negative number that drives any sum it enters out of range.
const digit = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48
  return d >= 0 && d <= 9 ? d : -100_000
}

const two = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1)

const daysIn = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : month === 4 || month === 6 || month === 9 || month === 11
      ? 30
      : 31

/**
 * Milliseconds since the epoch of an ISO-8601 instant. A date-time without an offset is read as
 * UTC (Date.parse would read it in the host's time zone, making the ledger depend on the machine).
 * The usual `YYYY-MM-DDTHH:MM:SS[.fff]Z` form is read by hand: ledgers parse every event they
 * hold, and Date.parse is several times slower; anything unusual goes to Date.parse.
 */
export const toMillis = (instant: string): number => {
  const s = instant
  const n = s.length
  if (
    n >= 20 &&
    s.charCodeAt(n - 1) === 90 /* Z */ &&
    s.charCodeAt(4) === 45 /* - */ &&
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(10) === 84 /* T */ &&
    s.charCodeAt(13) === 58 /* : */ &&
    s.charCodeAt(16) === 58
  ) {
    const year = two(s, 0) * 100 + two(s, 2)
    const month = two(s, 5)
    const day = two(s, 8)
    const hour = two(s, 11)
    const minute = two(s, 14)
    const second = two(s, 17)
    let ms = 0
    let ok = n === 20 || (n > 21 && s.charCodeAt(19) === 46) /* . */
    // Date.parse keeps milliseconds and drops finer digits.
    for (let i = 20, scale = 100; ok && i < n - 1; i++, scale /= 10) {
      const d = digit(s, i)
      if (d < 0) ok = false
      else if (scale >= 1) ms += d * scale
    }
    // Impossible days, hour 24 and second 60 are left to Date.parse, which rolls some over and refuses others;
    // years below 100 too, which Date.UTC would read as 19xx.
    if (
      ok &&
      year >= 100 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysIn(year, month) &&
      hour >= 0
    ) {
      if (hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59) {
        // Days from the civil date (H. Hinnant's algorithm): plain arithmetic, faster than Date.UTC.
        const y = month <= 2 ? year - 1 : year
        const era = Math.floor(y / 400)
        const yoe = y - era * 400
        const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
        const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
        const days = era * 146097 + doe - 719468
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms
      }
    }
  }
  const last = s.charCodeAt(n - 1)
  if (last === 90 || n <= 10 || ZONE.test(s)) return Date.parse(s)
  return Date.parse(s + "Z")
}

const normalInstant = (instant: string): string => new Date(toMillis(instant)).toISOString()

/**
 * An event that could not be decoded. Names where (file, line, record, field such as
 * `consents.2.capturedAt`) and what was expected, never the offending value: events carry personal data.
 */
export class ConsentEventError extends Data.TaggedError("ConsentEventError")<{
  readonly file?: string | undefined
  readonly line?: number | undefined
  readonly record?: RecordRef | undefined
  /** Position in the array given to `decodeAll` or `fromRecordConsents`. */
  readonly index?: number | undefined
  readonly field: string
  readonly problem: string
}> {
  override get message(): string {
    return locatedMessage(this)
  }
}

/** Where an event came from, for error messages; `path` prefixes the field (`consents.2`). */
export interface At extends Location {
  readonly record?: RecordRef | undefined
  readonly path?: string | undefined
  readonly index?: number | undefined
}

const decodeEither = Schema.decodeUnknownEither(ConsentEvent, { errors: "first", onExcessProperty: "ignore" })

const fail = (at: At, field: string, problem: string): Either.Either<never, ConsentEventError> =>
  Either.left(
    new ConsentEventError({
      file: at.file,
      line: at.line,
      record: at.record,
      index: at.index,
      field: at.path === undefined ? field : field === "(event)" ? at.path : `${at.path}.${field}`,
      problem
    })
  )

type Decoded = Schema.Schema.Type<typeof ConsentEvent>

/** The fields an event id is the hash of: everything but the id and the proof, instants normalised. */
const identity = (e: Omit<ConsentEvent, "eventId" | "proof">): string =>
  sha256(
    canonicalJson({
      kind: e.kind,
      purpose: e.purpose,
      channel: e.channel,
      status: e.status,
      legalBasis: e.legalBasis,
      capturedAt: normalInstant(e.capturedAt),
      source: e.source,
      policyVersion: e.policyVersion,
      expiresAt: e.expiresAt === undefined ? undefined : normalInstant(e.expiresAt),
      doubleOptIn:
        e.doubleOptIn === undefined
          ? undefined
          : {
              requestedAt: normalInstant(e.doubleOptIn.requestedAt),
              confirmedAt:
                e.doubleOptIn.confirmedAt === undefined ? undefined : normalInstant(e.doubleOptIn.confirmedAt)
            },
      record: e.record
    })
  )

const complete = (d: Decoded, at: At): Either.Either<ConsentEvent, ConsentEventError> => {
  const kind = d.kind ?? "consent"
  let purpose = d.purpose
  let channel = d.channel
  let legalBasis = d.legalBasis
  if (kind === "consent") {
    if (purpose === undefined) return fail(at, "purpose", "is required")
    if (channel === undefined) return fail(at, "channel", "is required")
    if (legalBasis === undefined) return fail(at, "legalBasis", "is required")
  } else {
    if (kind === "objection") {
      if (purpose === undefined) return fail(at, "purpose", "is required for an objection")
    } else if (purpose === undefined) purpose = "*"
    else if (purpose !== "*")
      return fail(at, "purpose", `must be "*" or left out: a ${kind} flag covers every purpose`)
    if (channel === undefined) channel = "any"
    else if (channel !== "any")
      return fail(at, "channel", "must be any or left out: a flag covers every channel")
    if (d.status === "denied")
      return fail(at, "status", "must be granted (flag set) or withdrawn (flag lifted)")
    if (d.expiresAt !== undefined) return fail(at, "expiresAt", "is not allowed on a flag")
    if (d.doubleOptIn !== undefined) return fail(at, "doubleOptIn", "is not allowed on a flag")
    legalBasis ??= "legal_obligation"
  }
  // Fixed member order: every event has the same shape up to its optional tail.
  const base = {
    kind,
    purpose,
    channel,
    status: d.status,
    legalBasis,
    capturedAt: d.capturedAt,
    source: d.source,
    ...(d.policyVersion === undefined ? {} : { policyVersion: d.policyVersion }),
    ...(d.expiresAt === undefined ? {} : { expiresAt: d.expiresAt }),
    ...(d.doubleOptIn === undefined ? {} : { doubleOptIn: d.doubleOptIn }),
    ...(d.record === undefined ? {} : { record: { source: d.record.source, id: d.record.id } })
  }
  return Either.right({
    eventId: d.eventId ?? identity(base),
    ...base,
    ...(d.proof === undefined ? {} : { proof: d.proof })
  })
}

/** Decodes one event, filling in defaults and the event id; errors are located and carry no values. */
export const decode = (input: unknown, at: At = {}): Either.Either<ConsentEvent, ConsentEventError> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(at, "(event)", "must be a JSON object")
  }
  const r = decodeEither(input)
  if (Either.isLeft(r)) {
    const path = issuePath(r.left.issue)
    return fail(at, path === "" ? "(event)" : path, describeIssue(r.left.issue))
  }
  return complete(r.right, at)
}

/**
 * Decodes an array of events; the errors name every bad event by its index (`consents.2.capturedAt`,
 * or `<at.path>.2...` when a path is given).
 */
export const decodeAll = (
  inputs: ReadonlyArray<unknown>,
  at: At = {}
): Either.Either<Array<ConsentEvent>, Array<ConsentEventError>> => {
  const prefix = at.path ?? "consents"
  const events: Array<ConsentEvent> = []
  const errors: Array<ConsentEventError> = []
  for (let i = 0; i < inputs.length; i++) {
    const r = decode(inputs[i], { ...at, path: `${prefix}.${i}`, index: i })
    if (Either.isRight(r)) events.push(r.right)
    else errors.push(r.left)
  }
  return errors.length === 0 ? Either.right(events) : Either.left(errors)
}

/**
 * The events of a record's `consents`. Each is attached to the record (its `record` is the
 * record's key, whatever the event says); `source` defaults to the record's source, since that is
 * the system that sent it. `capturedAt` has no default: the record's `updatedAt` is when the record
 * changed, and would make an old choice look newer than a later withdrawal elsewhere.
 */
export const fromRecordConsents = (
  record: SourceRecord,
  at: Location = {}
): Either.Either<Array<ConsentEvent>, Array<ConsentEventError>> => {
  const consents = record.consents ?? []
  const ref: RecordRef = { source: record.source, id: record.id }
  const inputs: Array<unknown> = new Array(consents.length)
  for (let i = 0; i < consents.length; i++) {
    const c = consents[i]!
    inputs[i] = { ...c, source: c["source"] === undefined ? record.source : c["source"], record: ref }
  }
  return decodeAll(inputs, { ...at, record: ref, path: "consents" })
}

/** Builds an event from fields written in code; throws ConsentEventError when they are invalid. */
export const make = (input: ConsentEventInput): ConsentEvent => {
  const r = decode(input)
  if (Either.isLeft(r)) throw r.left
  return r.right
}

/**
 * A decoded record whose consents are all valid events, or the first bad one as a located
 * RecordDecodeError (field `consents.2.capturedAt`), so input readers report it like any other
 * bad field of the record.
 */
export const checkRecord = (
  record: SourceRecord,
  at: Location = {}
): Either.Either<SourceRecord, RecordDecodeError> => {
  const consents = record.consents
  if (consents === undefined || consents.length === 0) return Either.right(record)
  let allWellFormed = true
  for (let i = 0; i < consents.length && allWellFormed; i++) allWellFormed = isWellFormedConsent(consents[i])
  if (allWellFormed) return Either.right(record)
  const r = fromRecordConsents(record, at)
  if (Either.isRight(r)) return Either.right(record)
  const e = r.left[0]!
  return Either.left(
    new RecordDecodeError({
      file: e.file,
      line: e.line,
      record: e.record,
      field: e.field,
      problem: e.problem
    })
  )
}

const CHANNELS = new Set(["email", "sms", "phone", "post", "push", "web", "any"])
const STATUSES = new Set(["granted", "denied", "withdrawn"])
const BASES = new Set([
  "consent",
  "contract",
  "legal_obligation",
  "vital_interests",
  "public_task",
  "legitimate_interests"
])

const nonEmpty = (v: unknown): boolean => typeof v === "string" && v.length > 0
const optional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v)
const instant = (v: unknown): boolean => typeof v === "string" && isInstant(v)
const plain = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v)
const optionalString = (o: Record<string, unknown>, k: string): boolean =>
  !(k in o) || typeof o[k] === "string"

/**
 * Whether a record's consent entry is an ordinary consent event that `decode` accepts, checked
 * without the schema or hashing: validating every record's consents on ingestion must stay cheap.
 * Conservative: flags, and anything unusual, go through `decode`, which decides and explains.
 */
export const isWellFormedConsent = (c: unknown): boolean => {
  if (!plain(c)) return false
  if (c["kind"] !== undefined && c["kind"] !== "consent") return false
  if (
    !nonEmpty(c["purpose"]) ||
    !CHANNELS.has(c["channel"] as string) ||
    !STATUSES.has(c["status"] as string)
  )
    return false
  if (!BASES.has(c["legalBasis"] as string) || !instant(c["capturedAt"])) return false
  if (
    !optional(c["source"], nonEmpty) ||
    !optional(c["eventId"], nonEmpty) ||
    !optional(c["policyVersion"], nonEmpty)
  )
    return false
  if (!optional(c["expiresAt"], instant)) return false
  const d = c["doubleOptIn"]
  if (d !== undefined && !(plain(d) && instant(d["requestedAt"]) && optional(d["confirmedAt"], instant)))
    return false
  const p = c["proof"]
  if (
    p !== undefined &&
    !(
      plain(p) &&
      optionalString(p, "formId") &&
      optionalString(p, "userAgent") &&
      optionalString(p, "ipHash")
    )
  )
    return false
  const r = c["record"]
  if (r !== undefined && !(plain(r) && nonEmpty(r["source"]) && nonEmpty(r["id"]))) return false
  // Exact optional fields: a key present with `undefined` is an error for the schema.
  for (const k in c) if (c[k] === undefined) return false
  return true
}
