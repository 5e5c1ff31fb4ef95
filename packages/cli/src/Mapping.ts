/**
 * The CSV mapping: which columns of a CSV export become the interchange record's source, id,
 * updatedAt, deleted flag, identifiers and attributes. Without a mapping file the column names
 * are read as the record's own field names.
 */
import { Either, ParseResult, Schema } from "effect"
import { readJsonFile } from "./Config.js"
import { ConfigInvalid } from "./ExitCode.js"

const Column = Schema.String.pipe(Schema.minLength(1, { message: () => "must be a non-empty column name" }))

/** Schema of a mapping file (`--mapping map.json`). */
export const CsvMapping = Schema.Struct({
  /** Column holding the source system's name. */
  source: Schema.optionalWith(Column, { exact: true }),
  /** One source name for every row, when the export has no source column. */
  sourceValue: Schema.optionalWith(
    Schema.String.pipe(Schema.minLength(1, { message: () => "must be a non-empty source name" })),
    { exact: true }
  ),
  /** Column holding the record's id in its source. */
  id: Column,
  /** Column holding the ISO-8601 time of the record's last change. */
  updatedAt: Schema.optionalWith(Column, { exact: true }),
  /** Column holding a deletion flag (true/false, 1/0, yes/no). */
  deleted: Schema.optionalWith(Column, { exact: true }),
  /** Identifier type to the columns that hold values of it. */
  identifiers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Array(Column) }), {
    exact: true
  }),
  /** Attribute name to its column; when given, the only columns read as attributes. */
  attributes: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Column }), { exact: true })
})

/** A decoded mapping. */
export interface CsvMapping extends Schema.Schema.Type<typeof CsvMapping> {}

const decodeEither = Schema.decodeUnknownEither(CsvMapping, { onExcessProperty: "error", errors: "all" })

