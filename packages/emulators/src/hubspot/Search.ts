import type { ContactVersion } from "./Contacts.js"
import { validation } from "./Errors.js"
import * as Json from "./Json.js"
import { type PropertyDefinition, type Registry, parseDateValue, selection } from "./Properties.js"

/** The deepest a query can page: HubSpot answers 400 for any `after` at or past it. */
export const RESULT_CEILING = 10_000
/** The largest `limit` the search endpoint accepts (raised from 100 in 2024). */
export const MAX_LIMIT = 200
/** The page size when `limit` is omitted. */
export const DEFAULT_LIMIT = 10
/** The longest accepted search request body, in characters. */
export const MAX_QUERY_CHARS = 3_000

/** The filter operators of the CRM search API. */
export const OPERATORS = [
  "EQ",
  "NEQ",
  "LT",
  "LTE",
  "GT",
  "GTE",
  "BETWEEN",
  "IN",
  "NOT_IN",
  "HAS_PROPERTY",
  "NOT_HAS_PROPERTY",
  "CONTAINS_TOKEN",
  "NOT_CONTAINS_TOKEN"
] as const

/** One filter operator. */
export type Operator = (typeof OPERATORS)[number]

interface Filter {
  readonly property: PropertyDefinition
  readonly operator: Operator
  readonly value: string | undefined
  readonly highValue: string | undefined
  readonly values: ReadonlyArray<string>
}

/** A decoded search request. */
export interface SearchQuery {
  /** OR of groups, each an AND of filters; empty means "everything". */
  readonly groups: ReadonlyArray<ReadonlyArray<Filter>>
  readonly sort: { readonly property: PropertyDefinition; readonly descending: boolean } | undefined
  readonly properties: ReadonlyArray<string>
  readonly limit: number
  readonly after: number
  readonly text: string | undefined
}

/** A record that search can see. */
export interface Candidate {
  readonly id: string
  readonly version: ContactVersion
}

/** One page of search results. */
export interface SearchPage {
  readonly total: number
  readonly results: ReadonlyArray<Candidate>
  readonly nextAfter: number | undefined
}

/** Decodes and validates a search body against the portal's properties. */
export const decode = (registry: Registry, body: unknown, rawLength: number): SearchQuery => {
  if (rawLength > MAX_QUERY_CHARS) {
    throw validation(`Search request is ${rawLength} characters long; the maximum is ${MAX_QUERY_CHARS}`)
  }
  const request = body === undefined ? {} : Json.object(body, "body")
  const groups = (
    request["filterGroups"] === undefined ? [] : Json.array(request["filterGroups"], "filterGroups")
  ).map((group, g) => {
    const filters = Json.array(
      Json.object(group, `filterGroups[${g}]`)["filters"],
      `filterGroups[${g}].filters`
    )
    return filters.map((filter, f) => decodeFilter(registry, filter, `filterGroups[${g}].filters[${f}]`))
  })
  const sorts = request["sorts"] === undefined ? [] : Json.array(request["sorts"], "sorts")
  if (sorts.length > 1) throw validation("Only one sort is supported per search request")
  const sort = sorts[0] === undefined ? undefined : decodeSort(registry, sorts[0])
  const limit = decodeInteger(request["limit"], "limit") ?? DEFAULT_LIMIT
  if (limit < 1 || limit > MAX_LIMIT) {
    throw validation(`limit must be between 1 and ${MAX_LIMIT}, got ${limit}`)
  }
  const afterText = Json.optionalString(request["after"], "after")
  const after = afterText === undefined || afterText === "" ? 0 : Number(afterText)
  if (!Number.isInteger(after) || after < 0)
    throw validation(`after must be a non-negative offset, got ${afterText}`)
  if (after >= RESULT_CEILING) {
    throw validation(
      `Search results are limited to ${RESULT_CEILING} records per query; after=${after} is past that. Narrow the filters to read further.`
    )
  }
  const text = Json.optionalString(request["query"], "query")
  return {
    groups,
    sort,
    properties: selection(registry, Json.optionalStrings(request["properties"], "properties")),
    limit,
    after,
    text: text === undefined || text.trim() === "" ? undefined : text.trim().toLowerCase()
  }
}

