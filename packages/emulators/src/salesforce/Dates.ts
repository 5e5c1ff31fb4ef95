/**
 * Date and dateTime wire formats. Salesforce keeps dateTimes to the second and writes them as
 * `2026-01-01T10:00:00.000+0000`; dates are `YYYY-MM-DD`.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

/** Epoch milliseconds as Salesforce writes a dateTime (`2026-01-01T10:00:00.000+0000`). */
export const formatDatetime = (ms: number): string => {
  const d = new Date(ms)
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}+0000`
  )
}

/** Drops the milliseconds: Salesforce stores dateTimes to the second. */
export const truncateToSecond = (ms: number): number => Math.floor(ms / 1000) * 1000

/** Drops seconds and milliseconds: getUpdated/getDeleted ignore the seconds of their bounds. */
export const truncateToMinute = (ms: number): number => Math.floor(ms / 60_000) * 60_000

const datetimePattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/

const validDate = (y: number, m: number, d: number): boolean => {
  if (m < 1 || m > 12 || d < 1) return false
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate()
  return d <= last
}

/**
 * Parses an ISO-8601 dateTime as the REST API accepts it in request bodies and query
 * parameters (`Z`, `+hh:mm`, `+hhmm`, fractions, or a bare date meaning midnight UTC).
 * Returns epoch milliseconds, or undefined when the text is not a dateTime.
 */
export const parseDatetime = (text: string): number | undefined => {
  const m = datetimePattern.exec(text.trim())
  if (!m) return undefined
  const [, ys, mos, ds, hs, mis, ss, frac, zone] = m
  const y = Number(ys)
  const mo = Number(mos)
  const d = Number(ds)
  if (!validDate(y, mo, d)) return undefined
  const h = Number(hs ?? 0)
  const mi = Number(mis ?? 0)
  const s = Number(ss ?? 0)
  if (h > 23 || mi > 59 || s > 59) return undefined
  // A time without a zone is ambiguous; Salesforce reads it as UTC (GMT).
  let offsetMinutes = 0
  if (zone !== undefined && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1
    const digits = zone.slice(1).replace(":", "")
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)))
  }
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, "0"))
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMinutes * 60_000
}

/** Parses a `YYYY-MM-DD` date; returns it unchanged when valid, else undefined. */
export const parseDate = (text: string): string | undefined => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (!m) return undefined
  return validDate(Number(m[1]), Number(m[2]), Number(m[3])) ? text : undefined
}
