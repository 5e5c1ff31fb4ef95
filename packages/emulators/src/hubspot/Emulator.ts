import { randomUUID } from "node:crypto"
import type { Backdoor } from "./Backdoor.js"
import * as Backdoors from "./Backdoor.js"
import * as Clocks from "./Clock.js"
import * as ContactsApi from "./ContactsApi.js"
import * as FaultRegistry from "./Faults.js"
import { Limits, type Window } from "./Limits.js"
import { Portal } from "./Portal.js"
import * as PreferencesApi from "./PreferencesApi.js"
import { RequestLog } from "./RequestLog.js"
import * as Server from "./Server.js"
import { DEFAULT_SUBSCRIPTION_TYPES, type SubscriptionTypeOptions } from "./Subscriptions.js"

/** Options of `start`; every field has a default. */
export interface StartOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string
  /** Wall-clock delay before each request is handled (default 0). */
  readonly latencyMs?: number
  /** Ten-second rolling limit per token (default 100 per 10 000 ms: private app, Free/Starter). */
  readonly burstLimit?: Window
  /** Requests per day for the account, reset at midnight UTC (default 250 000). */
  readonly dailyLimit?: number
  /** CRM search limit per account (default 5 per 1 000 ms); `false` switches it off. */
  readonly searchLimit?: Window | false
  /** Valid private-app tokens (default: one generated `pat-na1-...` token); each is its own app for the burst limit. */
  readonly tokens?: ReadonlyArray<string>
  /** The portal's subscription types (default: three placeholder types, ids 1001-1003). */
  readonly subscriptionTypes?: ReadonlyArray<SubscriptionTypeOptions>
  /** Start the clock frozen at this instant (default: follow wall time). */
  readonly now?: Clocks.Instant
  /** Portal (hub) id shown in rate-limit bodies (default 12345678). */
  readonly portalId?: number
  /** Extra string contact properties the portal accepts (beyond the common ones). */
  readonly customProperties?: ReadonlyArray<string>
  /** How long a write takes to show up in search, in emulated ms (default 0). */
  readonly searchIndexLagMs?: number
  /** Turn on GDPR features: subscribing then requires a legal basis (default false). */
  readonly gdpr?: boolean
  /** Id of the first contact created (default 1001). */
  readonly firstContactId?: number
}

/** A running emulator. */
export interface HubSpotEmulator {
  /** Base URL to pass as the SDK's `basePath`, without a trailing slash. */
  readonly url: string
  /** The port it listens on. */
  readonly port: number
  /** A valid token (the first of `tokens`). */
  readonly token: string
  /** Every valid token. */
  readonly tokens: ReadonlyArray<string>
  /** The emulated portal id. */
  readonly portalId: number
  /** Direct state access for tests. */
  readonly backdoor: Backdoor
  /** Fault injection and latency. */
  readonly faults: FaultRegistry.Faults
  /** The emulated clock. */
  readonly clock: Clocks.Clock
  /** Stops the server; held requests are dropped. */
  readonly close: () => Promise<void>
}

/** Default ten-second burst limit: a privately distributed app on Free/Starter. */
export const DEFAULT_BURST_LIMIT: Window = { max: 100, windowMs: 10_000 }
/** Default daily limit: Free/Starter. */
export const DEFAULT_DAILY_LIMIT = 250_000
/** Default CRM search limit. */
export const DEFAULT_SEARCH_LIMIT: Window = { max: 5, windowMs: 1_000 }

/** Starts a HubSpot emulator on 127.0.0.1. */
export const start = async (options: StartOptions = {}): Promise<HubSpotEmulator> => {
  const clock = Clocks.make(options.now)
  const tokens = options.tokens ?? [`pat-na1-${randomUUID()}`]
  const token = tokens[0]
  if (token === undefined) throw new RangeError("At least one token is needed")
  const portalId = options.portalId ?? 12_345_678
  const portal = new Portal({
    clock,
    subscriptionTypes: options.subscriptionTypes ?? DEFAULT_SUBSCRIPTION_TYPES,
    customProperties: options.customProperties ?? [],
    firstContactId: options.firstContactId ?? 1001,
    searchLagMs: options.searchIndexLagMs ?? 0,
    gdpr: options.gdpr ?? false
  })
  const limits = new Limits({
    burst: options.burstLimit ?? DEFAULT_BURST_LIMIT,
    daily: options.dailyLimit ?? DEFAULT_DAILY_LIMIT,
    search: options.searchLimit ?? DEFAULT_SEARCH_LIMIT,
    portalId
  })
  const faults = FaultRegistry.make(options.latencyMs ?? 0)
  const log = new RequestLog()
  const apps = new Map(tokens.map((t, i) => [t, 1_000_001 + i] as const))
  const listening = await Server.listen(
    {
      routes: [...ContactsApi.routes(portal), ...PreferencesApi.routes(portal)],
      faults,
      limits,
      clock,
      apps,
      log
    },
    options.port ?? 0,
    options.host ?? "127.0.0.1"
  )
  return {
    url: listening.url,
    port: listening.port,
    token,
    tokens,
    portalId,
    backdoor: Backdoors.make({ portal, limits, log, clearFaults: () => faults.clear() }),
    faults,
    clock,
    close: listening.close
  }
}