/** Runs a query over the visible records: filter, sort, then one page within the 10,000 ceiling. */
export const run = (query: SearchQuery, candidates: Iterable<Candidate>): SearchPage => {
  const matches: Array<Candidate> = []
  for (const candidate of candidates) {
    if (matchesText(query.text, candidate.version) && matchesGroups(query.groups, candidate.version)) {
      matches.push(candidate)
    }
  }
  const sort = query.sort
  matches.sort((a, b) => {
    if (sort !== undefined) {
      const order = compareValues(
        sort.property,
        a.version.properties.get(sort.property.name),
        b.version.properties.get(sort.property.name)
      )
      if (order !== 0) return sort.descending ? -order : order
    }
    // Ties (and the unsorted case) fall back to record id so paging is stable.
    return Number(a.id) - Number(b.id)
  })
  const end = Math.min(query.after + query.limit, matches.length, RESULT_CEILING)
  const results = matches.slice(query.after, end)
  return { total: matches.length, results, nextAfter: end < matches.length ? end : undefined }
}

const decodeInteger = (u: unknown, where: string): number | undefined => {
  if (u === undefined || u === null) return undefined
  const n = typeof u === "string" ? Number(u) : u
  if (typeof n !== "number" || !Number.isInteger(n))
    throw validation(`Invalid input JSON: ${where} must be an integer`)
  return n
}

const property = (registry: Registry, name: string): PropertyDefinition => {
  const definition = registry.get(name)
  if (definition === undefined) {
    throw validation(`There was a problem with the request: property ${name} does not exist`, {
      errors: [{ message: `Property "${name}" does not exist`, code: "PROPERTY_DOESNT_EXIST" }]
    })
  }
  return definition
}

const isOperator = (s: string): s is Operator => (OPERATORS as ReadonlyArray<string>).includes(s)

const decodeFilter = (registry: Registry, u: unknown, where: string): Filter => {
  const filter = Json.object(u, where)
  const operatorText = Json.string(filter["operator"], `${where}.operator`)
  if (!isOperator(operatorText)) throw validation(`${where}.operator: unknown operator ${operatorText}`)
  const definition = property(registry, Json.string(filter["propertyName"], `${where}.propertyName`))
  const value = Json.optionalString(filter["value"], `${where}.value`)
  const highValue = Json.optionalString(filter["highValue"], `${where}.highValue`)
  const values = (filter["values"] === undefined ? [] : Json.array(filter["values"], `${where}.values`)).map(
    (v, i) => Json.id(v, `${where}.values[${i}]`)
  )
  const needsValue = !["IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"].includes(operatorText)
  if (needsValue && value === undefined)
    throw validation(`${where}: operator ${operatorText} requires a value`)
  if (operatorText === "BETWEEN" && highValue === undefined) {
    throw validation(`${where}: operator BETWEEN requires a highValue`)
  }
  if ((operatorText === "IN" || operatorText === "NOT_IN") && values.length === 0) {
    throw validation(`${where}: operator ${operatorText} requires values`)
  }
  if (definition.type === "datetime" || definition.type === "number") {
    for (const v of [value, highValue, ...values]) {
      if (v !== undefined && toComparable(definition, v) === undefined) {
        throw validation(`${where}: ${v} is not a valid ${definition.type} for ${definition.name}`)
      }
    }
  }
  return { property: definition, operator: operatorText, value, highValue, values }
}

// The SDK types sorts as strings; HubSpot's docs send objects. Accept "prop", "-prop", JSON text and objects.
const decodeSort = (
  registry: Registry,
  u: unknown
): { readonly property: PropertyDefinition; readonly descending: boolean } => {
  let sort: unknown = u
  if (typeof u === "string" && u.trim().startsWith("{")) sort = Json.parse(u)
  if (typeof sort === "string") {
    const descending = sort.startsWith("-")
    return { property: property(registry, descending ? sort.slice(1) : sort), descending }
  }
  const object = Json.object(sort, "sorts[0]")
  const direction = Json.optionalString(object["direction"], "sorts[0].direction") ?? "ASCENDING"
  if (direction !== "ASCENDING" && direction !== "DESCENDING") {
    throw validation(`sorts[0].direction must be ASCENDING or DESCENDING, got ${direction}`)
  }
  return {
    property: property(registry, Json.string(object["propertyName"], "sorts[0].propertyName")),
    descending: direction === "DESCENDING"
  }
}

