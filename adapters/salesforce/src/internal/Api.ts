/**
 * The REST calls the adapter makes, typed: SOQL pages (query, queryAll, the next page through
 * `nextRecordsUrl`), sObject Collections create / update / delete in requests of at most the
 * batch size with per-record outcomes, and getDeleted. Raw `conn.request` calls rather than
 * jsforce's helpers: they give the exact request (allOrNone false, mixed object types, the batch
 * size header) and one code path whose answers are decoded here.
 */
import { AdapterError } from "@living-profile/core"
import { Effect, Either } from "effect"
import type { SalesforceClient } from "../Client.js"
import * as Errors from "../Errors.js"
import { DeletedPage, decode, QueryPage, type Row, SaveResults } from "../mappers/wire.js"
import { chunks } from "../Soql.js"

const decoded = <A, I>(
  client: SalesforceClient,
  operation: AdapterError.Operation,
  what: string,
  schema: Parameters<typeof decode<A, I>>[0],
  u: unknown
): Effect.Effect<A, AdapterError.AdapterError> =>
  Either.match(decode(schema, u), {
    onLeft: (problem) =>
      Effect.fail(AdapterError.unknown(client.name, `${what} returned ${problem}`, { operation })),
    onRight: Effect.succeed
  })

/** Options of a query. */
export interface QueryOptions {
  /** queryAll: include records in the recycle bin (`IsDeleted = true`). */
  readonly all?: boolean
  /** Rows per page asked for (`Sforce-Query-Options: batchSize`, 200 to 2,000). */
  readonly batchSize?: number
}

/** The first page of a SOQL query; `what` names it in errors (never the SOQL: it holds values). */
export const query = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  what: string,
  soql: string,
  options: QueryOptions = {}
): Effect.Effect<QueryPage, AdapterError.AdapterError> =>
  Effect.flatMap(
    client.call(operation, what, (conn) =>
      conn.request<unknown>({
        method: "GET",
        url: `/${options.all === true ? "queryAll" : "query"}?q=${encodeURIComponent(soql)}`,
        headers:
          options.batchSize === undefined ? {} : { "Sforce-Query-Options": `batchSize=${options.batchSize}` }
      })
    ),
    (u) => decoded(client, operation, what, QueryPage, u)
  )

/** The page after `page` (its `nextRecordsUrl`, i.e. queryMore). */
export const next = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  what: string,
  nextRecordsUrl: string
): Effect.Effect<QueryPage, AdapterError.AdapterError> =>
  Effect.flatMap(
    client.call(operation, what, (conn) => conn.request<unknown>({ method: "GET", url: nextRecordsUrl })),
    (u) => decoded(client, operation, what, QueryPage, u)
  )

/** Every row of a query, following `nextRecordsUrl` (for lookups that are bounded by their IN list). */
export const queryAll = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  what: string,
  soql: string,
  options: QueryOptions = {}
): Effect.Effect<Array<Row>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    let page = yield* query(client, operation, what, soql, options)
    const rows: Array<Row> = [...page.records]
    while (!page.done && page.nextRecordsUrl !== undefined) {
      page = yield* next(client, operation, what, page.nextRecordsUrl)
      rows.push(...page.records)
    }
    return rows
  })

/** A record to create: its object and fields. */
export interface NewRecord {
  readonly type: string
  readonly fields: Readonly<Record<string, unknown>>
}

/** A record to update: its object, id and the fields to change. */
export interface RecordUpdate {
  readonly type: string
  readonly id: string
  readonly fields: Readonly<Record<string, unknown>>
}

/** The outcome of one record of a collection request. */
export type Outcome =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly error: AdapterError.AdapterError }

// Collections process mixed types in chunks of one type and allow ten chunks per request: writing
// the records of one type together keeps a request to a few chunks. Results come back in request
// order, so the original positions are carried along.
const grouped = <R extends { readonly type: string }>(records: ReadonlyArray<R>) =>
  records
    .map((record, index) => ({ record, index }))
    .sort((a, b) => a.record.type.localeCompare(b.record.type) || a.index - b.index)

