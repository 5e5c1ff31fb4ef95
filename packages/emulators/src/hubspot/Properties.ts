import { toIso } from "./Clock.js"
import { type ErrorDetail, validation } from "./Errors.js"

/** How a property's values compare and validate. */
export type PropertyType = "string" | "number" | "datetime" | "bool"

/** One contact property the emulated portal knows. */
export interface PropertyDefinition {
  readonly name: string
  readonly type: PropertyType
  readonly readOnly: boolean
}

/** The contact properties of the emulated portal. */
export interface Registry {
  /** The definition of `name`, if the portal has that property. */
  readonly get: (name: string) => PropertyDefinition | undefined
  /** Every property name. */
  readonly names: () => ReadonlyArray<string>
}

/** Returned when a read names no properties (HubSpot's documented default set). */
export const DEFAULT_READ: ReadonlyArray<string> = [
  "createdate",
  "email",
  "firstname",
  "hs_object_id",
  "lastmodifieddate",
  "lastname"
]

/** Returned on every record whatever was asked for. */
export const ALWAYS_RETURNED: ReadonlyArray<string> = ["createdate", "hs_object_id", "lastmodifieddate"]

/** The per-subscription opt-out property HubSpot keeps on the contact. */
export const optOutProperty = (subscriptionId: string): string => `hs_email_optout_${subscriptionId}`

const STRING_PROPERTIES = [
  "email",
  "firstname",
  "lastname",
  "phone",
  "mobilephone",
  "company",
  "jobtitle",
  "website",
  "address",
  "city",
  "state",
  "zip",
  "country",
  "lifecyclestage",
  "hs_lead_status",
  "hs_language",
  "salutation",
  "hubspot_owner_id"
]

/** A registry with HubSpot's common contact properties, `custom` string properties and one opt-out flag per subscription. */
export const make = (custom: ReadonlyArray<string>, subscriptionIds: ReadonlyArray<string>): Registry => {
  const definitions = new Map<string, PropertyDefinition>()
  const add = (name: string, type: PropertyType, readOnly: boolean): void => {
    definitions.set(name, { name, type, readOnly })
  }
  for (const name of STRING_PROPERTIES) add(name, "string", false)
  for (const name of custom) add(name, "string", false)
  add("hs_object_id", "number", true)
  add("createdate", "datetime", false)
  add("lastmodifieddate", "datetime", true)
  add("hs_lastmodifieddate", "datetime", true)
  add("hs_email_optout", "bool", true)
  for (const id of subscriptionIds) add(optOutProperty(id), "bool", true)
  return { get: (name) => definitions.get(name), names: () => [...definitions.keys()] }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** Lower-cases and trims an e-mail address, as HubSpot stores them. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase()

/** Whether `email` looks like an address HubSpot would accept. */
export const isEmail = (email: string): boolean => EMAIL.test(email)

/** Reads a datetime filter or property value: epoch milliseconds or ISO-8601 text. */
export const parseDateValue = (value: string): number | undefined => {
  const ms = /^-?\d+$/.test(value.trim()) ? Number(value) : Date.parse(value)
  return Number.isFinite(ms) ? ms : undefined
}

/**
 * Validates values written through the API and returns them normalized; every problem is reported at once
 * in one 400, as HubSpot does ("Property values were not valid").
 */
export const validateWrite = (
  registry: Registry,
  values: Readonly<Record<string, string>>
): Readonly<Record<string, string>> => {
  const errors: Array<ErrorDetail> = []
  const normalized: Record<string, string> = {}
  for (const [name, raw] of Object.entries(values)) {
    const definition = registry.get(name)
    if (definition === undefined) {
      errors.push({
        message: `Property "${name}" does not exist`,
        code: "PROPERTY_DOESNT_EXIST",
        context: { propertyName: [name] }
      })
      continue
    }
    if (definition.readOnly) {
      errors.push({
        message: `${name} is a read only property; its value cannot be set.`,
        code: "READ_ONLY_VALUE",
        context: { propertyName: [name] }
      })
      continue
    }
    if (raw === "") {
      normalized[name] = ""
      continue
    }
    const checked = checkValue(definition, raw)
    if (typeof checked === "string") normalized[name] = checked
    else errors.push(checked)
  }
  if (errors.length > 0) throw validation("Property values were not valid", { errors })
  return normalized
}

const checkValue = (definition: PropertyDefinition, raw: string): string | ErrorDetail => {
  const context = { propertyName: [definition.name] }
  if (definition.name === "email") {
    const email = normalizeEmail(raw)
    return isEmail(email)
      ? email
      : { message: `Email address ${raw} is invalid`, code: "INVALID_EMAIL", context }
  }
  switch (definition.type) {
    case "datetime": {
      const ms = parseDateValue(raw)
      return ms === undefined
        ? { message: `${raw} is not a valid date for ${definition.name}`, code: "INVALID_DATE", context }
        : toIso(ms)
    }
    case "number":
      return Number.isFinite(Number(raw))
        ? raw
        : { message: `${raw} is not a valid number`, code: "INVALID_INTEGER", context }
    case "bool":
      return raw === "true" || raw === "false"
        ? raw
        : { message: `${raw} is not a valid boolean`, code: "INVALID_BOOLEAN", context }
    case "string":
      return raw
  }
}

/** The property names a read returns: the requested known ones (or the default set) plus the always-returned ones. */
export const selection = (
  registry: Registry,
  requested: ReadonlyArray<string> | undefined
): ReadonlyArray<string> => {
  const wanted = requested === undefined || requested.length === 0 ? DEFAULT_READ : requested
  const names = new Set<string>()
  // Unknown names in a read are ignored by HubSpot, not rejected.
  for (const name of wanted) if (registry.get(name) !== undefined) names.add(name)
  for (const name of ALWAYS_RETURNED) names.add(name)
  return [...names]
}
