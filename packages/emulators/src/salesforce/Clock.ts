/**
 * The emulator's clock. It follows the system time until a test sets it; from then on it stands
 * still (so timestamps are predictable) and moves only when advanced, or ticks again from where
 * it is after `resume()`. SystemModstamp, session expiry, cursor expiry, getUpdated windows and
 * the rolling daily API limit all read this clock.
 */

/** A settable clock (epoch milliseconds). */
export interface Clock {
  /** The current time in epoch milliseconds. */
  readonly now: () => number
  /** The current time as an ISO-8601 string. */
  readonly iso: () => string
  /** Sets the time (ISO-8601 text, Date or epoch ms) and stops the clock there. */
  readonly set: (time: string | Date | number) => void
  /** Moves the clock forward by the given milliseconds (backwards if negative). */
  readonly advance: (ms: number) => void
  /** Lets the clock tick with the system time again, from its current value. */
  readonly resume: () => void
  /** Whether the clock stands still (after `set`, until `resume`). */
  readonly isFrozen: () => boolean
}

const toMs = (time: string | Date | number): number => {
  const ms = typeof time === "number" ? time : typeof time === "string" ? Date.parse(time) : time.getTime()
  if (!Number.isFinite(ms)) throw new Error(`Clock.set: not a valid time: ${String(time)}`)
  return ms
}

/** A clock that follows the system time until set. */
export const make = (systemNow: () => number = Date.now): Clock => {
  let frozenAt: number | undefined
  let offset = 0
  const now = (): number => frozenAt ?? systemNow() + offset
  return {
    now,
    iso: () => new Date(now()).toISOString(),
    set: (time) => {
      frozenAt = toMs(time)
    },
    advance: (ms) => {
      if (frozenAt !== undefined) frozenAt += ms
      else offset += ms
    },
    resume: () => {
      if (frozenAt === undefined) return
      offset = frozenAt - systemNow()
      frozenAt = undefined
    },
    isFrozen: () => frozenAt !== undefined
  }
}
