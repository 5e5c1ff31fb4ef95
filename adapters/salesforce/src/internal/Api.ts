/**
 * The REST calls the adapter makes, typed: SOQL pages (query, queryAll, the next page through
 * `nextRecordsUrl`), sObject Collections create / update / delete in requests of at most the
 * batch size with per-record outcomes, and Composite requests that carry up to five query
 * operations or collections in one API call: independent reads (`drain`, `readMany`: queries,
 * their next pages, getDeleted) and writes (`write`). Raw `conn.request` calls rather than
 * jsforce's helpers (jsforce has none for Composite): they give the exact request (allOrNone
 * false, mixed object types, the batch size header) and one code path whose answers are decoded
 * here.
 */
import { AdapterError } from "@living-profile/core"
import { Effect, Either } from "effect"
import type { SalesforceClient } from "../Client.js"
import * as Errors from "../Errors.js"
import { CompositeResults, DeletedPage, decode, QueryPage, type Row, SaveResults } from "../mappers/wire.js"
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

/** Fills the outcomes of the records at `slice` from one collection answer (results in request order). */
const outcomesOf = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  what: string,
  raw: unknown,
  slice: ReadonlyArray<number>,
  labelOf: (index: number) => string,
  out: Array<Outcome>
): Effect.Effect<void, AdapterError.AdapterError> =>
  Effect.flatMap(decoded(client, operation, what, SaveResults, raw), (results) => {
    if (results.length !== slice.length)
      return Effect.fail(
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
    return Effect.void
  })

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
    for (const slice of chunks(order, client.config.batchSize))
      yield* outcomesOf(client, operation, what, yield* send(slice), slice, labelOf, out)
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

/**
 * Subrequests of one Composite request that may be sObject Collections or query operations (query,
 * queryAll, the next page): five, of the 25 it may carry. The whole request is one API call.
 */
export const COMPOSITE_BULK = 5

/** Subrequests one Composite request may carry in all. */
export const COMPOSITE_MAX = 25

/** One subrequest: its method, URL under `/services/data/vNN.N`, body, headers, and name for errors. */
export interface Subrequest {
  readonly method: "GET" | "POST" | "PATCH"
  readonly path: string
  readonly body?: unknown
  /** Request headers of the subrequest (never Accept, Authorization or Content-Type). */
  readonly headers?: Readonly<Record<string, string>>
  readonly what: string
}

/** Whether a subrequest counts toward the five collections and query operations of a Composite request. */
const isBulk = (sub: Subrequest): boolean => /^\/(query|queryAll|composite\/sobjects)(\/|\?|$)/.test(sub.path)

/** The answer of one subrequest. */
interface SubAnswer {
  readonly status: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

/**
 * One Composite request (`POST /composite`, allOrNone false, subrequests run in the order sent);
 * the answers in subrequest order. Subrequests are independent: none refers to another, so a
 * failing one fails alone and the caller decides what its failure means.
 */
const composite = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  subrequests: ReadonlyArray<Subrequest>
): Effect.Effect<Array<SubAnswer>, AdapterError.AdapterError> => {
  const what = `composite (${subrequests.map((s) => s.what).join("; ")})`
  const base = `/services/data/v${client.config.apiVersion}`
  return Effect.flatMap(
    client.call(operation, what, (conn) =>
      conn.requestPost<unknown>("/composite", {
        allOrNone: false,
        // In the order sent: collation could run an update before the create it must follow.
        collateSubrequests: false,
        compositeRequest: subrequests.map((s, k) => ({
          method: s.method,
          url: `${base}${s.path}`,
          referenceId: `r${k}`,
          ...(s.body === undefined ? {} : { body: s.body }),
          ...(s.headers === undefined ? {} : { httpHeaders: s.headers })
        }))
      })
    ),
    (u) =>
      Effect.flatMap(decoded(client, operation, what, CompositeResults, u), (answer) => {
        const byRef = new Map(answer.compositeResponse.map((r) => [r.referenceId, r]))
        const out: Array<SubAnswer> = []
        for (let k = 0; k < subrequests.length; k++) {
          const r = byRef.get(`r${k}`)
          if (r === undefined)
            return Effect.fail(
              AdapterError.unknown(client.name, `${what} returned no answer for subrequest ${k + 1}`, {
                operation
              })
            )
          out.push({ status: r.httpStatusCode, body: r.body, headers: r.httpHeaders })
        }
        return Effect.succeed(out)
      })
  )
}

/** The error of a subrequest that failed as a whole, or nothing when it succeeded. */
const failureOf = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  sub: Subrequest,
  answer: SubAnswer
): AdapterError.AdapterError | undefined => {
  if (answer.status < 400) return undefined
  const retryAfter = Object.entries(answer.headers).find(([h]) => h.toLowerCase() === "retry-after")?.[1]
  return Errors.fromSubrequest(client.name, operation, sub.what, answer.status, answer.body, retryAfter)
}

