/**
 * Pull cursors: a position in HubSpot's contacts ordered by (`lastmodifieddate`, record id).
 * Everything at or before the position has been delivered. The string form is opaque to the
 * engine (`hs1.` and base64url JSON of `{ t, id }`) and carries no personal data; it needs no state
 * in the adapter, so it survives restarts and can be resumed any number of times.
 */

/** Delivered: every contact whose (lastmodifieddate, id) is at or before (t, id); id 0 means none at t. */
export interface Position {
  /** A `lastmodifieddate`, epoch millis; 0 before anything. */
  readonly t: number
  /** A record id at `t`; 0 before the first contact of `t`. */
  readonly id: number
}

/** Where a pull without a cursor starts. */
export const start: Position = { t: 0, id: 0 }

const PREFIX = "hs1."

/** The cursor string of a position. */
export const encode = (p: Position): string =>
  PREFIX + Buffer.from(JSON.stringify({ t: p.t, id: p.id }), "utf8").toString("base64url")

const wholeNonNegative = (u: unknown): u is number =>
  typeof u === "number" && Number.isSafeInteger(u) && u >= 0

/** The position of a cursor string this module issued; undefined for anything else. */
export const decode = (cursor: string): Position | undefined => {
  if (!cursor.startsWith(PREFIX)) return undefined
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor.slice(PREFIX.length), "base64url").toString("utf8"))
    if (typeof parsed !== "object" || parsed === null) return undefined
    const { t, id } = parsed as { t?: unknown; id?: unknown }
    return wholeNonNegative(t) && wholeNonNegative(id) ? { t, id } : undefined
  } catch {
    return undefined
  }
}
