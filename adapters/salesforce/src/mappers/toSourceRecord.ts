/**
 * A Contact or Lead as an identity record: the record id is the person's externalId, e-mail and
 * phones are identifiers, configured fields are attributes. A deleted record (or a converted Lead,
 * which its Contact supersedes) is a deletion that carries nothing but its id and time.
 */
import type { SourceRecord } from "@living-profile/core"
import type { AttributeFields, PersonObject } from "../SalesforceConfig.js"
import { flag, idOf, instant, type Row, text } from "./wire.js"

/** The identifiers of a Contact or Lead: `email` from Email, `phone` from Phone and MobilePhone. */
export const identifiersOf = (row: Row): Record<string, Array<string>> => {
  const out: Record<string, Array<string>> = {}
  const email = text(row, "Email")
  if (email !== undefined) out["email"] = [email]
  const phones = [text(row, "Phone"), text(row, "MobilePhone")].filter((p): p is string => p !== undefined)
  if (phones.length > 0) out["phone"] = [...new Set(phones)]
  return out
}

/** Whether a pulled person row is gone: deleted, or a Lead converted into a Contact. */
export const isGone = (object: PersonObject, row: Row): boolean =>
  flag(row, "IsDeleted") || (object === "Lead" && flag(row, "IsConverted"))

/** The identity record of a Contact or Lead row (`source` is the adapter name). */
export const toSourceRecord = (
  source: string,
  object: PersonObject,
  row: Row,
  attributes: AttributeFields
): SourceRecord.SourceRecord | undefined => {
  const id = idOf(row)
  if (id === undefined) return undefined
  const updatedAt = instant(row, "LastModifiedDate") ?? instant(row, "SystemModstamp")
  const stamp = updatedAt === undefined ? {} : { updatedAt }
  if (isGone(object, row)) return { source, id, deleted: true, ...stamp }
  const attrs: Record<string, string | number | boolean> = {}
  for (const [name, field] of Object.entries(attributes)) {
    const v = row[field]
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") attrs[name] = v
  }
  const identifiers = identifiersOf(row)
  return {
    source,
    id,
    ...stamp,
    ...(Object.keys(identifiers).length > 0 ? { identifiers } : {}),
    ...(Object.keys(attrs).length > 0 ? { attributes: attrs } : {})
  }
}

/** A deletion reported by getDeleted, as an identity record. */
export const deletedRecord = (
  source: string,
  id: string,
  deletedAt: string | undefined
): SourceRecord.SourceRecord =>
  deletedAt === undefined
    ? { source, id, deleted: true }
    : { source, id, deleted: true, updatedAt: deletedAt }
