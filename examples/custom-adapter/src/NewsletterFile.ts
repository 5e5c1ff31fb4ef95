/**
 * The transport: the newsletter tool keeps everything in one JSON file. This module owns the
 * file's wire shape (a Schema, so a damaged file is a located error rather than a crash), reads it,
 * writes it atomically and maps file-system failures onto AdapterError reasons. It knows nothing
 * about consent: that is Mappers.ts.
 *
 * The file:
 *
 * ```json
 * { "format": "tinyletter/1", "seq": 7, "nextId": 3,
 *   "subscribers": [{ "id": "s1", "email": "ayse@example.com", "mergeFields": { "firstName": "Ayşe" },
 *                     "seq": 1, "updatedAt": "2025-05-01T10:00:00.000Z",
 *                     "lists": { "weekly": { "status": "subscribed", "changedAt": "...", "seq": 4 } } }],
 *   "tombstones": [{ "id": "s2", "deletedAt": "...", "seq": 7 }] }
 * ```
 *
 * `seq` counts every change in the file: each subscription, subscriber and tombstone carries the
 * `seq` of its last change, which is what makes a cursor possible.
 */
import { randomUUID } from "node:crypto"
import { readFile, rename, rm, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { AdapterError } from "@living-profile/core"
import { Effect, Either, Schema } from "effect"

/** A subscription to one list. */
export const Subscription = Schema.Struct({
  status: Schema.Literal("subscribed", "unsubscribed"),
  changedAt: Schema.String,
  seq: Schema.Number,
  /** The version of the consent text the subscriber saw. */
  consentVersion: Schema.optionalWith(Schema.String, { exact: true })
})
/** A subscription to one list. */
export type Subscription = typeof Subscription.Type

/** A subscriber. */
export const Subscriber = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  mergeFields: Schema.Record({ key: Schema.String, value: Schema.String }),
  seq: Schema.Number,
  updatedAt: Schema.String,
  lists: Schema.Record({ key: Schema.String, value: Subscription }),
  /** Set while an editor in the tool works on the subscriber: writes to them are refused. */
  locked: Schema.optionalWith(Schema.Boolean, { exact: true })
})
/** A subscriber. */
export type Subscriber = typeof Subscriber.Type

/** What is left of an erased subscriber: the id, so that pulls can report the deletion. */
export const Tombstone = Schema.Struct({ id: Schema.String, deletedAt: Schema.String, seq: Schema.Number })
/** What is left of an erased subscriber. */
export type Tombstone = typeof Tombstone.Type

/** The whole file. */
export const NewsletterData = Schema.Struct({
  format: Schema.Literal("tinyletter/1"),
  seq: Schema.Number,
  nextId: Schema.Number,
  subscribers: Schema.Array(Subscriber),
  tombstones: Schema.Array(Tombstone)
})
/** The whole file. */
export type NewsletterData = typeof NewsletterData.Type

/** An empty file. */
export const empty: NewsletterData = {
  format: "tinyletter/1",
  seq: 0,
  nextId: 1,
  subscribers: [],
  tombstones: []
}

const TRANSIENT = new Set(["EBUSY", "EAGAIN", "EMFILE", "ENFILE", "ETIMEDOUT", "EIO", "ENOSPC", "EINTR"])

/**
 * The AdapterError of a file-system failure: missing file NotFound, no permission Unauthorized,
 * busy / out of handles / I/O / disk full Transport (they pass), a read-only file system Invalid,
 * anything else Unknown. Only the error code is kept: Node's messages contain the path.
 */
export const fromFsError = (
  target: string,
  operation: AdapterError.Operation,
  error: unknown
): AdapterError.AdapterError => {
  const code =
    typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
      ? (error as { code: string }).code
      : undefined
  const extra = { operation, code }
  if (code === "ENOENT") return AdapterError.notFound(target, "the subscriber file does not exist", extra)
  if (code === "EACCES" || code === "EPERM")
    return AdapterError.unauthorized(target, "no permission to read or write the subscriber file", extra)
  if (code !== undefined && TRANSIENT.has(code))
    return AdapterError.transport(target, "the subscriber file is busy or unavailable", extra)
  if (code === "EROFS")
    return AdapterError.invalid(target, "the subscriber file is on a read-only file system", extra)
  if (code !== undefined) return AdapterError.unknown(target, "the subscriber file could not be used", extra)
  return AdapterError.fromUnknown(target, operation, error)
}

const decode = Schema.decodeUnknownEither(NewsletterData, { errors: "first" })

/** Reads and checks the file. A damaged file is Unknown (a person must look at it), naming no value. */
export const load = (
  target: string,
  path: string,
  operation: AdapterError.Operation
): Effect.Effect<NewsletterData, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (e) => fromFsError(target, operation, e)
    })
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: () =>
        AdapterError.unknown(target, "the subscriber file is not JSON", { operation, code: "CORRUPT" })
    })
    const data = decode(json)
    if (Either.isLeft(data)) {
      return yield* Effect.fail(
        AdapterError.unknown(target, "the subscriber file is not a tinyletter/1 file", {
          operation,
          code: "CORRUPT"
        })
      )
    }
    return data.right
  })

/**
 * Replaces the file atomically: the new content goes to a temporary file beside it, which is then
 * renamed over it, so a crash leaves the old file or the new one, never half of one.
 */
export const save = (
  target: string,
  path: string,
  data: NewsletterData,
  operation: AdapterError.Operation
): Effect.Effect<void, AdapterError.AdapterError> => {
  const temp = join(dirname(path), `.${randomUUID()}.tmp`)
  return Effect.tryPromise({
    try: async () => {
      try {
        await writeFile(temp, `${JSON.stringify(data, null, 2)}\n`, { encoding: "utf8", flush: true })
        await rename(temp, path)
      } catch (e) {
        await rm(temp, { force: true })
        throw e
      }
    },
    catch: (e) => fromFsError(target, operation, e)
  })
}
