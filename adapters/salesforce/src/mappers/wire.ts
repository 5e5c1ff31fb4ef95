/**
 * Salesforce's wire shapes as the REST API sends them (through jsforce, which passes the JSON
 * through): query pages, per-record save results, Composite answers, getDeleted answers, and
 * reading a record's fields without trusting their types. jsforce types all of these loosely, so
 * they are decoded here, once, before anything reads them.
 */
import { Either, ParseResult, Schema } from "effect"
import { isoOf, millisOf } from "../Soql.js"

/** A record as a query returns it: field name to JSON value (`attributes` included). */
export type Row = Readonly<Record<string, unknown>>

/** A page of a SOQL query. */
export const QueryPage = Schema.Struct({
  done: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  totalSize: Schema.optional(Schema.Number),
  nextRecordsUrl: Schema.optional(Schema.String),
  records: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
/** A page of a SOQL query. */
export type QueryPage = typeof QueryPage.Type

/** One error of a per-record result (`statusCode` in collections; jsforce's types say `errorCode`). */
export const RecordError = Schema.Struct({
  statusCode: Schema.optional(Schema.String),
  errorCode: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
  fields: Schema.optional(Schema.Array(Schema.String))
})

/** The result of one record in sObject Collections (create, update, delete). */
export const SaveResult = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  success: Schema.Boolean,
  errors: Schema.optionalWith(Schema.Array(RecordError), { default: () => [] })
})
/** The result of one record in sObject Collections. */
export type SaveResult = typeof SaveResult.Type

/** The results of a collection request, in input order. */
export const SaveResults = Schema.Array(SaveResult)

/** One subrequest's answer inside a Composite response. */
export const SubrequestResult = Schema.Struct({
  body: Schema.optionalWith(Schema.Unknown, { default: () => null }),
  httpHeaders: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), {
    default: () => ({})
  }),
  httpStatusCode: Schema.Number,
  referenceId: Schema.String
})

/** The answer of a Composite request (`POST /composite`): one result per subrequest. */
export const CompositeResults = Schema.Struct({ compositeResponse: Schema.Array(SubrequestResult) })
/** The answer of a Composite request. */
export type CompositeResults = typeof CompositeResults.Type

/** The answer of getDeleted. */
export const DeletedPage = Schema.Struct({
  deletedRecords: Schema.Array(Schema.Struct({ id: Schema.String, deletedDate: Schema.String })),
  earliestDateAvailable: Schema.optional(Schema.String),
  latestDateCovered: Schema.String
})
/** The answer of getDeleted. */
export type DeletedPage = typeof DeletedPage.Type

/** Decodes a wire value; the error names the path and what was expected (never the value). */
export const decode = <A, I>(schema: Schema.Schema<A, I>, u: unknown): Either.Either<A, string> =>
  Either.mapLeft(Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })(u), (e) => {
    // The formatter's messages quote the actual value; keep only where it went wrong.
    const first = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
    return `an unexpected shape at ${first === undefined || first.path.length === 0 ? "(root)" : first.path.join(".")}`
  })

/** A non-empty string field, else undefined. */
export const text = (row: Row, field: string): string | undefined => {
  const v = row[field]
  return typeof v === "string" && v.length > 0 ? v : undefined
}

/** A checkbox: true only when the field is the boolean true. */
export const flag = (row: Row, field: string): boolean => row[field] === true

/** A dateTime field as ISO-8601 UTC, else undefined. */
export const instant = (row: Row, field: string): string | undefined => {
  const v = row[field]
  return typeof v === "string" ? isoOf(v) : undefined
}

/** A dateTime field in epoch milliseconds, else NaN. */
export const millis = (row: Row, field: string): number => {
  const v = row[field]
  return typeof v === "string" ? millisOf(v) : Number.NaN
}

/** The parent record of a relationship field (`Individual` of a Contact), when the query selected it. */
export const parent = (row: Row, relationship: string): Row | undefined => {
  const v = row[relationship]
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Row) : undefined
}

/** The record id. */
export const idOf = (row: Row): string | undefined => text(row, "Id")
