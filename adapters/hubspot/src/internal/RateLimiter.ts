/**
 * The proactive rate limiter: a bucket of `max` tokens where each request takes one and the token
 * comes back `windowMs` after the request's answer. That is HubSpot's own rule turned around (at
 * most `max` requests in any rolling window), so a budget set below the limit keeps the burst 429
 * from happening at all instead of reacting to it. Counting from the answer rather than from the
 * send is what makes it hold on HubSpot's side too: HubSpot counts a request when it arrives,
 * somewhere between the two, so a request sent a window after the previous answer always arrives
 * a window after the previous arrival.
 *
 * Callers queue in arrival order; time is Effect's `Clock`, so `TestClock` drives it in tests.
 */
import { Clock, Duration, Effect } from "effect"
import type { Budget } from "../HubSpotConfig.js"

/** What a limiter has done so far, for benchmarks and tests. */
export interface LimiterStats {
  /** Permits handed out. */
  readonly taken: number
  /** Permits that had to wait for a token to come back. */
  readonly waited: number
  /** Total time spent waiting, in milliseconds. */
  readonly waitedMs: number
}

/** A rolling-window limiter. */
export interface RateLimiter {
  readonly budget: Budget
  /** Runs `request` once a token is free; the token comes back a window after `request` ends. */
  readonly withPermit: <A, E, R>(request: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** What it has done so far. */
  readonly stats: () => LimiterStats
}

interface Token {
  /** When the request started, then when it ended. */
  at: number
}

/** A limiter that allows at most `budget.max` requests in any `budget.windowMs`. */
export const make = (budget: Budget): Effect.Effect<RateLimiter> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => {
    // Tokens in use or not yet back; never more than budget.max.
    let tokens: Array<Token> = []
    let taken = 0
    let waited = 0
    let waitedMs = 0
    const acquire = lock.withPermits(1)(
      Effect.gen(function* () {
        let counted = false
        for (;;) {
          const now = yield* Clock.currentTimeMillis
          tokens = tokens.filter((t) => t.at > now - budget.windowMs)
          if (tokens.length < budget.max) {
            const token: Token = { at: now }
            tokens.push(token)
            taken++
            return token
          }
          // Sleeping while holding the lock keeps the queue first-come first-served. A token still
          // in flight may come back later than this wait: then the loop waits again.
          let oldest = tokens[0]!.at
          for (const t of tokens) oldest = Math.min(oldest, t.at)
          const wait = Math.max(1, oldest + budget.windowMs - now)
          if (!counted) waited++
          counted = true
          waitedMs += wait
          yield* Effect.sleep(Duration.millis(wait))
        }
      })
    )
    const release = (token: Token) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        token.at = Math.max(token.at, now)
      })
    return {
      budget,
      withPermit: (request) => Effect.acquireUseRelease(acquire, () => request, release),
      stats: () => ({ taken, waited, waitedMs })
    }
  })
