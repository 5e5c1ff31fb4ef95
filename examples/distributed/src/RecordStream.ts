/**
 * The input of the workers: one Redis Stream of records, one entry per record (field `r`, the
 * record as JSON), read through one consumer group.
 *
 * A worker acknowledges (`XACK`) a batch only after the store write holding it has returned, so
 * the entries of a worker that dies stay pending in the group, and another worker claims them
 * (`XAUTOCLAIM`) once they have been idle for `minIdleMs`. Delivery is therefore at least once;
 * that is safe because the store's write is idempotent: a record written again with the same
 * content is `unchanged`, and an older version is `stale`.
 */
import { SourceRecord } from "@living-profile/core"
import { Either } from "effect"
import type { Redis } from "ioredis"

/** The keys of one stream and its group. */
export interface StreamKeys {
  readonly stream: string
  readonly group: string
}

/** The stream under `prefix` and the group the workers share. */
export const keysOf = (prefix: string): StreamKeys => ({ stream: `${prefix}records`, group: "resolvers" })

/** Creates the stream with its group, delivering from the first entry. */
export const createGroup = async (redis: Redis, keys: StreamKeys): Promise<void> => {
  await redis.xgroup("CREATE", keys.stream, keys.group, "0", "MKSTREAM")
}

const PRODUCE_CHUNK = 1_000

/** Appends the records in order, one entry each; returns the id of the last entry. */
export const produce = async (
  redis: Redis,
  keys: StreamKeys,
  records: ReadonlyArray<SourceRecord.SourceRecord>
): Promise<string> => {
  let last = "0-0"
  for (let i = 0; i < records.length; i += PRODUCE_CHUNK) {
    const p = redis.pipeline()
    for (const r of records.slice(i, i + PRODUCE_CHUNK)) p.xadd(keys.stream, "*", "r", JSON.stringify(r))
    for (const [error, id] of (await p.exec()) ?? []) {
      if (error) throw error
      last = id as string
    }
  }
  return last
}

/** Entries handed to one worker at once. */
export interface Batch {
  /** Every entry id of the batch, to acknowledge once its records are written. */
  readonly ids: ReadonlyArray<string>
  readonly records: ReadonlyArray<SourceRecord.SourceRecord>
  /** Entries that do not hold a record (their errors name the field, never the value). */
  readonly rejected: ReadonlyArray<SourceRecord.RecordDecodeError>
  /** Whether the entries were claimed from another consumer that held them too long. */
  readonly claimed: boolean
}

/** One consumer of the group. */
export interface Consumer {
  /**
   * The next batch: entries other consumers have held longer than `minIdleMs` first, else new
   * entries, waiting up to `blockMs` for them; undefined when there is nothing.
   */
  readonly next: () => Promise<Batch | undefined>
  /** Acknowledges entries; returns how many were still pending (another consumer may have acknowledged a claimed entry first). */
  readonly ack: (ids: ReadonlyArray<string>) => Promise<number>
}

/** Options of a consumer. */
export interface ConsumerOptions {
  /** Entries per batch. */
  readonly count: number
  /** How long an entry stays with a consumer that does not acknowledge it before others may claim it. */
  readonly minIdleMs: number
  /** How long one read waits for new entries. */
  readonly blockMs: number
}

type Entry = [id: string, fields: Array<string> | null]

const batchOf = (entries: ReadonlyArray<Entry>, claimed: boolean): Batch => {
  const ids: Array<string> = []
  const records: Array<SourceRecord.SourceRecord> = []
  const rejected: Array<SourceRecord.RecordDecodeError> = []
  for (const [id, fields] of entries) {
    ids.push(id)
    // A claimed entry that was deleted from the stream meanwhile comes without fields.
    if (fields === null) continue
    const at = fields.indexOf("r")
    const decoded = SourceRecord.decodeLine(at >= 0 ? (fields[at + 1] ?? "") : "")
    if (Either.isRight(decoded)) records.push(decoded.right)
    else rejected.push(decoded.left)
  }
  return { ids, records, rejected, claimed }
}

/** The consumer `name` of the group, on a connection of its own (a blocking read holds it). */
export const consumer = (
  redis: Redis,
  keys: StreamKeys,
  name: string,
  options: ConsumerOptions
): Consumer => {
  // XAUTOCLAIM scans the pending entries from a cursor; it wraps to 0-0 at the end.
  let cursor = "0-0"
  return {
    next: async () => {
      const [nextCursor, claimed, deleted] = (await redis.xautoclaim(
        keys.stream,
        keys.group,
        name,
        options.minIdleMs,
        cursor,
        "COUNT",
        options.count
      )) as [string, Array<Entry>, Array<string>?]
      cursor = nextCursor
      const gone: Array<Entry> = (deleted ?? []).map((id) => [id, null])
      if (claimed.length + gone.length > 0) return batchOf([...claimed, ...gone], true)
      const reply = (await redis.xreadgroup(
        "GROUP",
        keys.group,
        name,
        "COUNT",
        options.count,
        "BLOCK",
        options.blockMs,
        "STREAMS",
        keys.stream,
        ">"
      )) as Array<[string, Array<Entry>]> | null
      const entries = reply?.[0]?.[1] ?? []
      return entries.length === 0 ? undefined : batchOf(entries, false)
    },
    ack: (ids) => (ids.length === 0 ? Promise.resolve(0) : redis.xack(keys.stream, keys.group, ...ids))
  }
}

/** Where the group stands. */
export interface Progress {
  /** Entries delivered and not yet acknowledged. */
  readonly pending: number
  /** The last entry delivered to any consumer. */
  readonly lastDelivered: string
}

/** The group's progress (`XINFO GROUPS`). */
export const progress = async (redis: Redis, keys: StreamKeys): Promise<Progress> => {
  const groups = (await redis.xinfo("GROUPS", keys.stream)) as Array<Array<string | number>>
  for (const flat of groups) {
    const info = new Map<string, string | number>()
    for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]!)
    if (info.get("name") === keys.group)
      return { pending: Number(info.get("pending")), lastDelivered: String(info.get("last-delivered-id")) }
  }
  throw new Error(`the stream has no group ${keys.group}`)
}

/** Whether every entry through `last` has been delivered and acknowledged. */
export const drained = (p: Progress, last: string): boolean => p.pending === 0 && p.lastDelivered === last
