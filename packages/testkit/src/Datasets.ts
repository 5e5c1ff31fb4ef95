/**
 * Loaders for the labelled record-linkage sets kept outside the repo (the `shared/datasets` folder,
 * one sub-folder per set, each with a README saying how its truth is encoded).
 *
 * The data is never copied into the repo: callers pass the folder, usually from {@link datasetsDir}.
 */
import { statSync } from "node:fs"
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { SourceRecord } from "@living-profile/core"
import { parse } from "csv-parse/sync"

/** An attribute value of the interchange record. */
export type AttributeValue = string | number | boolean | null

/** The interchange record as plain data; assignable to core's `SourceRecord`. */
export interface InterchangeRecord {
  readonly source: string
  readonly id: string
  readonly updatedAt?: string
  readonly identifiers?: Readonly<Record<string, ReadonlyArray<string>>>
  readonly attributes?: Readonly<Record<string, AttributeValue>>
}

/** A set of records with the true entity of each, keyed by core's record key. */
export interface LabelledDataset {
  readonly name: string
  readonly records: ReadonlyArray<InterchangeRecord>
  /** Record key (`SourceRecord.recordKey`) to true entity id. */
  readonly truth: ReadonlyMap<string, string>
  /** Set for linkage tasks: only pairs across these groups are scored (see `pairwise`). */
  readonly crossGroupOnly?: (recordKey: string) => string
}

/** The data sets {@link load} knows. */
export type DatasetName = "febrl3" | "febrl4" | "fake_1000" | "historical_50k"

/** Every name {@link load} accepts. */
export const datasetNames: ReadonlyArray<DatasetName> = ["febrl3", "febrl4", "fake_1000", "historical_50k"]

const isDirectory = (p: string): boolean => {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

/**
 * The datasets folder: `override`, else `$LIVING_PROFILE_DATASETS`, else the first `shared/datasets`
 * found beside cwd or one of its ancestors (the data sits beside the clone, not inside it).
 * `undefined` when none exists.
 */
export const datasetsDir = (override?: string): string | undefined => {
  if (override !== undefined && override !== "") return override
  const fromEnv = process.env["LIVING_PROFILE_DATASETS"]
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  let dir = path.resolve(process.cwd())
  for (;;) {
    const parent = path.dirname(dir)
    const candidate = path.join(parent, "shared", "datasets")
    if (isDirectory(candidate)) return candidate
    if (parent === dir) return undefined
    dir = parent
  }
}

type Row = Readonly<Record<string, string>>

const readCsv = async (file: string, columns: ReadonlyArray<string>): Promise<ReadonlyArray<Row>> => {
  const rows = parse<Row>(await readFile(file), {
    columns: true,
    bom: true,
    // Febrl separates fields with ", "; no set here has meaningful edge whitespace.
    trim: true,
    skip_empty_lines: true
  })
  const first = rows[0]
  const missing = first === undefined ? [] : columns.filter((c) => !(c in first))
  if (missing.length > 0) throw new Error(`${file}: missing column(s) ${missing.join(", ")}`)
  return rows
}

// Empty fields are missing values; the interchange record omits them rather than carry "".
const value = (row: Row, column: string): string | undefined => {
  const v = row[column]
  return v === undefined || v === "" ? undefined : v
}

const required = (row: Row, column: string, file: string): string => {
  const v = value(row, column)
  if (v === undefined) throw new Error(`${file}: empty ${column}`)
  return v
}

const compact = (entries: ReadonlyArray<readonly [string, string | undefined]>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of entries) if (v !== undefined) out[k] = v
  return out
}

/**
 * `YYYY-MM-DD` when `raw` (YYYYMMDD or YYYY-MM-DD) is a real calendar date; otherwise `raw` as given,
 * because a corrupted date (month 13) is still evidence a matcher may compare.
 */
export const isoDate = (raw: string): string => {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(raw) ?? /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw)
  if (m === null) return raw
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const date = new Date(0)
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 onto 1900-1999.
  date.setUTCFullYear(y, mo - 1, d)
  const valid = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d
  return valid ? `${m[1]}-${m[2]}-${m[3]}` : raw
}

const record = (
  source: string,
  id: string,
  attributes: Record<string, string>,
  identifiers: Record<string, string> = {}
): InterchangeRecord => {
  const ids = Object.entries(identifiers)
  return {
    source,
    id,
    ...(ids.length > 0 ? { identifiers: Object.fromEntries(ids.map(([k, v]) => [k, [v]])) } : {}),
    ...(Object.keys(attributes).length > 0 ? { attributes } : {})
  }
}

const assemble = (
  name: string,
  file: string,
  labelled: ReadonlyArray<readonly [InterchangeRecord, string]>,
  crossGroupOnly?: (recordKey: string) => string
): LabelledDataset => {
  const truth = new Map<string, string>()
  for (const [r, entity] of labelled) {
    const key = SourceRecord.recordKey(r)
    // A repeated key would silently merge two rows in the truth map.
    if (truth.has(key)) throw new Error(`${file}: duplicate record ${r.source}/${r.id}`)
    truth.set(key, entity)
  }
  return {
    name,
    records: labelled.map(([r]) => r),
    truth,
    ...(crossGroupOnly !== undefined ? { crossGroupOnly } : {})
  }
}

