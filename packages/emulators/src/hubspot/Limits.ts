import { correlationId } from "./Errors.js"

/** The rate-limit policies HubSpot names in `policyName`. */
export type Policy = "TEN_SECONDLY_ROLLING" | "DAILY" | "SECONDLY"

/** A rolling window: at most `max` requests in any `windowMs`. */
export interface Window {
  readonly max: number
  readonly windowMs: number
}

/** The limits of the emulated account. */
export interface LimitOptions {
  /** Per app (token): the ten-second rolling burst limit. */
  readonly burst: Window
  /** Per account: requests per day, reset at midnight UTC. */
  readonly daily: number
  /** Per account: the CRM search limit, or `false` to switch it off. */
  readonly search: Window | false
  /** Named in the burst 429's `groupName`. */
  readonly portalId: number
}

/** Which budget a request draws on: search has its own per-second limit and sends no rate-limit headers. */
export type RequestKind = "standard" | "search"

/** The outcome of a limit check. */
export type Decision =
  | { readonly allowed: true; readonly headers: Readonly<Record<string, string>> }
  | {
      readonly allowed: false
      readonly policy: Policy
      readonly body: Readonly<Record<string, unknown>>
      readonly headers: Readonly<Record<string, string>>
    }

/** Current consumption, for assertions. */
export interface Usage {
  /** Requests counted today (all apps). */
  readonly daily: number
  /** Requests inside the current burst window, per token. */
  readonly burst: Readonly<Record<string, number>>
  /** Search requests inside the current search window. */
  readonly search: number
}

const MESSAGES: Readonly<Record<Policy, string>> = {
  TEN_SECONDLY_ROLLING: "You have reached your ten_secondly_rolling limit.",
  DAILY: "You have reached your daily limit.",
  // The SDK's retry decorator recognises the search limit by this exact text.
  SECONDLY: "You have reached your secondly limit."
}

/** The 429 body HubSpot sends for `policy`. */
export const rateLimitBody = (policy: Policy, appId: number, portalId: number): Record<string, unknown> => ({
  status: "error",
  message: MESSAGES[policy],
  errorType: "RATE_LIMIT",
  correlationId: correlationId(),
  policyName: policy,
  ...(policy === "TEN_SECONDLY_ROLLING"
    ? { groupName: `publicapi:private_app-api-calls-ten-secondly:${appId}:${portalId}` }
    : {})
})

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** Rolling burst windows per token, a daily counter per account and the search limit; all read the emulated clock. */
export class Limits {
  readonly #options: LimitOptions
  readonly #burst = new Map<string, Array<number>>()
  #search: Array<number> = []
  #day = ""
  #dailyUsed = 0

  constructor(options: LimitOptions) {
    this.#options = options
  }

  /** Checks a request of `token` at `now` and counts it when allowed; rejected requests are not counted. */
  admit(token: string, appId: number, kind: RequestKind, now: number): Decision {
    const { burst, daily, search, portalId } = this.#options
    this.#rollDay(now)
    const calls = this.#window(this.#burst, token, now, burst.windowMs)
    const headers = (burstRemaining: number, dailyRemaining: number): Record<string, string> =>
      kind === "search"
        ? {}
        : {
            "X-HubSpot-RateLimit-Daily": String(daily),
            "X-HubSpot-RateLimit-Daily-Remaining": String(Math.max(0, dailyRemaining)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": String(burst.windowMs),
            "X-HubSpot-RateLimit-Max": String(burst.max),
            "X-HubSpot-RateLimit-Remaining": String(Math.max(0, burstRemaining))
          }
    const reject = (policy: Policy, burstRemaining: number): Decision => ({
      allowed: false,
      policy,
      body: rateLimitBody(policy, appId, portalId),
      headers: headers(burstRemaining, daily - this.#dailyUsed)
    })
    if (this.#dailyUsed >= daily) return reject("DAILY", burst.max - calls.length)
    if (kind === "search") {
      if (search !== false) {
        this.#search = this.#search.filter((t) => t > now - search.windowMs)
        if (this.#search.length >= search.max) return reject("SECONDLY", burst.max - calls.length)
        this.#search.push(now)
      }
    } else {
      if (calls.length >= burst.max) return reject("TEN_SECONDLY_ROLLING", 0)
      calls.push(now)
    }
    this.#dailyUsed += 1
    return { allowed: true, headers: headers(burst.max - calls.length, daily - this.#dailyUsed) }
  }

  /** The 429 an injected `rateLimit` fault answers with: the policy's body and its budget shown as spent. */
  forced(policy: Policy): {
    readonly body: Readonly<Record<string, unknown>>
    readonly headers: Readonly<Record<string, string>>
  } {
    const { burst, daily, portalId } = this.#options
    const headers: Record<string, string> =
      policy === "SECONDLY"
        ? {}
        : {
            "X-HubSpot-RateLimit-Daily": String(daily),
            "X-HubSpot-RateLimit-Daily-Remaining":
              policy === "DAILY" ? "0" : String(Math.max(0, daily - this.#dailyUsed)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": String(burst.windowMs),
            "X-HubSpot-RateLimit-Max": String(burst.max),
            "X-HubSpot-RateLimit-Remaining": policy === "TEN_SECONDLY_ROLLING" ? "0" : String(burst.max)
          }
    return { body: rateLimitBody(policy, 0, portalId), headers }
  }

  /** Current consumption at `now`. */
  usage(now: number): Usage {
    this.#rollDay(now)
    const burst: Record<string, number> = {}
    for (const token of this.#burst.keys()) {
      const count = this.#window(this.#burst, token, now, this.#options.burst.windowMs).length
      if (count > 0) burst[token] = count
    }
    const search = this.#options.search
    return {
      daily: this.#dailyUsed,
      burst,
      search: search === false ? 0 : this.#search.filter((t) => t > now - search.windowMs).length
    }
  }

  /** Forgets all consumption. */
  reset(): void {
    this.#burst.clear()
    this.#search = []
    this.#dailyUsed = 0
    this.#day = ""
  }

  #rollDay(now: number): void {
    const day = utcDay(now)
    if (day !== this.#day) {
      this.#day = day
      this.#dailyUsed = 0
    }
  }

  #window(windows: Map<string, Array<number>>, key: string, now: number, windowMs: number): Array<number> {
    const calls = (windows.get(key) ?? []).filter((t) => t > now - windowMs)
    windows.set(key, calls)
    return calls
  }
}
