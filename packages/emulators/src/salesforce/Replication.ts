/**
 * getUpdated / getDeleted over REST: `GET /sobjects/{T}/updated?start=&end=` and
 * `/deleted?start=&end=`. Bounds ignore their seconds; the window covers start <= time <
 * latestDateCovered, where latestDateCovered is the end bound, or the current minute when the end
 * lies in the future, so a poller resumes exactly where the last answer stopped. "Updated" means
 * SystemModstamp in the window and the record still live; "deleted" means the deletion time in
 * the window, for records still in the recycle bin (15 days). Start must be within 30 days.
 */
import { formatDatetime, parseDatetime, truncateToMinute } from "./Dates.js"
import { apiError } from "./Errors.js"
import { purgeRecycleBin, recycleBinMs } from "./Org.js"
import type { ObjectDef } from "./Schema.js"
import type { RestContext } from "./Rest.js"

const thirtyDaysMs = 30 * 24 * 3600 * 1000
const maxIds = 600_000

interface Window {
  readonly start: number
  readonly end: number
}

const bound = (query: URLSearchParams, name: "start" | "end"): number => {
  const raw = query.get(name)
  if (raw === null || raw === "") throw apiError(400, "MISSING_ARGUMENT", `${name} parameter is required`)
  // A literal "+" in an unencoded query string arrives as a space.
  const ms = parseDatetime(raw.replace(" ", "+"))
  if (ms === undefined)
    throw apiError(400, "INVALID_REPLICATION_DATE", `${name} is not a valid dateTime: ${raw}`)
  return truncateToMinute(ms)
}

const window = (ctx: RestContext, query: URLSearchParams): Window => {
  const start = bound(query, "start")
  const requestedEnd = bound(query, "end")
  const now = ctx.org.clock.now()
  if (start < truncateToMinute(now - thirtyDaysMs)) {
    throw apiError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
  }
  if (requestedEnd <= start) {
    throw apiError(
      400,
      "INVALID_REPLICATION_DATE",
      "endDate must chronologically follow startDate by at least one minute"
    )
  }
  return { start, end: Math.min(requestedEnd, truncateToMinute(now)) }
}

/** `GET /sobjects/{T}/updated`: ids of live records whose SystemModstamp falls in the window. */
export const updated = (ctx: RestContext, o: ObjectDef, query: URLSearchParams): Record<string, unknown> => {
  const w = window(ctx, query)
  const ids: Array<string> = []
  for (const r of ctx.org.store.all(o.name)) {
    const stamp = r.values["SystemModstamp"]
    if (r.deletedAt === undefined && typeof stamp === "number" && stamp >= w.start && stamp < w.end)
      ids.push(r.id)
  }
  if (ids.length > maxIds)
    throw apiError(400, "EXCEEDED_ID_LIMIT", "record limit reached, use a smaller time span")
  return { ids, latestDateCovered: formatDatetime(w.end) }
}

/** `GET /sobjects/{T}/deleted`: records deleted in the window, with their deletion time. */
export const deleted = (ctx: RestContext, o: ObjectDef, query: URLSearchParams): Record<string, unknown> => {
  purgeRecycleBin(ctx.org)
  const w = window(ctx, query)
  const purged = ctx.org.lastPurgedDeletion
  if (purged !== undefined && w.start < purged) {
    throw apiError(
      400,
      "INVALID_REPLICATION_DATE",
      `startDate is before earliestDateAvailable (${formatDatetime(purged)}): deleted records older than that were purged`
    )
  }
  const deletedRecords: Array<Record<string, string>> = []
  for (const r of ctx.org.store.all(o.name)) {
    if (r.deletedAt !== undefined && r.deletedAt >= w.start && r.deletedAt < w.end) {
      deletedRecords.push({ id: r.id, deletedDate: formatDatetime(r.deletedAt) })
    }
  }
  if (deletedRecords.length > maxIds)
    throw apiError(400, "EXCEEDED_ID_LIMIT", "record limit reached, use a smaller time span")
  const earliest = purged ?? truncateToMinute(ctx.org.clock.now() - recycleBinMs)
  return {
    deletedRecords,
    earliestDateAvailable: formatDatetime(earliest),
    latestDateCovered: formatDatetime(w.end)
  }
}
