/**
 * sObject Collections (`/composite/sobjects`): create (POST), update (PATCH), delete
 * (DELETE ?ids=), retrieve (GET or POST `/composite/sobjects/{T}`) and upsert
 * (PATCH `/composite/sobjects/{T}/{ExtIdField}`, API 46.0+). At most 200 records per call
 * (400 EXCEEDED_ID_LIMIT otherwise). A well-formed request answers 200 with one result per
 * record, in input order, even when records fail. With `allOrNone` any failure rolls everything
 * back: failing records keep their error, the others report ALL_OR_NONE_OPERATION_ROLLED_BACK.
 * A record that does not deserialize (unknown type or field, wrong JSON type) fails the whole
 * request with 400.
 */
import * as Dml from "./Dml.js"
import { apiError, collectionError, methodNotAllowed, notFound, type SfError } from "./Errors.js"
import { keyPrefix, to18 } from "./Ids.js"
import type { ObjectDef } from "./Schema.js"
import { Journal } from "./Store.js"
import { dmlContext, type RestContext, type RestRequest, type RestResponse } from "./Rest.js"
import { fieldList } from "./SObjects.js"
import { recordJson } from "./Wire.js"

const maxRecords = 200
const maxRetrieveIds = 2000

const tooMany = () =>
  apiError(
    400,
    "EXCEEDED_ID_LIMIT",
    "record limit reached. cannot submit more than 200 records into this call"
  )

const rolledBack: SfError = {
  errorCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
  message: "Record rolled back because not all records were valid and the request was using AllOrNone header",
  fields: []
}

interface Batch {
  readonly allOrNone: boolean
  readonly records: ReadonlyArray<Record<string, unknown>>
}

const readBatch = (body: unknown): Batch => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw apiError(400, "JSON_PARSER_ERROR", "The request body must be an object with a records array")
  }
  const { allOrNone, records } = body as { allOrNone?: unknown; records?: unknown }
  if (!Array.isArray(records))
    throw apiError(400, "JSON_PARSER_ERROR", "records: a JSON array of records is required")
  if (records.length > maxRecords) throw tooMany()
  if (allOrNone !== undefined && typeof allOrNone !== "boolean") {
    throw apiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
  }
  for (const r of records) {
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw apiError(400, "JSON_PARSER_ERROR", "each element of records must be a JSON object")
    }
  }
  return { allOrNone: allOrNone === true, records: records as ReadonlyArray<Record<string, unknown>> }
}

const typeOf = (ctx: RestContext, record: Record<string, unknown>, fallback?: ObjectDef): ObjectDef => {
  const attrs = record["attributes"]
  const name =
    typeof attrs === "object" && attrs !== null && typeof (attrs as { type?: unknown }).type === "string"
      ? (attrs as { type: string }).type
      : undefined
  if (name === undefined) {
    if (fallback !== undefined) return fallback
    throw apiError(400, "JSON_PARSER_ERROR", "each record must carry attributes.type")
  }
  const o = ctx.org.schema.object(name, ctx.versionNumber)
  if (o === undefined) {
    throw apiError(
      400,
      "INVALID_TYPE",
      `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`
    )
  }
  return o
}

const invalidReference: SfError = {
  errorCode: "INVALID_CROSS_REFERENCE_KEY",
  message: "invalid cross reference id",
  fields: []
}

type Step = (dml: Dml.DmlContext) => Dml.Outcome

/** Runs the record steps in one transaction and renders the per-record results. */
const runAll = (
  ctx: RestContext,
  steps: ReadonlyArray<Step>,
  allOrNone: boolean,
  upsert: boolean
): RestResponse => {
  const tx = new Journal()
  const dml = dmlContext(ctx, tx)
  const outcomes = steps.map((step) => step(dml))
  const failed = outcomes.some((o) => !o.ok)
  if (allOrNone && failed) tx.rollback()
  else ctx.journal.absorb(tx)
  const body = outcomes.map((o) => {
    if (o.ok) {
      if (allOrNone && failed) return { success: false, errors: [collectionError(rolledBack)] }
      return upsert
        ? { id: o.id, success: true, errors: [], created: o.created }
        : { id: o.id, success: true, errors: [] }
    }
    // Inside a collection an id that names no record is a bad cross reference, not a missing resource.
    const errors = o.errors.map((e) => collectionError(e.errorCode === "NOT_FOUND" ? invalidReference : e))
    return o.id === undefined ? { success: false, errors } : { id: o.id, success: false, errors }
  })
  return { status: 200, body }
}

const failure = (error: SfError, id?: string): Dml.Outcome =>
  id === undefined
    ? { ok: false, status: 400, errors: [error] }
    : { ok: false, id, status: 400, errors: [error] }

const create = (ctx: RestContext, body: unknown): RestResponse => {
  const batch = readBatch(body)
  const steps = batch.records.map((r): Step => {
    const o = typeOf(ctx, r)
    const input = Dml.decodeInput(o, r)
    return (dml) => Dml.create(dml, o, input)
  })
  return runAll(ctx, steps, batch.allOrNone, false)
}

