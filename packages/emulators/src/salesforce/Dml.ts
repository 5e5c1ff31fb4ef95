/**
 * Record writes with Salesforce's validation: create, update, upsert by external id, delete.
 *
 * Two kinds of failure, as in the real API. A body that cannot be deserialized (unknown field,
 * wrong JSON type) fails the whole request: `decodeInput` throws an ApiError. A record that
 * deserializes but breaks a rule (required field, read-only field, restricted picklist, bad
 * email, bad reference, duplicate unique value) fails on its own: the write functions return an
 * Outcome, which sObject Collections report per record and single-record calls turn into the
 * response. Every write of one call uses the same timestamp, truncated to the second.
 */
import { ApiError, apiError, type SfError } from "./Errors.js"
import { keyPrefix, to18 } from "./Ids.js"
import type { Org } from "./Org.js"
import {
  type FieldDef,
  isTextual,
  type ObjectDef,
  picklistAllows,
  userKeyPrefix,
  type Value
} from "./Schema.js"
import type { Journal, StoredRecord } from "./Store.js"
import { DecodeError, decode, valuesJson } from "./Wire.js"

/** Who writes, when, under which API version, in which transaction. */
export interface DmlContext {
  readonly org: Org
  readonly userId: string
  readonly version: number
  /** Epoch ms of the call, truncated to the second. */
  readonly now: number
  readonly journal: Journal
}

/** The result of one record write. */
export type Outcome =
  | { readonly ok: true; readonly id: string; readonly created: boolean }
  | {
      readonly ok: false
      readonly id?: string
      /** HTTP status a single-record call answers with. */
      readonly status: number
      readonly errors: ReadonlyArray<SfError>
      /** Ids matched by an ambiguous external id (single upsert answers 300 with their URLs). */
      readonly matches?: ReadonlyArray<string>
    }

/** Decoded fields of one record from a request body. */
export type Input = ReadonlyMap<FieldDef, Value>

const fail = (status: number, error: SfError, id?: string): Outcome =>
  id === undefined ? { ok: false, status, errors: [error] } : { ok: false, id, status, errors: [error] }

/**
 * Decodes a JSON object into fields of the object. Keys listed in `skip` (compared
 * case-insensitively) are ignored, e.g. `attributes`. Throws ApiError for a body that is not an
 * object (JSON_PARSER_ERROR), an unknown field (INVALID_FIELD) or a value of the wrong JSON type.
 */
export const decodeInput = (
  o: ObjectDef,
  body: unknown,
  skip: ReadonlyArray<string> = ["attributes"]
): Input => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw apiError(
      400,
      "JSON_PARSER_ERROR",
      `Cannot deserialize instance of ${o.name} from a non-object value`
    )
  }
  const skipped = new Set(skip.map((s) => s.toLowerCase()))
  const out = new Map<FieldDef, Value>()
  for (const [key, raw] of Object.entries(body)) {
    if (skipped.has(key.toLowerCase())) continue
    const f = o.field(key)
    if (f === undefined) {
      throw apiError(400, "INVALID_FIELD", `No such column '${key}' on sobject of type ${o.name}`, [key])
    }
    try {
      out.set(f, decode(f, raw))
    } catch (e) {
      if (e instanceof DecodeError) throw apiError(400, "JSON_PARSER_ERROR", e.message)
      throw e
    }
  }
  return out
}

