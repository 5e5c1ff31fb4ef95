/**
 * Runs parsed SOQL against the store and pages the result through query cursors.
 *
 * Names resolve case-insensitively against the schema (INVALID_TYPE / INVALID_FIELD otherwise);
 * literals must match the field type (INVALID_QUERY_FILTER_OPERATOR otherwise, e.g. a quoted
 * dateTime). Text compares case-insensitively; `!=` and `NOT IN` keep nulls, as in SOQL. A
 * semi-join subquery runs once over its object (the recycle bin included for queryAll). Results
 * are computed once when the query runs and served in batches (2,000 by default, 200 to 2,000
 * with `Sforce-Query-Options: batchSize=N`) through `nextRecordsUrl` locators
 * `01g...-<offset>`. A cursor lives 15 minutes after its last use; a user has at most 10 open
 * cursors, the oldest being dropped, as Salesforce does.
 */
import { ApiError } from "./Errors.js"
import { to18 } from "./Ids.js"
import type { Org } from "./Org.js"
import {
  cursorKeyPrefix,
  type FieldDef,
  isIdField,
  isNumeric,
  isTextual,
  type ObjectDef,
  type Value
} from "./Schema.js"
import {
  type Condition,
  type FieldRef,
  type Literal,
  malformed,
  type Operator,
  parse,
  positioned,
  type SelectQuery
} from "./Soql.js"
import type { StoredRecord } from "./Store.js"
import { attributes, encode } from "./Wire.js"

/** Options of one query run. */
export interface RunOptions {
  /** queryAll: include deleted (recycle bin) records. */
  readonly includeDeleted: boolean
  /** API version as in the path ("60.0"). */
  readonly version: string
}

/** All rows of a query, as JSON records. */
export interface QueryResult {
  readonly totalSize: number
  readonly records: ReadonlyArray<Record<string, unknown>>
}

interface Resolved {
  readonly field: FieldDef
  /** The reference field followed for a parent field (`IndividualId` for `Individual.ShouldForget`). */
  readonly via?: { readonly reference: FieldDef; readonly parent: ObjectDef }
}

const soqlError = (q: SelectQuery, errorCode: string, pos: number, reason: string): ApiError =>
  new ApiError(400, [{ errorCode, message: positioned(q.text, pos, reason) }])

const noSuchColumn = (q: SelectQuery, ref: FieldRef, name: string, o: ObjectDef): ApiError =>
  soqlError(
    q,
    "INVALID_FIELD",
    ref.pos,
    `No such column '${name}' on entity '${o.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`
  )

const resolve = (org: Org, q: SelectQuery, o: ObjectDef, version: number, ref: FieldRef): Resolved => {
  let path = ref.path
  if (
    path.length > 1 &&
    path[0]?.toLowerCase() === o.name.toLowerCase() &&
    o.relationship(path[0]) === undefined
  ) {
    path = path.slice(1)
  }
  const [first, second, ...deeper] = path
  if (first === undefined) throw malformed(q.text, ref.pos, "empty field name")
  if (second === undefined) {
    const field = o.field(first)
    if (field === undefined) throw noSuchColumn(q, ref, first, o)
    return { field }
  }
  if (deeper.length > 0) {
    throw malformed(
      q.text,
      ref.pos,
      "relationship paths deeper than one level are not supported by the Salesforce emulator"
    )
  }
  const reference = o.relationship(first)
  const parent =
    reference === undefined ? undefined : org.schema.object(reference.referenceTo[0] ?? "", version)
  if (reference === undefined || parent === undefined) {
    throw soqlError(
      q,
      "INVALID_FIELD",
      ref.pos,
      `Didn't understand relationship '${first}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`
    )
  }
  const field = parent.field(second)
  if (field === undefined) throw noSuchColumn(q, ref, second, parent)
  return { field, via: { reference, parent } }
}

const read = (org: Org, r: StoredRecord, x: Resolved): Value => {
  if (x.via === undefined) return r.values[x.field.name] ?? null
  const parentId = r.values[x.via.reference.name]
  if (typeof parentId !== "string") return null
  const parent = org.store.get(x.via.parent.name, parentId)
  if (parent === undefined || parent.deletedAt !== undefined) return null
  return parent.values[x.field.name] ?? null
}

