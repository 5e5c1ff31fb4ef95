/**
 * Building SOQL safely: quoted string literals, checked ids, datetime literals, IN lists. Values
 * that reach SOQL come from persons (e-mail addresses) and from Salesforce (ids); quoting them here
 * is what keeps a quote in an address from changing a query.
 */

/** A SOQL string literal: backslash, quote and control characters escaped as SOQL requires. */
export const quote = (value: string): string =>
  `'${value
    .replace(/\\/g, "\\\\")
    .replace(/'/g, "\\'")
    .replace(/"/g, '\\"')
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replace(/\f/g, "\\f")
    .replace(/\u0008/g, "\\b")}'`

const ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/

/** Whether a string has the shape of a Salesforce record id (15 or 18 alphanumerics). */
export const isId = (value: string): boolean => ID.test(value)

/** The 15-character, case-sensitive form of an id, for comparing ids given in either length. */
export const id15 = (id: string): string => id.slice(0, 15)

/** A SOQL dateTime literal (unquoted, whole seconds: Salesforce stores datetimes to the second). */
export const datetime = (millis: number): string =>
  new Date(Math.floor(millis / 1000) * 1000).toISOString().replace(".000Z", "Z")

/** `IN (...)` of quoted values; callers keep lists short (`chunks`) so the query stays within URL limits. */
export const inList = (values: Iterable<string>): string => `(${[...values].map(quote).join(", ")})`

/** Splits a list into chunks of at most `size`. */
export const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Values per IN list: 200 ids or e-mail addresses keep a GET query far below Salesforce's URL limit. */
export const IN_CHUNK = 200

/**
 * Values per IN list of a query sent inside a Composite request, where the statement travels in
 * the body and no URL limit applies: at most a page of rows (2,000), and at most
 * `IN_COMPOSITE_CHARS` characters, which leaves the rest of SOQL's 100,000-character statement
 * for the field list, a semi-join and the other conditions.
 */
export const IN_COMPOSITE = 2000

/** Characters the IN list of a Composite query may take (see IN_COMPOSITE). */
export const IN_COMPOSITE_CHARS = 80_000

/** Splits values into IN lists of at most `size` values and `maxChars` characters as `inList` writes them. */
export const chunksWithin = (
  values: ReadonlyArray<string>,
  size: number,
  maxChars: number
): Array<ReadonlyArray<string>> => {
  const out: Array<ReadonlyArray<string>> = []
  let current: Array<string> = []
  let chars = 2
  for (const v of values) {
    const width = quote(v).length + 2
    if (current.length > 0 && (current.length >= size || chars + width > maxChars)) {
      out.push(current)
      current = []
      chars = 2
    }
    current.push(v)
    chars += width
  }
  if (current.length > 0) out.push(current)
  return out
}

/**
 * Epoch milliseconds of a Salesforce dateTime (`2026-01-01T10:00:00.000+0000`) or an ISO-8601
 * instant; NaN when unreadable.
 */
export const millisOf = (value: string): number => Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"))

/** A Salesforce dateTime as ISO-8601 UTC (`2026-01-01T10:00:00.000Z`); undefined when unreadable. */
export const isoOf = (value: string | null | undefined): string | undefined => {
  if (typeof value !== "string") return undefined
  const ms = millisOf(value)
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
}