const emailPattern = /^[^\s@"(),:;<>[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$/

/** Checks one value against the field's content rules; returns the value to store or an error. */
const checkValue = (
  ctx: DmlContext,
  f: FieldDef,
  v: Value
): { readonly value: Value } | { readonly error: SfError } => {
  if (v === null) return { value: v }
  if (isTextual(f) || f.type === "reference") {
    const s = String(v)
    if (f.length > 0 && s.length > f.length) {
      return {
        error: {
          errorCode: "STRING_TOO_LONG",
          message: `${f.label}: data value too large: ${s.length > 80 ? `${s.slice(0, 80)}...` : s} (max length=${f.length})`,
          fields: [f.name]
        }
      }
    }
  }
  if (f.type === "email" && !emailPattern.test(String(v))) {
    return {
      error: {
        errorCode: "INVALID_EMAIL_ADDRESS",
        message: `${f.label}: invalid email address: ${v}`,
        fields: [f.name]
      }
    }
  }
  if (f.type === "picklist" && f.restricted && !picklistAllows(f, String(v), ctx.version)) {
    return {
      error: {
        errorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        message: `${f.label}: bad value for restricted picklist field: ${v}`,
        fields: [f.name]
      }
    }
  }
  if (f.type === "reference") return checkReference(ctx, f, String(v))
  return { value: v }
}

const checkReference = (
  ctx: DmlContext,
  f: FieldDef,
  raw: string
): { readonly value: Value } | { readonly error: SfError } => {
  const id = to18(raw)
  if (id === undefined) {
    return {
      error: {
        errorCode: "MALFORMED_ID",
        message: `${f.label}: id value of incorrect type: ${raw}`,
        fields: [f.name]
      }
    }
  }
  const targets = f.referenceTo
  if (targets.includes("User")) {
    if (keyPrefix(id) === userKeyPrefix && ctx.org.users.some((u) => u.id === id)) return { value: id }
    return {
      error: { errorCode: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id", fields: [] }
    }
  }
  const target = ctx.org.schema.byPrefix(keyPrefix(id))
  if (target === undefined || !targets.includes(target.name)) {
    return {
      error: {
        errorCode: "FIELD_INTEGRITY_EXCEPTION",
        message: `${f.label}: id value of incorrect type: ${raw}`,
        fields: [f.name]
      }
    }
  }
  const record = ctx.org.store.get(target.name, id)
  if (record === undefined) {
    return {
      error: { errorCode: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id", fields: [] }
    }
  }
  if (record.deletedAt !== undefined) {
    return { error: { errorCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: [] } }
  }
  return { value: id }
}

const readOnlyError = (names: ReadonlyArray<string>): SfError => ({
  errorCode: "INVALID_FIELD_FOR_INSERT_UPDATE",
  message: `Unable to create/update fields: ${names.join(", ")}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
  fields: names
})

const requiredError = (names: ReadonlyArray<string>): SfError => ({
  errorCode: "REQUIRED_FIELD_MISSING",
  message: `Required fields are missing: [${names.join(", ")}]`,
  fields: names
})

/** Validates the given fields; returns the values to store or the first error. */
const checkAll = (
  ctx: DmlContext,
  input: Input,
  writable: (f: FieldDef) => boolean
): { readonly values: Record<string, Value> } | { readonly error: SfError } => {
  const readOnly = [...input.keys()].filter((f) => !writable(f)).map((f) => f.name)
  if (readOnly.length > 0) return { error: readOnlyError(readOnly) }
  const values: Record<string, Value> = {}
  for (const [f, v] of input) {
    const checked = checkValue(ctx, f, v)
    if ("error" in checked) return checked
    values[f.name] = checked.value
  }
  return { values }
}

const duplicateError = (ctx: DmlContext, o: ObjectDef, values: Record<string, Value>, self?: string) => {
  for (const f of o.fields) {
    if (!f.unique) continue
    const v = values[f.name]
    if (v === null || v === undefined || v === "") continue
    const other = ctx.org.store.lookup(o.name, f.name, String(v)).find((r) => r.id !== self)
    if (other !== undefined) {
      return {
        errorCode: "DUPLICATE_VALUE",
        message: `duplicate value found: ${f.name} duplicates value on record with id: ${other.id}`,
        fields: [f.name]
      } satisfies SfError
    }
  }
  return undefined
}

const withComputed = (o: ObjectDef, values: Record<string, Value>): Record<string, Value> => {
  for (const f of o.fields) if (f.computed !== undefined) values[f.name] = f.computed(values)
  return values
}

/** Creates a record. */
export const create = (ctx: DmlContext, o: ObjectDef, input: Input): Outcome => {
  if ([...input.keys()].some((f) => f.name === "Id")) {
    return fail(400, {
      errorCode: "INVALID_FIELD_FOR_INSERT_UPDATE",
      message: "cannot specify Id in an insert call",
      fields: ["Id"]
    })
  }
  const checked = checkAll(ctx, input, (f) => f.createable)
  if ("error" in checked) return fail(400, checked.error)
  const values: Record<string, Value> = {}
  for (const f of o.fields) values[f.name] = f.defaultValue ?? (f.type === "boolean" ? false : null)
  Object.assign(values, checked.values)
  const missing = o.fields
    .filter((f) => f.required && (values[f.name] === null || values[f.name] === ""))
    .map((f) => f.name)
  if (missing.length > 0) return fail(400, requiredError(missing))
  const duplicate = duplicateError(ctx, o, values)
  if (duplicate !== undefined) return fail(400, duplicate)
  const injected = ctx.org.recordFault(o.name, "create", undefined, () =>
    valuesJson(o, withComputed(o, { ...values }))
  )
  if (injected !== undefined) return fail(400, injected)
  const id = ctx.org.ids.next(o.keyPrefix)
  Object.assign(values, {
    Id: id,
    IsDeleted: false,
    OwnerId: values["OwnerId"] ?? ctx.userId,
    CreatedDate: ctx.now,
    CreatedById: ctx.userId,
    LastModifiedDate: ctx.now,
    LastModifiedById: ctx.userId,
    SystemModstamp: ctx.now
  })
  ctx.org.store.put({ type: o.name, id, values: withComputed(o, values) }, ctx.journal)
  return { ok: true, id, created: true }
}

/** Finds a live record of the object by an id given in a request; an Outcome error otherwise. */
export const target = (ctx: DmlContext, o: ObjectDef, rawId: string): StoredRecord | Outcome => {
  const id = to18(rawId)
  if (id === undefined || keyPrefix(id) !== o.keyPrefix) {
    return fail(400, {
      errorCode: "MALFORMED_ID",
      message: `${o.label} ID: id value of incorrect type: ${rawId}`,
      fields: ["Id"]
    })
  }
  const r = ctx.org.store.get(o.name, id)
  if (r === undefined)
    return fail(404, { errorCode: "NOT_FOUND", message: "The requested resource does not exist" }, id)
  if (r.deletedAt !== undefined)
    return fail(404, { errorCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: [] }, id)
  return r
}

const isRecord = (x: StoredRecord | Outcome): x is StoredRecord => "values" in x

/** Updates a record given by id; unchanged values still bump SystemModstamp, as a save does. */
export const update = (ctx: DmlContext, o: ObjectDef, rawId: string, input: Input): Outcome => {
  const found = target(ctx, o, rawId)
  if (!isRecord(found)) return found
  const fields = new Map(input)
  for (const f of fields.keys()) {
    // An Id in the body that names the record itself is harmless; another id is an error.
    if (f.name === "Id") {
      if (to18(String(fields.get(f))) === found.id) fields.delete(f)
    }
  }
  const checked = checkAll(ctx, fields, (f) => f.updateable)
  if ("error" in checked) return fail(400, checked.error, found.id)
  const values = { ...found.values, ...checked.values }
  const missing = o.fields
    .filter((f) => !f.nillable && f.updateable && f.type !== "boolean" && fields.has(f))
    .filter((f) => values[f.name] === null || values[f.name] === "")
    .map((f) => f.name)
  if (missing.length > 0) return fail(400, requiredError(missing), found.id)
  const duplicate = duplicateError(ctx, o, values, found.id)
  if (duplicate !== undefined) return fail(400, duplicate, found.id)
  const injected = ctx.org.recordFault(o.name, "update", found.id, () =>
    valuesJson(o, withComputed(o, { ...values }))
  )
  if (injected !== undefined) return fail(400, injected, found.id)
  Object.assign(values, { LastModifiedDate: ctx.now, LastModifiedById: ctx.userId, SystemModstamp: ctx.now })
  ctx.org.store.put({ type: o.name, id: found.id, values: withComputed(o, values) }, ctx.journal)
  return { ok: true, id: found.id, created: false }
}

/** Whether the field can key an upsert: an external id field, or Id. */
export const isUpsertKey = (f: FieldDef): boolean => f.externalId || f.name === "Id"

/** Records matching an external id value (or an Id) among live records. */
export const matchExternalId = (ctx: DmlContext, o: ObjectDef, key: FieldDef, value: string) => {
  if (key.name === "Id") {
    const id = to18(value)
    const r = id === undefined ? undefined : ctx.org.store.get(o.name, id)
    return r === undefined || r.deletedAt !== undefined ? [] : [r]
  }
  return ctx.org.store.lookup(o.name, key.name, value)
}

/**
 * Upserts by external id: creates when nothing matches, updates one match, fails on several
 * (status 300 with the matches, DUPLICATE_EXTERNAL_ID per record in collections).
 */
export const upsert = (
  ctx: DmlContext,
  o: ObjectDef,
  key: FieldDef,
  value: string,
  input: Input
): Outcome => {
  const matches = matchExternalId(ctx, o, key, value)
  const fields = new Map([...input].filter(([f]) => f !== key))
  if (matches.length > 1) {
    const ids = matches.map((r) => r.id)
    return {
      ok: false,
      status: 300,
      errors: [
        {
          errorCode: "DUPLICATE_EXTERNAL_ID",
          message: `${key.name}: more than one record found for external id field: [${ids.join(", ")}]`,
          fields: [key.name]
        }
      ],
      matches: ids
    }
  }
  const match = matches[0]
  if (match !== undefined) return update(ctx, o, match.id, fields)
  if (key.name === "Id")
    return fail(404, { errorCode: "NOT_FOUND", message: "The requested resource does not exist" })
  fields.set(key, value)
  return create(ctx, o, fields)
}

/** Deletes a record into the recycle bin. */
export const remove = (ctx: DmlContext, o: ObjectDef, rawId: string): Outcome => {
  const found = target(ctx, o, rawId)
  if (!isRecord(found)) return found
  const injected = ctx.org.recordFault(o.name, "delete", found.id, () => valuesJson(o, found.values))
  if (injected !== undefined) return fail(400, injected, found.id)
  const values = {
    ...found.values,
    IsDeleted: true,
    LastModifiedDate: ctx.now,
    LastModifiedById: ctx.userId,
    SystemModstamp: ctx.now
  }
  ctx.org.store.put({ type: o.name, id: found.id, values, deletedAt: ctx.now }, ctx.journal)
  return { ok: true, id: found.id, created: false }
}

/** Throws the Outcome's errors as a request failure (for single-record calls). */
export const orThrow = (outcome: Outcome): { readonly id: string; readonly created: boolean } => {
  if (outcome.ok) return outcome
  throw new ApiError(outcome.status, outcome.errors)
}
