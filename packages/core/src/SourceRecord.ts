/**
 * The interchange record: one customer record as a source system holds it.
 * NDJSON input has one of these per line; the API takes the same shape.
 */
import { Data, Either, Schema } from "effect"
import { describeIssue, issuePath, locatedMessage } from "./internal/parseIssue.js"

/** An attribute value as sources send it; strings are what matching reads. */
export const AttributeValue = Schema.Union(Schema.String, Schema.Number, Schema.Boolean, Schema.Null)

/** A consent event as it arrives on a record; the consent ledger gives it its full meaning. */
export const RecordConsent = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "must be a non-empty string" }))

/** Whether a string is an ISO-8601 instant the `Instant` schema accepts (cheap, for fast paths). */
export const isInstant = (s: string): boolean => INSTANT.test(s) && !Number.isNaN(Date.parse(s))

const INSTANT = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/

/** An ISO-8601 instant such as 2025-05-01T10:00:00Z (a bare date is read as midnight UTC). */
export const Instant = Schema.String.pipe(
  Schema.filter((s) => INSTANT.test(s) && !Number.isNaN(Date.parse(s)), {
    message: () => "must be an ISO-8601 date-time such as 2025-05-01T10:00:00Z"
  })
)

/** Schema of the interchange record. */
export const SourceRecord = Schema.Struct({
  source: NonEmpty,
  id: NonEmpty,
  updatedAt: Schema.optionalWith(Instant, { exact: true }),
  /** `true` withdraws the record: its profile is re-evaluated without it. */
  deleted: Schema.optionalWith(Schema.Boolean, { exact: true }),
  identifiers: Schema.optionalWith(
    Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }),
    { exact: true }
  ),
  attributes: Schema.optionalWith(Schema.Record({ key: Schema.String, value: AttributeValue }), {
    exact: true
  }),
  consents: Schema.optionalWith(Schema.Array(RecordConsent), { exact: true })
})

/** A decoded interchange record. */
export interface SourceRecord extends Schema.Schema.Type<typeof SourceRecord> {}

/** The key that names a record across the library: its source and its id in that source. */
export interface RecordRef {
  readonly source: string
  readonly id: string
}

/** The string form of a record key (`source`, a unit separator, `id`). */
export const recordKey = (ref: RecordRef): string => `${ref.source}\u001f${ref.id}`

/** Splits a record key back into its parts. */
export const parseRecordKey = (key: string): RecordRef => {
  const i = key.indexOf("\u001f")
  return { source: key.slice(0, i), id: key.slice(i + 1) }
}

/**
 * A record that could not be decoded. The message names where (file, line, record, field) and
 * what was expected, never the offending value: input lines carry personal data.
 */
export class RecordDecodeError extends Data.TaggedError("RecordDecodeError")<{
  readonly file?: string | undefined
  readonly line?: number | undefined
  readonly record?: RecordRef | undefined
  readonly field: string
  readonly problem: string
}> {
  override get message(): string {
    return locatedMessage(this)
  }
}

/** Where a decoded value came from, for error messages. */
export interface Location {
  readonly file?: string | undefined
  readonly line?: number | undefined
}

const decodeEither = Schema.decodeUnknownEither(SourceRecord, { errors: "first", onExcessProperty: "ignore" })

const refOf = (input: unknown): RecordRef | undefined => {
  if (typeof input !== "object" || input === null) return undefined
  const o = input as { source?: unknown; id?: unknown }
  return typeof o.source === "string" && typeof o.id === "string" ? { source: o.source, id: o.id } : undefined
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v)

const isStringArray = (v: unknown): boolean => {
  if (!Array.isArray(v)) return false
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") return false
  return true
}

/**
 * Whether a value is a well-formed record with no field the schema would drop, so that decoding
 * it yields an equal object. Most input is, and this check costs a fraction of a schema decode;
 * anything it does not accept goes through the schema, which decides and explains.
 */
export const isWellFormed = (o: unknown): o is SourceRecord => {
  if (!isPlainObject(o)) return false
  let hasSource = false
  let hasId = false
  for (const k in o) {
    const v = o[k]
    switch (k) {
      case "source":
      case "id":
        if (typeof v !== "string" || v.length === 0) return false
        if (k === "source") hasSource = true
        else hasId = true
        break
      case "updatedAt":
        if (typeof v !== "string" || !INSTANT.test(v) || Number.isNaN(Date.parse(v))) return false
        break
      case "deleted":
        if (typeof v !== "boolean") return false
        break
      case "identifiers":
        if (!isPlainObject(v)) return false
        for (const t in v) if (!isStringArray(v[t])) return false
        break
      case "attributes":
        if (!isPlainObject(v)) return false
        for (const a in v) {
          const x = v[a]
          if (x !== null && typeof x !== "string" && typeof x !== "number" && typeof x !== "boolean")
            return false
        }
        break
      case "consents":
        if (!Array.isArray(v)) return false
        for (let i = 0; i < v.length; i++) if (!isPlainObject(v[i])) return false
        break
      default:
        return false
    }
  }
  return hasSource && hasId
}

/** Decodes one interchange record, failing with a located error that carries no personal data. */
export const decode = (input: unknown, at: Location = {}): Either.Either<SourceRecord, RecordDecodeError> => {
  if (isWellFormed(input)) return Either.right(input)
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(
      new RecordDecodeError({
        file: at.file,
        line: at.line,
        field: "(record)",
        problem: "must be a JSON object"
      })
    )
  }
  const r = decodeEither(input)
  if (Either.isRight(r)) return Either.right(r.right)
  const issue = r.left.issue
  const path = issuePath(issue)
  const field = path === "" ? "(record)" : path
  return Either.left(
    new RecordDecodeError({
      file: at.file,
      line: at.line,
      record: refOf(input),
      field,
      problem: describeIssue(issue)
    })
  )
}

/** Parses and decodes one NDJSON line. */
export const decodeLine = (
  line: string,
  at: Location = {}
): Either.Either<SourceRecord, RecordDecodeError> => {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return Either.left(new RecordDecodeError({ ...at, field: "(line)", problem: "is not valid JSON" }))
  }
  return decode(value, at)
}
