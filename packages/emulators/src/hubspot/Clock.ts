/** A point in time: ISO-8601 text, epoch milliseconds or a `Date`. */
export type Instant = string | number | Date

/** The emulator's clock: timestamps and rate-limit windows read it, so tests move time instead of sleeping. */
export interface Clock {
  /** The current emulated time in epoch milliseconds. */
  readonly now: () => number
  /** The current emulated time as ISO-8601 with milliseconds. */
  readonly iso: () => string
  /** Moves the clock to `at` and freezes it there. */
  readonly set: (at: Instant) => void
  /** Moves the clock forward by `ms`, whether it is frozen or following wall time. */
  readonly advance: (ms: number) => void
  /** Lets the clock follow wall time again, continuing from its current reading. */
  readonly resume: () => void
  /** Whether the clock is frozen. */
  readonly isFrozen: () => boolean
}

/** Converts an `Instant` to epoch milliseconds; throws `RangeError` on text that is not a date. */
export const toMillis = (at: Instant): number => {
  const ms = typeof at === "number" ? at : typeof at === "string" ? Date.parse(at) : at.getTime()
  if (!Number.isFinite(ms)) throw new RangeError(`Not a point in time: ${String(at)}`)
  return ms
}

/** ISO-8601 text with milliseconds, the format HubSpot uses for every date it returns. */
export const toIso = (ms: number): string => new Date(ms).toISOString()

/** A clock frozen at `start`, or following wall time when `start` is omitted. */
export const make = (start?: Instant): Clock => {
  let frozenAt: number | undefined = start === undefined ? undefined : toMillis(start)
  let offset = 0
  const now = (): number => frozenAt ?? Date.now() + offset
  return {
    now,
    iso: () => toIso(now()),
    set: (at) => {
      frozenAt = toMillis(at)
    },
    advance: (ms) => {
      if (!Number.isFinite(ms)) throw new RangeError(`Cannot advance the clock by ${ms} ms`)
      if (frozenAt === undefined) offset += ms
      else frozenAt += ms
    },
    resume: () => {
      offset = now() - Date.now()
      frozenAt = undefined
    },
    isFrozen: () => frozenAt !== undefined
  }
}