const febrlColumns = [
  "rec_id",
  "given_name",
  "surname",
  "street_number",
  "address_1",
  "address_2",
  "suburb",
  "postcode",
  "state",
  "date_of_birth",
  "soc_sec_id"
] as const

const readFebrl = async (
  file: string,
  source: string
): Promise<Array<readonly [InterchangeRecord, string]>> =>
  (await readCsv(file, febrlColumns)).map((row) => {
    const id = required(row, "rec_id", file)
    const entity = /^rec-(\d+)-/.exec(id)?.[1]
    if (entity === undefined) throw new Error(`${file}: rec_id ${id} is not rec-<N>-org or rec-<N>-dup-<k>`)
    const street = [value(row, "street_number"), value(row, "address_1")].filter((s) => s !== undefined)
    const dob = value(row, "date_of_birth")
    const attributes = compact([
      ["firstName", value(row, "given_name")],
      ["lastName", value(row, "surname")],
      ["birthDate", dob === undefined ? undefined : isoDate(dob)],
      ["street", street.length > 0 ? street.join(" ") : undefined],
      ["address2", value(row, "address_2")],
      ["city", value(row, "suburb")],
      ["postcode", value(row, "postcode")],
      ["state", value(row, "state")],
      ["socSecId", value(row, "soc_sec_id")]
    ])
    return [record(source, id, attributes), entity] as const
  })

/** Febrl dataset3 (dedup): 5,000 records, 2,000 entities, 6,538 true pairs; source `febrl3`. */
export const loadFebrl3 = async (dir: string): Promise<LabelledDataset> => {
  const file = path.join(dir, "febrl", "dataset3.csv")
  return assemble("febrl3", file, await readFebrl(file, "febrl3"))
}

/** Febrl dataset4a (source `A`) + dataset4b (source `B`), scored on A-B pairs only: 5,000 true links. */
export const loadFebrl4 = async (dir: string): Promise<LabelledDataset> => {
  const a = path.join(dir, "febrl", "dataset4a.csv")
  const b = path.join(dir, "febrl", "dataset4b.csv")
  const [rowsA, rowsB] = await Promise.all([readFebrl(a, "A"), readFebrl(b, "B")])
  return assemble(
    "febrl4",
    `${a} + ${b}`,
    [...rowsA, ...rowsB],
    (key) => SourceRecord.parseRecordKey(key).source
  )
}

/** Splink fake_1000 (`fake_1000.csv`): 1,000 records, 251 clusters, 2,031 true pairs; source `fake_1000`. */
export const loadFakeSplink1000 = async (dir: string): Promise<LabelledDataset> => {
  const file = path.join(dir, "splink_fake_1000", "fake_1000.csv")
  const rows = await readCsv(file, ["unique_id", "first_name", "surname", "dob", "city", "email", "cluster"])
  return assemble(
    "fake_1000",
    file,
    rows.map((row) => {
      const dob = value(row, "dob")
      const attributes = compact([
        ["firstName", value(row, "first_name")],
        ["lastName", value(row, "surname")],
        ["birthDate", dob === undefined ? undefined : isoDate(dob)],
        ["city", value(row, "city")]
      ])
      const identifiers = compact([["email", value(row, "email")]])
      const r = record("fake_1000", required(row, "unique_id", file), attributes, identifiers)
      return [r, required(row, "cluster", file)] as const
    })
  )
}

/**
 * Splink historical_50k: 50,578 records, 5,156 clusters, 303,961 true pairs; source `historical_50k`.
 * `first_and_surname` is left out: it is always `first_name surname` and would double-count names.
 */
export const loadHistorical50k = async (dir: string): Promise<LabelledDataset> => {
  const file = path.join(dir, "splink_historical_50k", "historical_figures_with_errors_50k.csv")
  const rows = await readCsv(file, [
    "unique_id",
    "cluster",
    "full_name",
    "first_name",
    "surname",
    "dob",
    "birth_place",
    "postcode_fake",
    "gender",
    "occupation"
  ])
  return assemble(
    "historical_50k",
    file,
    rows.map((row) => {
      const dob = value(row, "dob")
      const attributes = compact([
        ["fullName", value(row, "full_name")],
        ["firstName", value(row, "first_name")],
        ["lastName", value(row, "surname")],
        ["birthDate", dob === undefined ? undefined : isoDate(dob)],
        ["birthPlace", value(row, "birth_place")],
        ["postcode", value(row, "postcode_fake")],
        ["gender", value(row, "gender")],
        ["occupation", value(row, "occupation")]
      ])
      const r = record("historical_50k", required(row, "unique_id", file), attributes)
      return [r, required(row, "cluster", file)] as const
    })
  )
}

/** Loads a data set by name from the datasets folder `dir`. */
export const load = (name: DatasetName, dir: string): Promise<LabelledDataset> => {
  switch (name) {
    case "febrl3":
      return loadFebrl3(dir)
    case "febrl4":
      return loadFebrl4(dir)
    case "fake_1000":
      return loadFakeSplink1000(dir)
    case "historical_50k":
      return loadHistorical50k(dir)
  }
}
