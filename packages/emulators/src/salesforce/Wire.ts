/**
 * Field values between JSON and the store: dateTimes travel as `2026-01-01T10:00:00.000+0000`
 * and are stored as epoch milliseconds (to the second), dates as `YYYY-MM-DD`, ids are stored in
 * their 18-character form. Also builds the JSON of a record (`attributes` first).
 */
import { formatDatetime, parseDate, parseDatetime, truncateToSecond } from "./Dates.js"
import { to18 } from "./Ids.js"
import type { FieldDef, ObjectDef, Value } from "./Schema.js"
import type { StoredRecord } from "./Store.js"

/** A JSON value that cannot become the field's type (Salesforce answers JSON_PARSER_ERROR). */
export class DecodeError extends Error {}

const typeName: Record<FieldDef["type"], string> = {
  id: "id",
  string: "String",
  textarea: "String",
  email: "String",
  phone: "String",
  url: "String",
  picklist: "String",
  boolean: "boolean",
  date: "date",
  datetime: "datetime",
  int: "int",
  double: "double",
  currency: "double",
  reference: "id"
}

const cannot = (f: FieldDef, raw: unknown): DecodeError => {
  const token =
    typeof raw === "string"
      ? "VALUE_STRING"
      : typeof raw === "number"
        ? "VALUE_NUMBER"
        : typeof raw === "boolean"
          ? `VALUE_${String(raw).toUpperCase()}`
          : Array.isArray(raw)
            ? "START_ARRAY"
            : "START_OBJECT"
  const shown = typeof raw === "object" ? "" : ` value ${String(raw)}`
  return new DecodeError(
    `Cannot deserialize instance of ${typeName[f.type]} from ${token}${shown} or request may be missing a required field`
  )
}

/**
 * Converts a JSON value into the stored form of the field. Throws DecodeError when the JSON type
 * cannot become the field type; content checks (length, picklist, id shape) are the DML's.
 */
export const decode = (f: FieldDef, raw: unknown): Value => {
  if (raw === null) return f.type === "boolean" ? false : null
  switch (f.type) {
    case "boolean":
      if (typeof raw === "boolean") return raw
      if (typeof raw === "string" && /^(true|false)$/i.test(raw)) return raw.toLowerCase() === "true"
      throw cannot(f, raw)
    case "int":
    case "double":
    case "currency": {
      const n =
        typeof raw === "number"
          ? raw
          : typeof raw === "string" && raw.trim() !== ""
            ? Number(raw)
            : Number.NaN
      if (!Number.isFinite(n)) throw cannot(f, raw)
      if (f.type === "int" && !Number.isInteger(n)) throw cannot(f, raw)
      return n
    }
    case "datetime": {
      if (typeof raw !== "string") throw cannot(f, raw)
      if (raw === "") return null
      const ms = parseDatetime(raw)
      if (ms === undefined) throw cannot(f, raw)
      return truncateToSecond(ms)
    }
    case "date": {
      if (typeof raw !== "string") throw cannot(f, raw)
      if (raw === "") return null
      const d = parseDate(raw) ?? (parseDatetime(raw) === undefined ? undefined : raw.slice(0, 10))
      if (d === undefined) throw cannot(f, raw)
      return d
    }
    default:
      if (typeof raw === "string") return raw === "" ? null : raw
      if (typeof raw === "number" || typeof raw === "boolean") return String(raw)
      throw cannot(f, raw)
  }
}

/** The JSON form of a stored value. */
export const encode = (f: FieldDef, v: Value | undefined): Value => {
  if (v === undefined || v === null) return f.type === "boolean" ? false : null
  if (f.type === "datetime" && typeof v === "number") return formatDatetime(v)
  return v
}

/** The fields of a record as JSON, without `attributes` (the backdoor's and record faults' view). */
export const valuesJson = (o: ObjectDef, values: Readonly<Record<string, Value>>): Record<string, unknown> =>
  Object.fromEntries(o.fields.map((f) => [f.name, encode(f, values[f.name])]))

/** The REST path of a record (`/services/data/v60.0/sobjects/Contact/003...`). */
export const recordUrl = (version: string, type: string, id: string): string =>
  `/services/data/v${version}/sobjects/${type}/${id}`

/** `{ type, url }`, the `attributes` of every record in a response. */
export const attributes = (version: string, r: StoredRecord): Record<string, string> => ({
  type: r.type,
  url: recordUrl(version, r.type, r.id)
})

/** The JSON of a record with the given fields (all fields when none are given). */
export const recordJson = (
  o: ObjectDef,
  r: StoredRecord,
  version: string,
  fields: ReadonlyArray<FieldDef> = o.fields
): Record<string, unknown> => {
  const out: Record<string, unknown> = { attributes: attributes(version, r) }
  for (const f of fields) out[f.name] = encode(f, r.values[f.name])
  return out
}

/** The stored 18-character form of an id-typed value, or undefined when it is not an id. */
export const normalizeId = (v: Value): string | undefined => (typeof v === "string" ? to18(v) : undefined)
