/**
 * Starting an emulator: builds the org (users, records, clock), the API limit counter, the fault
 * registry and the request log, and listens on 127.0.0.1.
 */
import * as Backdoor from "./Backdoor.js"
import * as Clock from "./Clock.js"
import * as Faults from "./Faults.js"
import * as Ids from "./Ids.js"
import * as Limits from "./Limits.js"
import type { Org, User } from "./Org.js"
import { Cursors } from "./Query.js"
import { RequestLog } from "./RequestLog.js"
import { orgKeyPrefix, schema, userKeyPrefix } from "./Schema.js"
import { listen, type ServerState } from "./Server.js"
import { Sessions } from "./Sessions.js"
import { Store } from "./Store.js"

/** Credentials of a user of the emulated org and of its connected app. */
export interface UserOptions {
  readonly username: string
  readonly password: string
  readonly clientId: string
  readonly clientSecret: string
}

/** A configured user, with its id and where to log in. */
export interface Credentials extends UserOptions {
  readonly userId: string
  /** The login URL (the emulator's URL) to give jsforce as `loginUrl`. */
  readonly loginUrl: string
}

/** Options of `start`. */
export interface StartOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free port. */
  readonly port?: number
  /** Delay added to every request, in milliseconds (default 0). */
  readonly latencyMs?: number
  /** API requests allowed per rolling 24 hours (default 15,000, a Developer Edition org). */
  readonly dailyLimit?: number
  /** Inactivity timeout of access tokens in seconds (default 7,200, Salesforce's default 2 hours). */
  readonly sessionTtlSeconds?: number
  /** Users of the org; the first is `credentials`. Default: one test user. */
  readonly users?: ReadonlyArray<UserOptions>
  /** How many requests the request log keeps (default 10,000). */
  readonly requestLogLimit?: number
}

/** Tokens issued without a login, for `new Connection({ instanceUrl, accessToken, refreshToken })`. */
export interface IssuedToken {
  readonly accessToken: string
  readonly refreshToken: string
  readonly instanceUrl: string
}

/** The API usage counter as tests see it. */
export interface ApiUsage {
  /** Requests allowed per rolling 24 hours; can be changed while running. */
  dailyLimit: number
  /** Requests counted in the last 24 hours (emulator clock). */
  readonly used: () => number
  /** Sets the usage to n requests, e.g. just under the limit. */
  readonly setUsed: (n: number) => void
  /** Forgets all usage. */
  readonly reset: () => void
}

/** Control of access tokens. */
export interface SessionControl {
  /** Issues an access token and a refresh token for a user (default: the first) without a login. */
  readonly issue: (username?: string) => IssuedToken
  /** Expires every access token: each client's next call gets 401 INVALID_SESSION_ID. */
  readonly expireAll: () => void
  /** How many access tokens are live. */
  readonly count: () => number
  /** Inactivity timeout of access tokens in seconds; can be changed while running. */
  ttlSeconds: number
}

/** A running Salesforce emulator. */
export interface SalesforceEmulator {
  /** Base URL, both login URL and instance URL: `http://127.0.0.1:PORT`. */
  readonly url: string
  readonly port: number
  /** The organization id (00D...). */
  readonly orgId: string
  /** The default test user (the first of `users`). */
  readonly credentials: Credentials
  /** Every configured user. */
  readonly users: ReadonlyArray<Credentials>
  /** Direct access to records and the request log. */
  readonly backdoor: Backdoor.Backdoor
  /** Injected faults. */
  readonly faults: Faults.Faults
  /** The emulator clock (SystemModstamp, expiry, limits). */
  readonly clock: Clock.Clock
  /** The daily API request counter. */
  readonly limits: ApiUsage
  /** Access tokens. */
  readonly sessions: SessionControl
  /** Delay added to every request, in milliseconds; can be changed while running. */
  latencyMs: number
  /** Stops listening and drops open connections (hanging requests included). */
  readonly close: () => Promise<void>
}

/** The test user of an emulator started without `users`. */
export const defaultUser: UserOptions = {
  username: "emulator@living-profile.test",
  password: "emulator-password",
  clientId: "living-profile-emulator-client",
  clientSecret: "living-profile-emulator-secret"
}

const nonNegative = (name: string, v: number | undefined, fallback: number): number => {
  const n = v ?? fallback
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`Salesforce emulator: ${name} must be a non-negative number, got ${String(v)}`)
  return n
}

/** Starts a Salesforce emulator on 127.0.0.1. */
export const start = async (options: StartOptions = {}): Promise<SalesforceEmulator> => {
  const clock = Clock.make()
  const ids = Ids.makeGenerator()
  const userOptions = options.users ?? [defaultUser]
  if (userOptions.length === 0) throw new Error("Salesforce emulator: users must not be empty")
  const users: ReadonlyArray<User> = userOptions.map((u) => ({ ...u, id: ids.next(userKeyPrefix) }))
  const faults = Faults.make()
  const org: Org = {
    id: ids.next(orgKeyPrefix),
    schema,
    store: new Store(schema),
    clock,
    ids,
    users,
    recordFault: faults.takeRecord,
    lastPurgedDeletion: undefined
  }
  const limits = Limits.make(clock, nonNegative("dailyLimit", options.dailyLimit, 15_000))
  const sessions = new Sessions(
    org.id,
    clock,
    nonNegative("sessionTtlSeconds", options.sessionTtlSeconds, 7200)
  )
  const log = new RequestLog(nonNegative("requestLogLimit", options.requestLogLimit, 10_000))
  const cursors = new Cursors(org)
  const state: ServerState = {
    org,
    sessions,
    limits,
    faults,
    log,
    cursors,
    latencyMs: nonNegative("latencyMs", options.latencyMs, 0)
  }
  const server = await listen(state, options.port ?? 0)
  const credentials = users.map((u) => ({
    username: u.username,
    password: u.password,
    clientId: u.clientId,
    clientSecret: u.clientSecret,
    userId: u.id,
    loginUrl: server.url
  }))
  const userNamed = (username: string | undefined): User => {
    const u = username === undefined ? users[0] : users.find((x) => x.username === username)
    if (u === undefined) throw new Error(`Salesforce emulator: no user ${String(username)}`)
    return u
  }
  return {
    url: server.url,
    port: server.port,
    orgId: org.id,
    credentials: credentials[0] as Credentials,
    users: credentials,
    backdoor: Backdoor.make({ org, cursors, log, limits, faults }),
    faults,
    clock,
    limits: {
      get dailyLimit() {
        return limits.dailyLimit
      },
      set dailyLimit(n: number) {
        limits.dailyLimit = nonNegative("dailyLimit", n, 0)
      },
      used: limits.used,
      setUsed: limits.setUsed,
      reset: limits.reset
    },
    sessions: {
      issue: (username) => {
        const user = userNamed(username)
        return {
          accessToken: sessions.issue(user, "issued").token,
          refreshToken: sessions.issueRefreshToken(user),
          instanceUrl: server.url
        }
      },
      expireAll: () => sessions.expireAll(),
      count: () => sessions.count(),
      get ttlSeconds() {
        return sessions.ttlSeconds
      },
      set ttlSeconds(n: number) {
        sessions.ttlSeconds = nonNegative("sessionTtlSeconds", n, 0)
      }
    },
    get latencyMs() {
      return state.latencyMs
    },
    set latencyMs(n: number) {
      state.latencyMs = nonNegative("latencyMs", n, 0)
    },
    close: server.close
  }
}