const compare = (f: FieldDef, a: Value, b: Value): number => {
  if (isTextual(f)) {
    const x = String(a).toLowerCase()
    const y = String(b).toLowerCase()
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (typeof a === "boolean" || typeof b === "boolean") return Number(a) - Number(b)
  if (typeof a === "number" && typeof b === "number") return a - b
  const x = String(a)
  const y = String(b)
  return x < y ? -1 : x > y ? 1 : 0
}

const typeLabel = (f: FieldDef): string =>
  f.type === "datetime"
    ? "dateTime"
    : f.type === "date"
      ? "date"
      : f.type === "boolean"
        ? "boolean"
        : isNumeric(f)
          ? "number"
          : "string"

/** Converts a literal to the field's stored form, checking that its type fits the field. */
const literalValue = (q: SelectQuery, f: FieldDef, lit: Literal, pos: number): Value => {
  if (lit.kind === "null") return null
  const mismatch = () => {
    const quoted = f.type === "datetime" || f.type === "date" || f.type === "boolean" || isNumeric(f)
    return soqlError(
      q,
      "INVALID_QUERY_FILTER_OPERATOR",
      pos,
      `value of filter criterion for field '${f.name}' must be of type ${typeLabel(f)} and should ${quoted ? "not " : ""}be enclosed in quotes`
    )
  }
  switch (f.type) {
    case "boolean":
      if (lit.kind !== "boolean") throw mismatch()
      return lit.value
    case "datetime":
      if (lit.kind !== "datetime") throw mismatch()
      return lit.value
    case "date":
      if (lit.kind !== "date") throw mismatch()
      return lit.value
    case "int":
    case "double":
    case "currency":
      if (lit.kind !== "number") throw mismatch()
      return lit.value
    case "id":
    case "reference": {
      if (lit.kind !== "string") throw mismatch()
      if (lit.value === "") return null
      const id = to18(lit.value)
      if (id === undefined)
        throw soqlError(q, "INVALID_QUERY_FILTER_OPERATOR", pos, `invalid ID field: ${lit.value}`)
      return id
    }
    default:
      if (lit.kind !== "string") throw mismatch()
      return lit.value
  }
}

const likeRegex = (pattern: string): RegExp => {
  let out = ""
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? ""
    if (c === "\\" && (pattern[i + 1] === "%" || pattern[i + 1] === "_")) {
      out += pattern[i + 1]
      i++
    } else if (c === "%") out += ".*"
    else if (c === "_") out += "."
    else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  }
  return new RegExp(`^${out}$`, "is")
}

type Predicate = (r: StoredRecord) => boolean

const holds = (f: FieldDef, op: Operator, v: Value, lit: Value): boolean => {
  if (op === "=") return lit === null ? v === null : v !== null && compare(f, v, lit) === 0
  if (op === "!=") return lit === null ? v !== null : v === null || compare(f, v, lit) !== 0
  if (v === null || lit === null) return false
  const c = compare(f, v, lit)
  return op === "<" ? c < 0 : op === ">" ? c > 0 : op === "<=" ? c <= 0 : c >= 0
}

/**
 * Membership in an IN list, as `=` against each value would decide it. Ids, text and numbers go
 * through a set (an IN list of 2,000 ids over a large table would otherwise cost rows x values
 * comparisons); other types compare value by value.
 */
const membership = (f: FieldDef, values: ReadonlyArray<Value>): ((v: Value) => boolean) => {
  const hasNull = values.includes(null)
  const present = values.filter((x): x is string | number | boolean => x !== null)
  if (isIdField(f) || isTextual(f) || isNumeric(f)) {
    const key = (x: string | number | boolean) => (isTextual(f) ? String(x).toLowerCase() : x)
    const set = new Set(present.map(key))
    return (v) => (v === null ? hasNull : set.has(key(v)))
  }
  return (v) => values.some((lit) => holds(f, "=", v, lit))
}

/** Where a condition is compiled: the query, its object, the API version, the recycle bin. */
interface Scope {
  readonly org: Org
  readonly q: SelectQuery
  readonly o: ObjectDef
  readonly version: number
  readonly includeDeleted: boolean
}

