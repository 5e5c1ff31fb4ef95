/**
 * HubSpot contacts as the shared shapes: a contact is a person whose externalId is its record id
 * (`hs_object_id`) and whose identifiers are its e-mails and phones; its other properties become
 * record attributes under the names the resolver reads (`firstName`, `lastName`, `street`, ...).
 * Pure functions, apart from the transport.
 */
import type { ConsentTarget, SourceRecord } from "@living-profile/core"

/** A contact as the SDK returns it (search, batch read, upsert): every property value is a string or null. */
export interface HubSpotContact {
  readonly id: string
  readonly properties: Readonly<Record<string, string | null | undefined>>
  readonly updatedAt?: Date | string
}

/** HubSpot contact property to record attribute, for the properties the resolver knows. */
export const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  firstname: "firstName",
  lastname: "lastName",
  date_of_birth: "birthDate",
  address: "street",
  city: "city",
  zip: "postalCode",
  state: "state",
  country: "country",
  company: "company",
  jobtitle: "jobTitle",
  hs_language: "language"
}

/** Properties that carry identifiers: the primary e-mail, HubSpot's extra e-mails (`;`-separated), phones. */
export const IDENTIFIER_PROPERTIES: ReadonlyArray<string> = [
  "email",
  "hs_additional_emails",
  "phone",
  "mobilephone"
]

/** The attribute mapping in force: the defaults with `extra` over them. */
export const attributeMap = (extra: Readonly<Record<string, string>>): Readonly<Record<string, string>> => ({
  ...DEFAULT_ATTRIBUTES,
  ...extra
})

/** The properties a read or search must ask for (unknown names are ignored by HubSpot). */
export const propertiesToRead = (
  attributes: Readonly<Record<string, string>>,
  extra: ReadonlyArray<string> = []
): Array<string> => [
  ...new Set([
    "hs_object_id",
    "lastmodifieddate",
    "createdate",
    ...IDENTIFIER_PROPERTIES,
    ...Object.keys(attributes),
    ...extra
  ])
]

/** How HubSpot compares e-mails: trimmed and lower-cased (it stores them that way). */
export const emailKey = (email: string): string => email.trim().toLowerCase()

/** Whether a string looks like an address HubSpot accepts (checked before a request would refuse a whole batch). */
export const looksLikeEmail = (s: string): boolean => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s.trim())

const value = (c: HubSpotContact, name: string): string | undefined => {
  const v = c.properties[name]
  return typeof v === "string" && v !== "" ? v : undefined
}

/** The contact's primary e-mail, which its subscription statuses are kept under. */
export const emailOf = (c: HubSpotContact): string | undefined => value(c, "email")

/** The contact's identifiers: every e-mail (primary first) and phone, without duplicates. */
export const identifiersOf = (c: HubSpotContact): ConsentTarget.Identifiers => {
  const out: Record<string, Array<string>> = {}
  const add = (type: string, v: string | undefined) => {
    if (v === undefined || v.trim() === "") return
    const list = (out[type] ??= [])
    if (!list.includes(v)) list.push(v)
  }
  add("email", emailOf(c))
  for (const extra of (value(c, "hs_additional_emails") ?? "").split(";")) add("email", extra.trim())
  add("phone", value(c, "phone"))
  add("phone", value(c, "mobilephone"))
  return out
}

/** When the contact last changed (`lastmodifieddate`, else `updatedAt`), in epoch millis; NaN when neither reads. */
export const modifiedAtOf = (c: HubSpotContact): number => {
  const text = value(c, "lastmodifieddate")
  const parsed = text === undefined ? Number.NaN : /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isNaN(parsed)) return parsed
  const u = c.updatedAt
  return u === undefined ? Number.NaN : u instanceof Date ? u.getTime() : Date.parse(u)
}

/** The contact as an identity record of source `source`. */
export const toSourceRecord = (
  source: string,
  c: HubSpotContact,
  attributes: Readonly<Record<string, string>>
): SourceRecord.SourceRecord => {
  const attrs: Record<string, string> = {}
  for (const [property, attribute] of Object.entries(attributes)) {
    const v = value(c, property)
    if (v !== undefined) attrs[attribute] = v
  }
  const at = modifiedAtOf(c)
  const identifiers = identifiersOf(c)
  return {
    source,
    id: c.id,
    ...(Number.isNaN(at) ? {} : { updatedAt: new Date(at).toISOString() }),
    ...(Object.keys(identifiers).length === 0 ? {} : { identifiers }),
    ...(Object.keys(attrs).length === 0 ? {} : { attributes: attrs })
  }
}
