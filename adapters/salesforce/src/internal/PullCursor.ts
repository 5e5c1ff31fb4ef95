/**
 * The pull cursor: for each object read incrementally, where its `ORDER BY SystemModstamp, Id`
 * stream stands, and for each getDeleted feed, the end of the window covered. Self-contained
 * (valid across restarts and replays) and opaque: `sf1.` + base64url JSON.
 *
 * SystemModstamp has whole seconds, so a second can hold many rows and can still gain rows after
 * a pull has read part of it (writes during the pull). A position therefore remembers the rows it
 * delivered at its last second by a fingerprint of their content (`seen`): the next query starts
 * at that second (`>=`), skips rows whose content it delivered already, and so delivers a row
 * changed again within the same second instead of losing it. When more than `SEEN_LIMIT` rows
 * share a second (bulk loads) the position keeps the last Id instead (`id`: `> (second, Id)`),
 * which cannot grow without bound; that is only reached far behind the live edge.
 */
import { createHash } from "node:crypto"
import { Either, Schema } from "effect"
import { idOf, millis, type Row } from "../mappers/wire.js"

/** Epoch milliseconds a Date can hold (a cursor comes back from outside and may have been altered). */
const Millis = Schema.Number.pipe(Schema.finite(), Schema.between(0, 8.64e15))

/** Where one stream stands. */
export const Position = Schema.Struct({
  /** SystemModstamp (epoch ms) of the last row delivered. */
  t: Millis,
  /** Rows at `t` up to this Id were delivered (id mode). */
  id: Schema.optional(Schema.String.pipe(Schema.pattern(/^[a-zA-Z0-9]{15,18}$/))),
  /** Fingerprints of the rows delivered at `t`, by Id (seen mode). */
  seen: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})
/** Where one stream stands. */
export type Position = typeof Position.Type

const Payload = Schema.Struct({
  /** `target` or `source`: a cursor of one does not resume the other. */
  k: Schema.Literal("target", "source"),
  /** Stream key to position; a stream not present starts from the beginning. */
  s: Schema.Record({ key: Schema.String, value: Position }),
  /** Object to the end of the getDeleted window covered (epoch ms). */
  d: Schema.Record({ key: Schema.String, value: Millis })
})

/** A decoded cursor. */
export interface Cursor {
  readonly kind: "target" | "source"
  readonly streams: Readonly<Record<string, Position>>
  readonly deleted: Readonly<Record<string, number>>
}

/** The cursor of a pull from the beginning. */
export const start = (kind: Cursor["kind"]): Cursor => ({ kind, streams: {}, deleted: {} })

const PREFIX = "sf1."

/** The opaque string of a cursor. */
export const encode = (cursor: Cursor): string =>
  PREFIX +
  Buffer.from(JSON.stringify({ k: cursor.kind, s: cursor.streams, d: cursor.deleted }), "utf8").toString(
    "base64url"
  )

const decodePayload = Schema.decodeUnknownEither(Payload)

/** A cursor from its string; Left when this adapter did not issue it. */
export const decode = (text: string, kind: Cursor["kind"]): Either.Either<Cursor, string> => {
  if (!text.startsWith(PREFIX)) return Either.left("the cursor was not issued by this adapter")
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(text.slice(PREFIX.length), "base64url").toString("utf8"))
  } catch {
    return Either.left("the cursor is not readable")
  }
  return Either.flatMap(
    Either.mapLeft(decodePayload(json), () => "the cursor is not readable"),
    (p) =>
      p.k === kind
        ? Either.right({ kind: p.k, streams: p.s, deleted: p.d })
        : Either.left(`the cursor was issued by the ${p.k === "target" ? "consent target" : "record source"}`)
  )
}

/** Most rows a position remembers at one second before it keeps the last Id instead. */
export const SEEN_LIMIT = 100

/** A short fingerprint of a row's content (without `attributes`, which carries only its URL). */
export const fingerprint = (row: Row): string => {
  const { attributes: _attributes, ...fields } = row
  return createHash("sha256").update(JSON.stringify(fields), "utf8").digest("base64url").slice(0, 12)
}

/** Whether a row was delivered at the position already, unchanged. */
export const delivered = (position: Position | undefined, row: Row): boolean => {
  if (position?.seen === undefined) return false
  const id = idOf(row)
  return (
    id !== undefined && millis(row, "SystemModstamp") === position.t && position.seen[id] === fingerprint(row)
  )
}

/** The position after delivering `rows` (in stream order) from `from`. */
export const advance = (from: Position | undefined, rows: ReadonlyArray<Row>): Position | undefined => {
  const last = rows[rows.length - 1]
  if (last === undefined) return from
  const t = millis(last, "SystemModstamp")
  const lastId = idOf(last) ?? ""
  if (from !== undefined && from.t === t && from.id !== undefined) return { t, id: lastId }
  const seen: Record<string, string> =
    from !== undefined && from.t === t && from.seen !== undefined ? { ...from.seen } : {}
  for (const row of rows) {
    const id = idOf(row)
    if (id !== undefined && millis(row, "SystemModstamp") === t) seen[id] = fingerprint(row)
  }
  return Object.keys(seen).length > SEEN_LIMIT ? { t, id: lastId } : { t, seen }
}
