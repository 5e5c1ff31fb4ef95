/**
 * The daily API request limit. Salesforce counts REST calls over a rolling 24 hours; every
 * response carries `Sforce-Limit-Info: api-usage=USED/MAX`, and once USED reaches MAX further
 * calls fail with 403 REQUEST_LIMIT_EXCEEDED (and are not counted). Usage is kept in one-minute
 * buckets on the emulator clock, so advancing the clock a day frees the quota.
 */
import type { Clock } from "./Clock.js"

const dayMs = 24 * 3600 * 1000
const bucketMs = 60_000

/** The org's daily API request counter. */
export interface ApiLimits {
  /** The maximum requests per rolling 24 hours. */
  dailyLimit: number
  /** Requests counted in the last 24 hours. */
  readonly used: () => number
  /** Counts one request if the limit allows it; false when the limit is reached. */
  readonly tryConsume: () => boolean
  /** Sets the usage of the window to exactly n requests (as of now). */
  readonly setUsed: (n: number) => void
  /** Forgets all usage. */
  readonly reset: () => void
  /** The `Sforce-Limit-Info` header value. */
  readonly header: () => string
}

/** A counter with the given daily limit. */
export const make = (clock: Clock, dailyLimit: number): ApiLimits => {
  const buckets = new Map<number, number>()
  const used = (): number => {
    const since = clock.now() - dayMs
    let total = 0
    for (const [start, n] of buckets) {
      if (start + bucketMs <= since) buckets.delete(start)
      else total += n
    }
    return total
  }
  const self: ApiLimits = {
    dailyLimit,
    used,
    tryConsume: () => {
      if (used() >= self.dailyLimit) return false
      const start = Math.floor(clock.now() / bucketMs) * bucketMs
      buckets.set(start, (buckets.get(start) ?? 0) + 1)
      return true
    },
    setUsed: (n) => {
      buckets.clear()
      if (n > 0) buckets.set(Math.floor(clock.now() / bucketMs) * bucketMs, n)
    },
    reset: () => buckets.clear(),
    header: () => `api-usage=${used()}/${self.dailyLimit}`
  }
  return self
}