const toComparable = (definition: PropertyDefinition, value: string): number | string | undefined => {
  switch (definition.type) {
    case "datetime":
      return parseDateValue(value)
    case "number": {
      const n = Number(value)
      return value.trim() !== "" && Number.isFinite(n) ? n : undefined
    }
    case "bool":
    case "string":
      // String comparisons in HubSpot search are case-insensitive.
      return value.toLowerCase()
  }
}

const compareValues = (
  definition: PropertyDefinition,
  a: string | undefined,
  b: string | undefined
): number => {
  // Records without the property sort after those with it.
  if (a === undefined) return b === undefined ? 0 : 1
  if (b === undefined) return -1
  const x = toComparable(definition, a)
  const y = toComparable(definition, b)
  if (x === undefined || y === undefined) return 0
  return x < y ? -1 : x > y ? 1 : 0
}

const tokens = (value: string): ReadonlyArray<string> =>
  value
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t !== "")

const containsToken = (value: string, token: string): boolean => {
  const wanted = token.toLowerCase()
  if (wanted.includes("*")) {
    const pattern = wanted.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")
    return new RegExp(`^${pattern}$`).test(value.toLowerCase())
  }
  return tokens(value).includes(wanted) || value.toLowerCase() === wanted
}

const matchesFilter = (filter: Filter, version: ContactVersion): boolean => {
  const raw = version.properties.get(filter.property.name)
  switch (filter.operator) {
    case "HAS_PROPERTY":
      return raw !== undefined
    case "NOT_HAS_PROPERTY":
      return raw === undefined
    case "NEQ":
    case "NOT_IN":
    case "NOT_CONTAINS_TOKEN":
      return raw === undefined || !positive(filter, raw)
    default:
      return raw !== undefined && positive(filter, raw)
  }
}

const positive = (filter: Filter, raw: string): boolean => {
  const actual = toComparable(filter.property, raw)
  if (actual === undefined) return false
  const as = (v: string | undefined) => (v === undefined ? undefined : toComparable(filter.property, v))
  const value = as(filter.value)
  switch (filter.operator) {
    case "EQ":
    case "NEQ":
      return actual === value
    case "LT":
      return value !== undefined && actual < value
    case "LTE":
      return value !== undefined && actual <= value
    case "GT":
      return value !== undefined && actual > value
    case "GTE":
      return value !== undefined && actual >= value
    case "BETWEEN": {
      const high = as(filter.highValue)
      return value !== undefined && high !== undefined && actual >= value && actual <= high
    }
    case "IN":
    case "NOT_IN":
      return filter.values.some((v) => as(v) === actual)
    case "CONTAINS_TOKEN":
    case "NOT_CONTAINS_TOKEN":
      return filter.value !== undefined && containsToken(raw, filter.value)
    case "HAS_PROPERTY":
    case "NOT_HAS_PROPERTY":
      return true
  }
}

const matchesGroups = (groups: ReadonlyArray<ReadonlyArray<Filter>>, version: ContactVersion): boolean =>
  groups.length === 0 || groups.some((filters) => filters.every((filter) => matchesFilter(filter, version)))

const TEXT_PROPERTIES = ["email", "firstname", "lastname", "phone", "company"]

// The free-text `query` matches a prefix of any word of the default searchable properties.
const matchesText = (text: string | undefined, version: ContactVersion): boolean => {
  if (text === undefined) return true
  const words = TEXT_PROPERTIES.flatMap((name) => {
    const value = version.properties.get(name)
    return value === undefined ? [] : [value.toLowerCase(), ...tokens(value)]
  })
  return text.split(/\s+/).every((term) => words.some((word) => word.startsWith(term)))
}