const update = (ctx: RestContext, body: unknown): RestResponse => {
  const batch = readBatch(body)
  const steps = batch.records.map((r): Step => {
    const o = typeOf(ctx, r)
    const input = new Map(Dml.decodeInput(o, r))
    const idField = o.field("Id")
    const id = idField === undefined ? undefined : input.get(idField)
    if (idField !== undefined) input.delete(idField)
    if (typeof id !== "string") {
      return () =>
        failure({ errorCode: "MISSING_ARGUMENT", message: "Id not specified in an update call", fields: [] })
    }
    return (dml) => Dml.update(dml, o, id, input)
  })
  return runAll(ctx, steps, batch.allOrNone, false)
}

const upsert = (ctx: RestContext, body: unknown, o: ObjectDef, keyName: string): RestResponse => {
  const key = o.field(keyName)
  if (key === undefined || !Dml.isUpsertKey(key)) {
    throw apiError(
      404,
      "NOT_FOUND",
      `Provided external ID field does not exist or is not accessible: ${keyName}`
    )
  }
  const batch = readBatch(body)
  const decoded = batch.records.map((r) => {
    const input = new Map(Dml.decodeInput(typeOf(ctx, r, o), r))
    const value = input.get(key)
    input.delete(key)
    return { input, value: value === null || value === undefined ? undefined : String(value) }
  })
  const counts = new Map<string, number>()
  for (const { value } of decoded) {
    if (value !== undefined) counts.set(value.toLowerCase(), (counts.get(value.toLowerCase()) ?? 0) + 1)
  }
  const steps = decoded.map(({ input, value }): Step => {
    if (value === undefined) {
      return () =>
        failure({ errorCode: "MISSING_ARGUMENT", message: `${key.name} not specified`, fields: [key.name] })
    }
    if ((counts.get(value.toLowerCase()) ?? 0) > 1) {
      return () =>
        failure({
          errorCode: "DUPLICATE_EXTERNAL_ID",
          message: `Duplicate external id specified: ${value}`,
          fields: [key.name]
        })
    }
    return (dml) => Dml.upsert(dml, o, key, value, input)
  })
  return runAll(ctx, steps, batch.allOrNone, true)
}

const destroy = (ctx: RestContext, query: URLSearchParams): RestResponse => {
  const raw = query.get("ids")
  if (raw === null || raw.trim() === "") throw apiError(400, "MISSING_ARGUMENT", "ids parameter is required")
  const ids = raw.split(",").map((s) => s.trim())
  if (ids.length > maxRecords) throw tooMany()
  const steps = ids.map((given): Step => {
    const id = to18(given)
    const o = id === undefined ? undefined : ctx.org.schema.byPrefix(keyPrefix(id))
    if (id === undefined)
      return () => failure({ errorCode: "MALFORMED_ID", message: `malformed id ${given}`, fields: [] })
    if (o === undefined || o.minVersion > ctx.versionNumber) {
      return () => failure(invalidReference, id)
    }
    return (dml) => Dml.remove(dml, o, id)
  })
  return runAll(ctx, steps, query.get("allOrNone") === "true", false)
}

const retrieve = (
  ctx: RestContext,
  o: ObjectDef,
  ids: ReadonlyArray<string>,
  fields: ReadonlyArray<string>
): RestResponse => {
  if (ids.length > maxRetrieveIds) {
    throw apiError(
      400,
      "EXCEEDED_ID_LIMIT",
      "record limit reached. cannot submit more than 2000 records into this call"
    )
  }
  const selected = fieldList(o, fields)
  if (selected.length === 0) throw apiError(400, "MISSING_ARGUMENT", "fields parameter is required")
  const body = ids.map((given) => {
    const id = to18(given)
    const r = id === undefined ? undefined : ctx.org.store.get(o.name, id)
    return r === undefined || r.deletedAt !== undefined ? null : recordJson(o, r, ctx.version, selected)
  })
  return { status: 200, body }
}

const stringList = (v: unknown): ReadonlyArray<string> =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []

/** Handles `/composite/sobjects[/...]`; `segments` are the path segments after `sobjects`. */
export const handle = (ctx: RestContext, req: RestRequest, segments: ReadonlyArray<string>): RestResponse => {
  if (ctx.versionNumber < 42) throw notFound()
  const [typeName, keyName, ...extra] = segments
  if (typeName === undefined) {
    switch (req.method) {
      case "POST":
        return create(ctx, req.body)
      case "PATCH":
        return update(ctx, req.body)
      case "DELETE":
        return destroy(ctx, req.query)
      default:
        throw methodNotAllowed(req.method, ["POST", "PATCH", "DELETE"])
    }
  }
  const o = ctx.org.schema.object(typeName, ctx.versionNumber)
  if (o === undefined || extra.length > 0) throw notFound()
  if (keyName === undefined) {
    if (req.method === "GET") {
      return retrieve(
        ctx,
        o,
        (req.query.get("ids") ?? "").split(",").filter((s) => s !== ""),
        (req.query.get("fields") ?? "").split(",")
      )
    }
    if (req.method === "POST") {
      const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as {
        ids?: unknown
        fields?: unknown
      }
      return retrieve(ctx, o, stringList(body.ids), stringList(body.fields))
    }
    throw methodNotAllowed(req.method, ["GET", "POST"])
  }
  if (ctx.versionNumber < 46) throw notFound()
  if (req.method !== "PATCH") throw methodNotAllowed(req.method, ["PATCH"])
  return upsert(ctx, req.body, o, keyName)
}