/** A query for `readMany`; `what` names it in errors (never the SOQL: it holds values). */
export interface Read {
  readonly what: string
  readonly soql: string
}

/** The subrequest of the first page of a query (`queryAll`: records in the recycle bin too). */
export const querySub = (what: string, soql: string, options: QueryOptions = {}): Subrequest => ({
  method: "GET",
  path: `/${options.all === true ? "queryAll" : "query"}?q=${encodeURIComponent(soql)}`,
  ...(options.batchSize === undefined
    ? {}
    : { headers: { "Sforce-Query-Options": `batchSize=${options.batchSize}` } }),
  what
})

/** The subrequest of the page after one (its `nextRecordsUrl`, i.e. queryMore). */
export const nextSub = (what: string, nextRecordsUrl: string): Subrequest => ({
  method: "GET",
  // Locators never hold a slash; keep only the last segment, as jsforce does.
  path: `/query/${nextRecordsUrl.split("/").at(-1) ?? ""}`,
  what
})

/** `2026-01-01T10:00:00+00:00`, the form jsforce sends getDeleted bounds in. */
const replicationDate = (d: Date): string => `${d.toISOString().slice(0, 19)}+00:00`

/** The subrequest of getDeleted: records of `type` deleted in [start, end) that Salesforce still reports. */
export const deletedSub = (type: string, start: Date, end: Date): Subrequest => ({
  method: "GET",
  path: `/sobjects/${type}/deleted?start=${encodeURIComponent(replicationDate(start))}&end=${encodeURIComponent(
    replicationDate(end)
  )}`,
  what: `getDeleted ${type}`
})

/** A query page from a subrequest's answer. */
export const pageOf = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  what: string,
  body: unknown
): Effect.Effect<QueryPage, AdapterError.AdapterError> => decoded(client, operation, what, QueryPage, body)

/** A getDeleted answer from a subrequest's answer. */
export const deletedOf = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  what: string,
  body: unknown
): Effect.Effect<DeletedPage, AdapterError.AdapterError> =>
  decoded(client, operation, what, DeletedPage, body)

/**
 * One read of `drain`: a subrequest, and what its answer leads to. `onAnswer` gets the answer's body,
 * or the error the subrequest maps to when it failed as a whole (as a request of its own would
 * have), and returns the reads that follow from it (the next page, a narrower retry), or fails
 * the drain.
 */
export interface Step {
  readonly sub: Subrequest
  readonly onAnswer: (
    answer: Either.Either<unknown, AdapterError.AdapterError>
  ) => Effect.Effect<ReadonlyArray<Step>, AdapterError.AdapterError>
}

/** Options of `drain`. */
export interface DrainOptions {
  /** Composite requests in flight at once (default 1: one after another). */
  readonly concurrency?: number
}

/**
 * Runs independent reads through as few Composite requests as the limits allow: each request
 * takes the waiting reads in order while they fit (five collections or query operations, 25
 * subrequests in all; reads of other resources, such as getDeleted, fill the rest), and the reads
 * that follow from its answers wait at the end of the line. Up to `concurrency` requests go at
 * once; answers are handled in the order the reads were sent.
 */
export const drain = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  steps: ReadonlyArray<Step>,
  options: DrainOptions = {}
): Effect.Effect<void, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const parallel = Math.max(1, Math.floor(options.concurrency ?? 1))
    let waiting: Array<Step> = [...steps]
    while (waiting.length > 0) {
      const wave: Array<Array<Step>> = []
      while (waiting.length > 0 && wave.length < parallel) {
        const round: Array<Step> = []
        const rest: Array<Step> = []
        let bulk = 0
        for (const step of waiting) {
          const counts = isBulk(step.sub) ? 1 : 0
          if (round.length < COMPOSITE_MAX && bulk + counts <= COMPOSITE_BULK) {
            round.push(step)
            bulk += counts
          } else rest.push(step)
        }
        wave.push(round)
        waiting = rest
      }
      const answers = yield* Effect.forEach(
        wave,
        (round) =>
          composite(
            client,
            operation,
            round.map((s) => s.sub)
          ),
        { concurrency: parallel }
      )
      for (let r = 0; r < wave.length; r++)
        for (let k = 0; k < wave[r]!.length; k++) {
          const step = wave[r]![k]!
          const answer = answers[r]![k]!
          const failure = failureOf(client, operation, step.sub, answer)
          waiting.push(
            ...(yield* step.onAnswer(
              failure === undefined ? Either.right(answer.body) : Either.left(failure)
            ))
          )
        }
    }
  })

