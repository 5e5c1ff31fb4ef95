import { type HttpError, validation } from "./Errors.js"

/** A JSON object after `JSON.parse`. */
export type JsonObject = Readonly<Record<string, unknown>>

/** Whether `u` is a JSON object (not an array, not null). */
export const isObject = (u: unknown): u is JsonObject =>
  typeof u === "object" && u !== null && !Array.isArray(u)

// HubSpot answers malformed bodies with "Invalid input JSON ..." and VALIDATION_ERROR.
const invalid = (where: string, expected: string): HttpError =>
  validation(`Invalid input JSON: ${where} must be ${expected}`)

/** Parses a request body; an empty body reads as `undefined`. */
export const parse = (text: string): unknown => {
  if (text.trim() === "") return undefined
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw validation(`Invalid input JSON: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/** `u` as an object, or a 400 naming `where`. */
export const object = (u: unknown, where: string): JsonObject => {
  if (!isObject(u)) throw invalid(where, "an object")
  return u
}

/** `u` as an array, or a 400 naming `where`. */
export const array = (u: unknown, where: string): ReadonlyArray<unknown> => {
  if (!Array.isArray(u)) throw invalid(where, "an array")
  return u
}

/** `u` as a string, or a 400 naming `where`. */
export const string = (u: unknown, where: string): string => {
  if (typeof u !== "string") throw invalid(where, "a string")
  return u
}

/** `u` as a string when present (numbers are accepted as their decimal text, as Jackson coerces them). */
export const optionalString = (u: unknown, where: string): string | undefined => {
  if (u === undefined || u === null) return undefined
  if (typeof u === "number" && Number.isFinite(u)) return String(u)
  return string(u, where)
}

/** `u` as an identifier: a string, or a number turned into its decimal text. */
export const id = (u: unknown, where: string): string => {
  if (typeof u === "number" && Number.isInteger(u)) return String(u)
  return string(u, where)
}

/** `u` as a list of strings when present. */
export const optionalStrings = (u: unknown, where: string): ReadonlyArray<string> | undefined => {
  if (u === undefined || u === null) return undefined
  return array(u, where).map((item, i) => string(item, `${where}[${i}]`))
}

/** A property map; numbers and booleans become text, null becomes "" (which clears the value). */
export const propertyValues = (u: unknown, where: string): Readonly<Record<string, string>> => {
  const values: Record<string, string> = {}
  for (const [name, value] of Object.entries(object(u, where))) {
    if (value === null) values[name] = ""
    else if (typeof value === "string") values[name] = value
    else if (typeof value === "number" || typeof value === "boolean") values[name] = String(value)
    else throw invalid(`${where}.${name}`, "a string, number, boolean or null")
  }
  return values
}