const compile = (s: Scope, c: Condition): Predicate => {
  const { org, q, o, version } = s
  switch (c.kind) {
    case "and": {
      const parts = c.items.map((i) => compile(s, i))
      return (r) => parts.every((p) => p(r))
    }
    case "or": {
      const parts = c.items.map((i) => compile(s, i))
      return (r) => parts.some((p) => p(r))
    }
    case "not": {
      const inner = compile(s, c.item)
      return (r) => !inner(r)
    }
    case "compare": {
      const x = resolve(org, q, o, version, c.field)
      const f = x.field
      if (f.type === "boolean" && c.op !== "=" && c.op !== "!=") {
        throw soqlError(
          q,
          "INVALID_QUERY_FILTER_OPERATOR",
          c.pos,
          `invalid operator on boolean field: ${f.name}`
        )
      }
      const lit = literalValue(q, f, c.value, c.pos)
      return (r) => holds(f, c.op, read(org, r, x), lit)
    }
    case "in": {
      const x = resolve(org, q, o, version, c.field)
      const member = membership(
        x.field,
        c.values.map((v) => literalValue(q, x.field, v, c.pos))
      )
      return (r) => member(read(org, r, x)) !== c.negated
    }
    case "semijoin": {
      const x = resolve(org, q, o, version, c.field)
      if (x.via !== undefined || !isIdField(x.field)) {
        throw malformed(
          q.text,
          c.field.pos,
          `the left operand of a semi-join or anti-join must be an id or reference field of ${o.name}, not ${c.field.path.join(".")}`
        )
      }
      const sub = c.subquery
      const so = org.schema.object(sub.from.name, version)
      if (so === undefined) throw unknownObject(q, sub.from.name, sub.from.pos)
      const selected = resolve(org, q, so, version, sub.select)
      if (selected.via !== undefined || !isIdField(selected.field)) {
        throw malformed(
          q.text,
          sub.select.pos,
          `a semi-join subquery must select an id or reference field of ${so.name}, not ${sub.select.path.join(".")}`
        )
      }
      const where = sub.where === undefined ? () => true : compile({ ...s, o: so }, sub.where)
      // The subquery runs once, before the outer rows are filtered (it is not correlated).
      const ids = new Set<Value>()
      for (const r of org.store.all(so.name)) {
        if ((s.includeDeleted || r.deletedAt === undefined) && where(r)) {
          const v = r.values[selected.field.name] ?? null
          if (v !== null) ids.add(v)
        }
      }
      return (r) => {
        const v = r.values[x.field.name] ?? null
        // NOT IN keeps rows whose field is null, as NOT IN with values does.
        return v === null ? c.negated : ids.has(v) !== c.negated
      }
    }
    case "like": {
      const x = resolve(org, q, o, version, c.field)
      if (!isTextual(x.field)) {
        throw soqlError(
          q,
          "INVALID_QUERY_FILTER_OPERATOR",
          c.pos,
          `invalid operator on ${isIdField(x.field) ? "id" : typeLabel(x.field)} field: ${x.field.name}; LIKE applies to text fields`
        )
      }
      const re = likeRegex(c.pattern)
      return (r) => {
        const v = read(org, r, x)
        return v !== null && re.test(String(v))
      }
    }
  }
}

const unknownObject = (q: SelectQuery, name: string, pos: number): ApiError =>
  soqlError(
    q,
    "INVALID_TYPE",
    pos,
    `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`
  )

/** Runs a query and returns every row (before paging). */
export const run = (org: Org, text: string, options: RunOptions): QueryResult => {
  const q = parse(text)
  const version = Number(options.version)
  const o = org.schema.object(q.from.name, version)
  if (o === undefined) throw unknownObject(q, q.from.name, q.from.pos)
  const selected =
    q.select.kind === "fields"
      ? q.select.fields.map((ref) => ({ ref, resolved: resolve(org, q, o, version, ref) }))
      : []
  const seen = new Set<string>()
  for (const { ref, resolved } of selected) {
    const key = `${resolved.via?.reference.name ?? ""}.${resolved.field.name}`
    if (seen.has(key)) throw malformed(q.text, ref.pos, `duplicate field selected: ${ref.path.join(".")}`)
    seen.add(key)
  }
  const where =
    q.where === undefined
      ? () => true
      : compile({ org, q, o, version, includeDeleted: options.includeDeleted }, q.where)
  const order = q.orderBy.map((item) => ({ item, resolved: resolve(org, q, o, version, item.field) }))
  if (q.offset !== undefined && q.offset > 2000) {
    throw new ApiError(400, [
      { errorCode: "NUMBER_OUTSIDE_VALID_RANGE", message: "Maximum SOQL offset allowed is 2000" }
    ])
  }

  let rows = [...org.store.all(o.name)].filter(
    (r) => (options.includeDeleted || r.deletedAt === undefined) && where(r)
  )
  if (order.length > 0) {
    rows.sort((a, b) => {
      for (const { item, resolved } of order) {
        const x = read(org, a, resolved)
        const y = read(org, b, resolved)
        if (x === null && y === null) continue
        if (x === null) return item.nullsLast ? 1 : -1
        if (y === null) return item.nullsLast ? -1 : 1
        const c = compare(resolved.field, x, y)
        if (c !== 0) return item.descending ? -c : c
      }
      return 0
    })
  }
  rows = rows.slice(q.offset ?? 0, q.limit === undefined ? undefined : (q.offset ?? 0) + q.limit)
  if (q.select.kind === "count") return { totalSize: rows.length, records: [] }

  const records = rows.map((r) => {
    const out: Record<string, unknown> = { attributes: attributes(options.version, r) }
    for (const { resolved } of selected) {
      if (resolved.via === undefined) {
        out[resolved.field.name] = encode(resolved.field, r.values[resolved.field.name])
        continue
      }
      const { reference, parent } = resolved.via
      const key = reference.relationshipName ?? reference.name
      if (!(key in out)) {
        const parentId = r.values[reference.name]
        const p = typeof parentId === "string" ? org.store.get(parent.name, parentId) : undefined
        out[key] =
          p === undefined || p.deletedAt !== undefined ? null : { attributes: attributes(options.version, p) }
      }
      const nested = out[key]
      if (nested !== null && typeof nested === "object") {
        const p = org.store.get(parent.name, String(r.values[reference.name]))
        ;(nested as Record<string, unknown>)[resolved.field.name] = encode(
          resolved.field,
          p?.values[resolved.field.name]
        )
      }
    }
    return out
  })
  return { totalSize: rows.length, records }
}

