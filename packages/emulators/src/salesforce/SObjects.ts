/**
 * `/sobjects` resources: describe, single-record create / read / update / delete, the same by
 * external id (PATCH is upsert: 201 + `created: true` when it creates, 200 + `created: false`
 * when it updates, 300 with the record URLs when the external id matches several records;
 * `?updateOnly=true` answers 404 instead of creating), and getUpdated / getDeleted.
 */
import * as Describe from "./Describe.js"
import * as Dml from "./Dml.js"
import { apiError, methodNotAllowed, notFound } from "./Errors.js"
import { isId, keyPrefix, to18 } from "./Ids.js"
import * as Replication from "./Replication.js"
import type { FieldDef, ObjectDef } from "./Schema.js"
import { dmlContext, type RestContext, type RestRequest, type RestResponse } from "./Rest.js"
import { recordJson, recordUrl } from "./Wire.js"

const ok = (body: unknown, status = 200): RestResponse => ({ status, body })
const noContent: RestResponse = { status: 204 }

const noExternalIdField = (name: string) =>
  apiError(404, "NOT_FOUND", `Provided external ID field does not exist or is not accessible: ${name}`)

/** Parses `?fields=A,B` against the object; all fields when absent. */
export const fieldList = (
  o: ObjectDef,
  raw: string | null | ReadonlyArray<string>
): ReadonlyArray<FieldDef> => {
  if (raw === null) return o.fields
  const names = typeof raw === "string" ? raw.split(",") : raw
  return names
    .map((n) => n.trim())
    .filter((n) => n !== "")
    .map((n) => {
      const f = o.field(n)
      if (f === undefined) {
        throw apiError(
          400,
          "INVALID_FIELD",
          `No such column '${n}' on entity '${o.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
          [n]
        )
      }
      return f
    })
}

const byId = (ctx: RestContext, req: RestRequest, o: ObjectDef, raw: string): RestResponse => {
  if (!isId(raw)) throw noExternalIdField(raw)
  const id = to18(raw) ?? raw
  if (keyPrefix(id) !== o.keyPrefix) throw notFound()
  const dml = dmlContext(ctx)
  switch (req.method) {
    case "GET": {
      const r = ctx.org.store.get(o.name, id)
      if (r === undefined || r.deletedAt !== undefined) throw notFound()
      return ok(recordJson(o, r, ctx.version, fieldList(o, req.query.get("fields"))))
    }
    case "PATCH":
      Dml.orThrow(Dml.update(dml, o, id, Dml.decodeInput(o, req.body ?? {})))
      return noContent
    case "DELETE":
      Dml.orThrow(Dml.remove(dml, o, id))
      return noContent
    default:
      throw methodNotAllowed(req.method, ["GET", "PATCH", "DELETE", "HEAD"])
  }
}

const byExternalId = (
  ctx: RestContext,
  req: RestRequest,
  o: ObjectDef,
  fieldName: string,
  value: string
): RestResponse => {
  const key = o.field(fieldName)
  if (key === undefined || !Dml.isUpsertKey(key)) throw noExternalIdField(fieldName)
  const dml = dmlContext(ctx)
  const urls = (ids: ReadonlyArray<string>) => ids.map((id) => recordUrl(ctx.version, o.name, id))
  switch (req.method) {
    case "GET":
    case "DELETE": {
      const matches = Dml.matchExternalId(dml, o, key, value)
      const [only] = matches
      if (only === undefined) throw notFound()
      if (matches.length > 1) return { status: 300, body: urls(matches.map((r) => r.id)) }
      if (req.method === "GET")
        return ok(recordJson(o, only, ctx.version, fieldList(o, req.query.get("fields"))))
      Dml.orThrow(Dml.remove(dml, o, only.id))
      return noContent
    }
    case "PATCH":
    case "POST": {
      const input = Dml.decodeInput(o, req.body ?? {})
      const given = [...input].find(([f]) => f === key)
      if (given !== undefined && String(given[1]).toLowerCase() !== value.toLowerCase()) {
        throw apiError(
          400,
          "INVALID_FIELD",
          `The value of ${key.name} in the body does not match the URL: ${String(given[1])}`,
          [key.name]
        )
      }
      // updateOnly=true turns the upsert into an update that never creates.
      if (req.query.get("updateOnly") === "true" && Dml.matchExternalId(dml, o, key, value).length === 0) {
        throw notFound()
      }
      const outcome = Dml.upsert(dml, o, key, value, input)
      if (!outcome.ok && outcome.matches !== undefined) return { status: 300, body: urls(outcome.matches) }
      const { id, created } = Dml.orThrow(outcome)
      // Newer API versions answer 200 with a body for an update; jsforce needs the id from it.
      return ok({ id, success: true, errors: [], created }, created ? 201 : 200)
    }
    default:
      throw methodNotAllowed(req.method, ["GET", "PATCH", "DELETE", "HEAD"])
  }
}

/** Handles `/sobjects[/...]`; `segments` are the path segments after `sobjects`. */
export const handle = (ctx: RestContext, req: RestRequest, segments: ReadonlyArray<string>): RestResponse => {
  const [typeName, second, third, ...extra] = segments
  if (typeName === undefined) {
    if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"])
    return ok(Describe.global(ctx.org.schema, ctx.version))
  }
  const o = ctx.org.schema.object(typeName, ctx.versionNumber)
  if (o === undefined || extra.length > 0) throw notFound()
  if (second === undefined) {
    if (req.method === "GET") return ok(Describe.basic(o, ctx.version))
    if (req.method !== "POST") throw methodNotAllowed(req.method, ["GET", "POST", "HEAD"])
    const { id } = Dml.orThrow(Dml.create(dmlContext(ctx), o, Dml.decodeInput(o, req.body ?? {})))
    return ok({ id, success: true, errors: [] }, 201)
  }
  if (third === undefined && (second === "describe" || second === "updated" || second === "deleted")) {
    if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"])
    if (second === "describe") return ok(Describe.describe(o, ctx.version))
    return ok(
      second === "updated" ? Replication.updated(ctx, o, req.query) : Replication.deleted(ctx, o, req.query)
    )
  }
  if (third === undefined) return byId(ctx, req, o, second)
  return byExternalId(ctx, req, o, second, third)
}