const collect = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  what: string,
  count: number,
  send: (slice: ReadonlyArray<number>) => Effect.Effect<unknown, AdapterError.AdapterError>,
  order: ReadonlyArray<number>,
  labelOf: (index: number) => string
): Effect.Effect<Array<Outcome>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const out: Array<Outcome> = new Array(count)
    for (const slice of chunks(order, client.config.batchSize)) {
      const raw = yield* send(slice)
      const results = yield* decoded(client, operation, what, SaveResults, raw)
      if (results.length !== slice.length)
        return yield* Effect.fail(
          AdapterError.unknown(
            client.name,
            `${what} returned ${results.length} results for ${slice.length} records`,
            {
              operation
            }
          )
        )
      slice.forEach((index, k) => {
        const r = results[k]!
        out[index] =
          r.success && typeof r.id === "string"
            ? { ok: true, id: r.id }
            : { ok: false, error: Errors.fromRecordErrors(client.name, operation, labelOf(index), r.errors) }
      })
    }
    return out
  })

/** Creates records (POST /composite/sobjects, allOrNone false); one outcome per record, in order. */
export const create = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  records: ReadonlyArray<NewRecord>
): Effect.Effect<Array<Outcome>, AdapterError.AdapterError> => {
  if (records.length === 0) return Effect.succeed([])
  const order = grouped(records).map((g) => g.index)
  return collect(
    client,
    operation,
    "create records",
    records.length,
    (slice) =>
      client.call(operation, `create ${describe(slice.map((i) => records[i]!.type))}`, (conn) =>
        conn.requestPost<unknown>("/composite/sobjects", {
          allOrNone: false,
          records: slice.map((i) => ({ attributes: { type: records[i]!.type }, ...records[i]!.fields }))
        })
      ),
    order,
    (i) => `create ${records[i]!.type}`
  )
}

/** Updates records (PATCH /composite/sobjects, allOrNone false); one outcome per record, in order. */
export const update = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  records: ReadonlyArray<RecordUpdate>
): Effect.Effect<Array<Outcome>, AdapterError.AdapterError> => {
  if (records.length === 0) return Effect.succeed([])
  const order = grouped(records).map((g) => g.index)
  return collect(
    client,
    operation,
    "update records",
    records.length,
    (slice) =>
      client.call(operation, `update ${describe(slice.map((i) => records[i]!.type))}`, (conn) =>
        conn.requestPatch<unknown>("/composite/sobjects", {
          allOrNone: false,
          records: slice.map((i) => ({
            attributes: { type: records[i]!.type },
            id: records[i]!.id,
            ...records[i]!.fields
          }))
        })
      ),
    order,
    (i) => `update ${records[i]!.type}`
  )
}

/** Deletes records by id (DELETE /composite/sobjects?ids=, allOrNone false); one outcome per id. */
export const destroy = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  records: ReadonlyArray<{ readonly type: string; readonly id: string }>
): Effect.Effect<Array<Outcome>, AdapterError.AdapterError> => {
  if (records.length === 0) return Effect.succeed([])
  // Deletes name ids only (no per-type chunks): keep the caller's order, dependents first.
  const order = records.map((_, i) => i)
  return collect(
    client,
    operation,
    "delete records",
    records.length,
    (slice) =>
      client.call(operation, `delete ${describe(slice.map((i) => records[i]!.type))}`, (conn) =>
        conn.requestDelete<unknown>(
          `/composite/sobjects?ids=${slice.map((i) => encodeURIComponent(records[i]!.id)).join(",")}&allOrNone=false`
        )
      ),
    order,
    (i) => `delete ${records[i]!.type}`
  )
}

/** Records deleted in [start, end) that Salesforce still reports (getDeleted). */
export const deleted = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  type: string,
  start: Date,
  end: Date
): Effect.Effect<DeletedPage, AdapterError.AdapterError> =>
  Effect.flatMap(
    client.call(operation, `getDeleted ${type}`, (conn) => conn.deleted(type, start, end)),
    (u) => decoded(client, operation, `getDeleted ${type}`, DeletedPage, u)
  )

/** `Contact ×3, Individual ×1`: what a collection request carries, for error details. */
const describe = (types: ReadonlyArray<string>): string => {
  const counts = new Map<string, number>()
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1)
  return [...counts].map(([t, n]) => `${t} x${n}`).join(", ")
}