/**
 * Every row of each query, in order, read through Composite requests of at most five query
 * operations each; further pages (`nextRecordsUrl`) go into the next Composite request. A query
 * that fails fails the call, as a request of its own would. Queries here carry their IN lists in
 * the request body, so they may be as long as SOQL allows (see `Soql.IN_COMPOSITE`).
 */
export const readMany = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  reads: ReadonlyArray<Read>,
  options: DrainOptions = {}
): Effect.Effect<Array<Array<Row>>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const out: Array<Array<Row>> = reads.map(() => [])
    const step = (index: number, sub: Subrequest): Step => ({
      sub,
      onAnswer: (answer) =>
        Either.match(answer, {
          onLeft: Effect.fail,
          onRight: (body) =>
            Effect.map(pageOf(client, operation, sub.what, body), (page) => {
              out[index]!.push(...page.records)
              return !page.done && page.nextRecordsUrl !== undefined
                ? [step(index, nextSub(sub.what, page.nextRecordsUrl))]
                : []
            })
        })
    })
    yield* drain(
      client,
      operation,
      reads.map((r, index) => step(index, querySub(r.what, r.soql))),
      options
    )
    return out
  })

/** What `write` sends: records to create and records to update. */
export interface Writes {
  readonly create?: ReadonlyArray<NewRecord>
  readonly update?: ReadonlyArray<RecordUpdate>
}

/** The outcomes of `write`, one per record, in the order given. */
export interface Written {
  readonly created: Array<Outcome>
  readonly updated: Array<Outcome>
}

/** One collection subrequest of `write`: the records it carries and where their outcomes go. */
interface Collection {
  readonly sub: Subrequest
  readonly slice: ReadonlyArray<number>
  readonly labelOf: (index: number) => string
  readonly out: Array<Outcome>
}

/**
 * Creates and updates records through sObject Collections (allOrNone false, at most `batchSize`
 * records each, records of one type together) carried five at a time by Composite requests: up
 * to 1,000 records per API call instead of 200. Creates are sent before updates (in an earlier
 * request, or earlier in the same one). A record that fails fails alone (its outcome says why); a
 * collection that fails as a whole fails the call, as a request of its own would.
 */
export const write = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  writes: Writes
): Effect.Effect<Written, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const creates = writes.create ?? []
    const updates = writes.update ?? []
    const created: Array<Outcome> = new Array(creates.length)
    const updated: Array<Outcome> = new Array(updates.length)
    const collections: Array<Collection> = []
    for (const slice of chunks(
      grouped(creates).map((g) => g.index),
      client.config.batchSize
    ))
      collections.push({
        sub: {
          method: "POST",
          path: "/composite/sobjects",
          what: `create ${describe(slice.map((i) => creates[i]!.type))}`,
          body: {
            allOrNone: false,
            records: slice.map((i) => ({ attributes: { type: creates[i]!.type }, ...creates[i]!.fields }))
          }
        },
        slice,
        labelOf: (i) => `create ${creates[i]!.type}`,
        out: created
      })
    for (const slice of chunks(
      grouped(updates).map((g) => g.index),
      client.config.batchSize
    ))
      collections.push({
        sub: {
          method: "PATCH",
          path: "/composite/sobjects",
          what: `update ${describe(slice.map((i) => updates[i]!.type))}`,
          body: {
            allOrNone: false,
            records: slice.map((i) => ({
              attributes: { type: updates[i]!.type },
              id: updates[i]!.id,
              ...updates[i]!.fields
            }))
          }
        },
        slice,
        labelOf: (i) => `update ${updates[i]!.type}`,
        out: updated
      })
    for (const round of chunks(collections, COMPOSITE_BULK)) {
      const answers = yield* composite(
        client,
        operation,
        round.map((c) => c.sub)
      )
      for (let k = 0; k < round.length; k++) {
        const c = round[k]!
        const answer = answers[k]!
        const failure = failureOf(client, operation, c.sub, answer)
        if (failure !== undefined) return yield* Effect.fail(failure)
        yield* outcomesOf(client, operation, c.sub.what, answer.body, c.slice, c.labelOf, c.out)
      }
    }
    return { created, updated }
  })

/** `Contact ×3, Individual ×1`: what a collection request carries, for error details. */
const describe = (types: ReadonlyArray<string>): string => {
  const counts = new Map<string, number>()
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1)
  return [...counts].map(([t, n]) => `${t} x${n}`).join(", ")
}
