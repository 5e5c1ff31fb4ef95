/**
 * Streaming readers of the two input formats. Each yields one item per record, in file order:
 * the decoded record, or the located error of a record that does not decode together with its
 * original text (for the rejects file only). A file is read as a stream, never whole.
 */
import { createReadStream, type ReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import { createInterface } from "node:readline"
import { pipeline } from "node:stream"
import { ConsentEvent, SourceRecord } from "@living-profile/core"
import { parse, type CsvError } from "csv-parse"
import { Either } from "effect"
import { ConfigInvalid, errnoCode, InputError, IoError } from "./ExitCode.js"
import * as Mapping from "./Mapping.js"

/** A record read from the input. */
export interface Good {
  readonly _tag: "Good"
  readonly line: number
  readonly record: SourceRecord.SourceRecord
}

/** A record that could not be read: where, why, and its original text. */
export interface Bad {
  readonly _tag: "Bad"
  readonly line: number
  readonly error: SourceRecord.RecordDecodeError
  /** The original text of the line (or CSV record); personal data, so it only goes to the rejects file. */
  readonly raw: string
}

/** One input item. */
export type Item = Good | Bad

/** The input formats. */
export type Format = "ndjson" | "csv"

/** The format of a file, by its extension (`.csv` is CSV, anything else NDJSON). */
export const formatOf = (path: string): Format => (/\.csv$/i.test(path) ? "csv" : "ndjson")

/** Fails early, with the I/O exit code, when the input cannot be opened as a file. */
const openInput = async (path: string): Promise<ReadStream> => {
  await check(path)
  const stream = createReadStream(path)
  await new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve())
    stream.once("error", (e) => reject(new IoError({ path, action: "read", code: errnoCode(e) })))
  })
  return stream
}

/** A system error while reading becomes an I/O error; anything else (a typed failure, a bug) passes unchanged. */
const readFailure = (path: string) => (e: unknown) => {
  const code = errnoCode(e)
  return code !== undefined && /^E[A-Z]+$/.test(code) ? new IoError({ path, action: "read", code }) : e
}

/** Reads an NDJSON file: each non-empty line is one interchange record. */
export async function* ndjson(path: string): AsyncGenerator<Item> {
  const input = await openInput(path)
  input.setEncoding("utf8")
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
  let line = 0
  try {
    for await (const text of lines) {
      line++
      const t = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
      if (t.trim() === "") continue
      const r = Either.flatMap(SourceRecord.decodeLine(t, { file: path, line }), (rec) =>
        ConsentEvent.checkRecord(rec, { file: path, line })
      )
      yield Either.isRight(r)
        ? { _tag: "Good", line, record: r.right }
        : { _tag: "Bad", line, error: r.left, raw: t }
    }
  } catch (e) {
    throw readFailure(path)(e)
  } finally {
    lines.close()
    input.destroy()
  }
}

/** Problems csv-parse reports, in words that never quote the data (its own messages can). */
const csvProblems: Record<string, string> = {
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: "has a different number of fields than the header",
  CSV_RECORD_INCONSISTENT_COLUMNS: "has a different number of fields than the header",
  CSV_QUOTE_NOT_CLOSED: "has a quote that is never closed",
  CSV_INVALID_CLOSING_QUOTE: "has a closing quote followed by other characters",
  INVALID_OPENING_QUOTE: "has a quote inside an unquoted field",
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: "has characters after a closing quote",
  CSV_MAX_RECORD_SIZE: "is too large"
}

interface Skipped {
  readonly line: number
  readonly error: SourceRecord.RecordDecodeError
  readonly raw: string
}

const stripNewline = (raw: string): string => raw.replace(/\r?\n$/, "")

/** Line where a record starts, from the line where it ends and its own line breaks. */
const startLine = (endLine: number, raw: string): number => {
  let breaks = 0
  const body = stripNewline(raw)
  for (let i = 0; i < body.length; i++) if (body.charCodeAt(i) === 10) breaks++
  return endLine - breaks
}

/**
 * Reads a CSV file with a header row; `mapping` says which columns are which (see Mapping).
 * A row that is not valid CSV or does not decode is a Bad item, located like NDJSON lines.
 */
export async function* csv(
  path: string,
  mapping: Mapping.CsvMapping | undefined,
  mappingFile = "mapping"
): AsyncGenerator<Item> {
  const input = await openInput(path)
  const skipped: Array<Skipped> = []
  const parser = parse({
    bom: true,
    raw: true,
    info: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err: CsvError | undefined, raw: string | undefined) => {
      const line = typeof err?.["lines"] === "number" ? err["lines"] : 0
      const problem = (err !== undefined && csvProblems[err.code]) || "is not valid CSV"
      skipped.push({
        line,
        error: new SourceRecord.RecordDecodeError({ file: path, line, field: "(row)", problem }),
        raw: stripNewline(raw ?? "")
      })
      return undefined
    }
  })
  // pipeline, unlike pipe, passes a read error of the file on to the parser's iterator.
  pipeline(input, parser, () => {})
  let rowPlan: Mapping.RowPlan | undefined
  try {
    for await (const chunk of parser as AsyncIterable<unknown>) {
      const { record, raw, endLine } = parsedRow(chunk)
      const line = startLine(endLine, raw)
      if (rowPlan === undefined) {
        // Rows are parsed ahead of this loop, so a skip may already be queued for a later row.
        const first = skipped[0]
        if (first !== undefined && first.line < line)
          throw new InputError({ error: first.error, rejectable: false })
        const p = Mapping.plan(
          record.map((h) => h.trim()),
          mapping
        )
        if (Either.isLeft(p)) {
          const problem = p.left
          if (problem._tag === "Mapping")
            throw new ConfigInvalid({ file: mappingFile, detail: problem.detail })
          throw new InputError({
            error: new SourceRecord.RecordDecodeError({
              file: path,
              line,
              field: problem.field,
              problem: `(header) ${problem.problem}`
            }),
            rejectable: false
          })
        }
        rowPlan = p.right
        continue
      }
      while (skipped.length > 0 && skipped[0]!.line < line) yield bad(skipped.shift()!)
      const r = Either.flatMap(SourceRecord.decode(rowPlan.build(record), { file: path, line }), (rec) =>
        ConsentEvent.checkRecord(rec, { file: path, line })
      )
      yield Either.isRight(r)
        ? { _tag: "Good", line, record: r.right }
        : { _tag: "Bad", line, error: r.left, raw: stripNewline(raw) }
    }
    if (rowPlan === undefined && skipped.length > 0)
      throw new InputError({ error: skipped[0]!.error, rejectable: false })
    while (skipped.length > 0) yield bad(skipped.shift()!)
  } catch (e) {
    throw readFailure(path)(e)
  } finally {
    parser.destroy()
    input.destroy()
  }
}

const bad = (s: Skipped): Bad => ({ _tag: "Bad", line: s.line, error: s.error, raw: s.raw })

/** The parts of a csv-parse output chunk under the `raw` and `info` options. */
const parsedRow = (chunk: unknown): { record: Array<string>; raw: string; endLine: number } => {
  const c = chunk as { record: Array<string>; raw: string; info: { lines: number } }
  return { record: c.record, raw: c.raw, endLine: c.info.lines }
}

/** Checks that the input exists and is not a directory (exit code 3 otherwise), before any output is opened. */
export const check = async (path: string): Promise<void> => {
  try {
    const s = await stat(path)
    if (s.isDirectory()) throw Object.assign(new Error("directory"), { code: "EISDIR" })
  } catch (e) {
    throw new IoError({ path, action: "read", code: errnoCode(e) })
  }
}