const formatIssues = (e: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(e)
    .map((i) => `${i.path.length === 0 ? "(root)" : i.path.join(".")}: ${i.message}`)
    .join("; ")

/** Decodes a mapping value; errors name the field (`file` is only used in the message). */
export const decode = (input: unknown, file: string): Either.Either<CsvMapping, ConfigInvalid> => {
  const r = decodeEither(input)
  if (Either.isLeft(r)) return Either.left(new ConfigInvalid({ file, detail: formatIssues(r.left) }))
  const m = r.right
  if (m.source !== undefined && m.sourceValue !== undefined) {
    return Either.left(
      new ConfigInvalid({ file, detail: "source: give either source (a column) or sourceValue, not both" })
    )
  }
  return Either.right(m)
}

/** Reads and decodes a mapping file. */
export const load = async (path: string): Promise<CsvMapping> => {
  const r = decode(await readJsonFile(path), path)
  if (Either.isLeft(r)) throw r.left
  return r.right
}

/** How the cells of a row become an interchange record object (still to be decoded). */
export interface RowPlan {
  /** Builds the record object of one row; empty cells are left out. */
  readonly build: (cells: ReadonlyArray<string>) => Record<string, unknown>
}

/** Why a header cannot be read with a mapping. */
export type PlanProblem =
  | { readonly _tag: "Header"; readonly field: string; readonly problem: string }
  | { readonly _tag: "Mapping"; readonly detail: string }

const IDENTIFIER_COLUMN = /^id:(.+)$/

const TRUE = new Set(["true", "1", "yes", "y"])
const FALSE = new Set(["false", "0", "no", "n"])

/** A deletion flag cell; anything unrecognised is passed on so that decoding names the field. */
const flag = (cell: string): boolean | string => {
  const v = cell.trim().toLowerCase()
  return TRUE.has(v) ? true : FALSE.has(v) ? false : cell
}

/**
 * Plans the reading of rows under a header. Without a mapping the columns `source`, `id`,
 * `updatedAt` and `deleted` are the record's fields, `email`, `phone` and `id:<type>` columns are
 * identifiers, and every other column is an attribute of the same name.
 */
export const plan = (
  header: ReadonlyArray<string>,
  mapping: CsvMapping | undefined
): Either.Either<RowPlan, PlanProblem> => {
  const index = new Map<string, number>()
  for (let i = 0; i < header.length; i++) {
    const name = header[i]!
    if (name === "") continue
    if (index.has(name))
      return Either.left({ _tag: "Header", field: name, problem: "is a duplicate column name" })
    index.set(name, i)
  }
  const claimed = new Set<string>()
  const missing: Array<string> = []
  const column = (
    field: string,
    name: string | undefined,
    fallback: string | undefined,
    required: boolean
  ) => {
    const c = name ?? fallback
    if (c === undefined) return undefined
    const i = index.get(c)
    if (i === undefined) {
      if (name !== undefined) missing.push(`${field}: column "${c}" is not in the CSV header`)
      else if (required) return null
      return undefined
    }
    claimed.add(c)
    return i
  }

  const sourceColumn =
    mapping?.sourceValue === undefined ? column("source", mapping?.source, "source", true) : undefined
  const idColumn = column("id", mapping?.id, "id", true)
  const updatedAtColumn = column("updatedAt", mapping?.updatedAt, "updatedAt", false)
  const deletedColumn = column("deleted", mapping?.deleted, "deleted", false)

  const identifiers: Array<{ readonly type: string; readonly column: number }> = []
  for (const [type, columns] of Object.entries(mapping?.identifiers ?? {})) {
    columns.forEach((c, n) => {
      const i = column(`identifiers.${type}.${n}`, c, undefined, false)
      if (i !== undefined && i !== null) identifiers.push({ type, column: i })
    })
  }
  const attributes: Array<{ readonly name: string; readonly column: number }> = []
  if (mapping?.attributes !== undefined) {
    for (const [name, c] of Object.entries(mapping.attributes)) {
      const i = column(`attributes.${name}`, c, undefined, false)
      if (i !== undefined && i !== null) attributes.push({ name, column: i })
    }
  }
  if (missing.length > 0) return Either.left({ _tag: "Mapping", detail: missing.join("; ") })
  if (sourceColumn === null) {
    return Either.left({
      _tag: "Header",
      field: "source",
      problem: "is not a column (name the source column or give sourceValue in a --mapping file)"
    })
  }
  if (idColumn === null || idColumn === undefined) {
    return Either.left({
      _tag: "Header",
      field: "id",
      problem: "is not a column (name the id column in a --mapping file)"
    })
  }

  for (const [name, i] of index) {
    if (claimed.has(name)) continue
    const m = IDENTIFIER_COLUMN.exec(name)
    if (name === "email" || name === "phone") identifiers.push({ type: name, column: i })
    else if (m !== null) identifiers.push({ type: m[1]!, column: i })
    else if (mapping?.attributes === undefined) attributes.push({ name, column: i })
  }

  const sourceValue = mapping?.sourceValue
  return Either.right({
    build: (cells) => {
      const out: Record<string, unknown> = {}
      if (sourceValue !== undefined) out["source"] = sourceValue
      else if (sourceColumn !== undefined) setCell(out, "source", cells[sourceColumn])
      setCell(out, "id", cells[idColumn])
      if (updatedAtColumn !== undefined && updatedAtColumn !== null)
        setCell(out, "updatedAt", cells[updatedAtColumn])
      if (deletedColumn !== undefined && deletedColumn !== null) {
        const cell = cells[deletedColumn]
        if (cell !== undefined && cell.trim() !== "") out["deleted"] = flag(cell)
      }
      let ids: Record<string, Array<string>> | undefined
      for (const { type, column: c } of identifiers) {
        const cell = cells[c]
        if (cell === undefined || cell.trim() === "") continue
        ids ??= {}
        const list = ids[type]
        if (list === undefined) ids[type] = [cell]
        else list.push(cell)
      }
      if (ids !== undefined) out["identifiers"] = ids
      let attrs: Record<string, string> | undefined
      for (const { name, column: c } of attributes) {
        const cell = cells[c]
        if (cell === undefined || cell.trim() === "") continue
        attrs ??= {}
        attrs[name] = cell
      }
      if (attrs !== undefined) out["attributes"] = attrs
      return out
    }
  })
}

const setCell = (out: Record<string, unknown>, field: string, cell: string | undefined): void => {
  if (cell !== undefined && cell.trim() !== "") out[field] = cell
}
