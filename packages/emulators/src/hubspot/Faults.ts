import type { Policy } from "./Limits.js"

/** What an injected fault does to a request it matches. */
export type FaultEffect =
  /** Answer with this status; the body defaults to a standard JSON error body. */
  | {
      readonly status: number
      readonly body?: unknown
      readonly contentType?: string
      readonly headers?: Readonly<Record<string, string>>
    }
  /** Answer with the 429 HubSpot sends for this policy, whatever the counters say. */
  | { readonly rateLimit: Policy }
  /** Destroy the connection without answering. */
  | { readonly drop: true }
  /** Keep the request open until `faults.release()` (then it is served) or `close()` (then it is dropped). */
  | { readonly hold: true }
  /** Wait this many wall-clock milliseconds, then serve the request normally. */
  | { readonly delayMs: number }

/** Which requests a fault applies to, and how many times. */
export interface FaultMatch {
  /** HTTP method, any case; any method when omitted. */
  readonly method?: string
  /** Exact pathname, or a pattern tested against the pathname; any path when omitted. */
  readonly path?: string | RegExp
  /** How many matching requests it affects; unlimited for `rule`, once for `next`. */
  readonly times?: number
}

/** A fault with its matcher. */
export type FaultRule = FaultMatch & FaultEffect

/** A registered fault. */
export interface FaultHandle {
  /** How many requests it has affected so far. */
  readonly hits: () => number
  /** Unregisters it. */
  readonly remove: () => void
}

/** Fault injection and latency, driven by tests. */
export interface Faults {
  /** Applies `fault` to the next matching request only; one-shot faults run before rules, first queued first. */
  readonly next: (fault: FaultRule) => FaultHandle
  /** Applies `fault` to matching requests until it has been hit `times` times or is removed. */
  readonly rule: (fault: FaultRule) => FaultHandle
  /** Removes every fault and serves the held requests. */
  readonly clear: () => void
  /** Serves every held request; returns how many there were. */
  readonly release: () => number
  /** How many requests are held right now. */
  readonly held: () => number
  /** Sets the wall-clock delay added before every request is handled. */
  readonly setLatency: (ms: number) => void
  /** The current added delay in milliseconds. */
  readonly latency: () => number
}

interface Entry {
  readonly rule: FaultRule
  readonly limit: number
  hits: number
}

interface Held {
  readonly resume: () => void
  readonly drop: () => void
}

/** The fault registry and its server-side hooks. */
export interface FaultRegistry extends Faults {
  /** The effect for a request, consuming one use of the matching fault. */
  readonly take: (method: string, pathname: string) => FaultEffect | undefined
  /** Parks a request until released (resolves) or the server closes (drops it and resolves false). */
  readonly park: (drop: () => void) => { readonly released: Promise<boolean>; readonly cancel: () => void }
  /** Drops every held request (server shutdown). */
  readonly dropHeld: () => void
}

const matches = (rule: FaultMatch, method: string, pathname: string): boolean => {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method) return false
  if (rule.path === undefined) return true
  return typeof rule.path === "string" ? rule.path === pathname : rule.path.test(pathname)
}

const effectOf = (rule: FaultRule): FaultEffect => {
  if ("drop" in rule) return { drop: true }
  if ("hold" in rule) return { hold: true }
  if ("rateLimit" in rule) return { rateLimit: rule.rateLimit }
  if ("delayMs" in rule) return { delayMs: rule.delayMs }
  return {
    status: rule.status,
    ...(rule.body === undefined ? {} : { body: rule.body }),
    ...(rule.contentType === undefined ? {} : { contentType: rule.contentType }),
    ...(rule.headers === undefined ? {} : { headers: rule.headers })
  }
}

/** An empty registry with `latencyMs` of added delay. */
export const make = (latencyMs: number): FaultRegistry => {
  let oneShots: Array<Entry> = []
  let rules: Array<Entry> = []
  const held = new Set<Held>()
  let latency = latencyMs

  const register = (list: "once" | "rule", rule: FaultRule): FaultHandle => {
    const entry: Entry = {
      rule,
      limit: rule.times ?? (list === "once" ? 1 : Number.POSITIVE_INFINITY),
      hits: 0
    }
    if (list === "once") oneShots.push(entry)
    else rules.push(entry)
    return {
      hits: () => entry.hits,
      remove: () => {
        oneShots = oneShots.filter((e) => e !== entry)
        rules = rules.filter((e) => e !== entry)
      }
    }
  }

  const release = (): number => {
    const count = held.size
    for (const h of [...held]) h.resume()
    return count
  }

  return {
    next: (rule) => register("once", rule),
    rule: (rule) => register("rule", rule),
    clear: () => {
      oneShots = []
      rules = []
      release()
    },
    release,
    held: () => held.size,
    setLatency: (ms) => {
      latency = Math.max(0, ms)
    },
    latency: () => latency,
    take: (method, pathname) => {
      for (const list of [oneShots, rules]) {
        const entry = list.find((e) => e.hits < e.limit && matches(e.rule, method, pathname))
        if (entry !== undefined) {
          entry.hits += 1
          if (entry.hits >= entry.limit) {
            oneShots = oneShots.filter((e) => e !== entry)
            rules = rules.filter((e) => e !== entry)
          }
          return effectOf(entry.rule)
        }
      }
      return undefined
    },
    park: (drop) => {
      let settle: (served: boolean) => void = () => {}
      const released = new Promise<boolean>((resolve) => {
        settle = resolve
      })
      const entry: Held = {
        resume: () => {
          held.delete(entry)
          settle(true)
        },
        drop: () => {
          held.delete(entry)
          drop()
          settle(false)
        }
      }
      held.add(entry)
      return {
        released,
        cancel: () => {
          held.delete(entry)
          settle(false)
        }
      }
    },
    dropHeld: () => {
      for (const h of [...held]) h.drop()
    }
  }
}