/** One page of a query response. */
export interface QueryPage {
  readonly totalSize: number
  readonly done: boolean
  readonly nextRecordsUrl?: string
  readonly records: ReadonlyArray<Record<string, unknown>>
}

interface Cursor {
  readonly id: string
  readonly userId: string
  readonly rows: QueryResult
  readonly batchSize: number
  touchedAt: number
}

/** Default and maximum query batch size. */
export const maxBatchSize = 2000
/** Minimum query batch size. */
export const minBatchSize = 200
const cursorTtlMs = 15 * 60 * 1000
const cursorsPerUser = 10

/** Reads `batchSize=N` from an `Sforce-Query-Options` header, clamped to 200..2000. */
export const batchSizeOf = (header: string | undefined): number => {
  const m = header === undefined ? null : /batchSize\s*=\s*(\d+)/i.exec(header)
  if (m === null) return maxBatchSize
  return Math.min(maxBatchSize, Math.max(minBatchSize, Number(m[1])))
}

const invalidLocator = (): ApiError =>
  new ApiError(400, [{ errorCode: "INVALID_QUERY_LOCATOR", message: "invalid query locator" }])

/** The open query cursors of the org. */
export class Cursors {
  private readonly open = new Map<string, Cursor>()

  constructor(private readonly org: Org) {}

  /** The first page of a result; opens a cursor when more rows remain. */
  first(rows: QueryResult, userId: string, version: string, batchSize: number): QueryPage {
    if (rows.records.length <= batchSize)
      return { totalSize: rows.totalSize, done: true, records: rows.records }
    this.expire()
    const mine = [...this.open.values()].filter((c) => c.userId === userId)
    for (const c of mine.slice(0, Math.max(0, mine.length - cursorsPerUser + 1))) this.open.delete(c.id)
    const cursor: Cursor = {
      id: this.org.ids.next(cursorKeyPrefix),
      userId,
      rows,
      batchSize,
      touchedAt: this.org.clock.now()
    }
    this.open.set(cursor.id, cursor)
    return this.page(cursor, 0, version)
  }

  /** The page a locator (`01g...-2000`) points at. */
  more(locator: string, userId: string, version: string): QueryPage {
    this.expire()
    const m = /^([A-Za-z0-9]{15,18})-(\d+)$/.exec(locator)
    const cursor = m === null ? undefined : this.open.get(to18(m[1] ?? "") ?? "")
    if (m === null || cursor === undefined || cursor.userId !== userId) throw invalidLocator()
    const offset = Number(m[2])
    if (offset >= cursor.rows.records.length) throw invalidLocator()
    cursor.touchedAt = this.org.clock.now()
    return this.page(cursor, offset, version)
  }

  /** Closes every cursor. */
  clear(): void {
    this.open.clear()
  }

  private page(cursor: Cursor, offset: number, version: string): QueryPage {
    const end = offset + cursor.batchSize
    const records = cursor.rows.records.slice(offset, end)
    if (end >= cursor.rows.records.length) {
      this.open.delete(cursor.id)
      return { totalSize: cursor.rows.totalSize, done: true, records }
    }
    return {
      totalSize: cursor.rows.totalSize,
      done: false,
      nextRecordsUrl: `/services/data/v${version}/query/${cursor.id}-${end}`,
      records
    }
  }

  private expire(): void {
    const now = this.org.clock.now()
    for (const c of [...this.open.values()]) if (now - c.touchedAt > cursorTtlMs) this.open.delete(c.id)
  }
}
