/**
 * The HubSpot client the adapter talks through: the real `@hubspot/api-client` with its own retries
 * off (`numberOfApiCallRetries: 0`: it would sleep 10 s x attempt on the burst 429 and log to
 * stderr), wrapped in what the adapter owns instead:
 *
 * - a proactive limiter per budget (the ten-second burst limit, and CRM search's per-second one),
 *   taken before every attempt, retries included, so the burst 429 is rarely seen;
 * - a request timeout (the SDK has none);
 * - one retry `Schedule`: exponential backoff with jitter for transport failures, and for a 429
 *   the wait its policy asks for (`TEN_SECONDLY_ROLLING`: the window, `SECONDLY`: a second) plus
 *   jitter; a `DAILY` 429, or a wait longer than `maxRateLimitWait`, goes to the caller at once;
 * - the mapping of every failure onto AdapterError (Errors.ts), for both the typed SDK methods
 *   and the untyped `apiRequest` that the v4 subscription endpoints need.
 */
import { Client as Sdk } from "@hubspot/api-client"
import type { AdapterError } from "@living-profile/core"
import { Clock, Context, Duration, Effect, Random, Redacted, Schedule } from "effect"
import * as Errors from "./Errors.js"
import type { Resolved } from "./HubSpotConfig.js"
import * as RateLimiter from "./internal/RateLimiter.js"

/** Which budget a request draws on: CRM search has its own per-second limit. */
export type RequestKind = "standard" | "search"

/** A request through `apiRequest` (for endpoints the SDK has no typed client for). */
export interface RawRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  /** Path under `basePath`; must not contain personal data (it names the endpoint in errors). */
  readonly path: string
  readonly qs?: Readonly<Record<string, string>>
  readonly body?: unknown
}

/** A 2xx answer of `apiRequest`: its status (200 or 207 for batches) and parsed JSON body. */
export interface RawAnswer {
  readonly status: number
  readonly body: unknown
}

/** What the client has done so far: enough to compute records/s and the share of the burst limit used. */
export interface ClientStats {
  /** Attempts sent, retries included. */
  readonly attempts: number
  /** Attempts that were retries. */
  readonly retries: number
  /** Attempts answered with a 429. */
  readonly rateLimited: number
  /** The burst limiter. */
  readonly standard: RateLimiter.LimiterStats
  /** The search limiter. */
  readonly search: RateLimiter.LimiterStats
}

/** The typed CRM contacts APIs, taken once when the client is made (see `make` for why). */
export interface ContactsApis {
  readonly basic: Sdk["crm"]["contacts"]["basicApi"]
  readonly batch: Sdk["crm"]["contacts"]["batchApi"]
  readonly search: Sdk["crm"]["contacts"]["searchApi"]
}

/** The adapter's HubSpot client. */
export interface HubSpotClient {
  /** The adapter name errors carry. */
  readonly target: string
  /** The SDK client (retries off); calls made on it directly bypass limiting, retries and mapping. */
  readonly sdk: Sdk
  /** The typed contacts APIs. */
  readonly contacts: ContactsApis
  /** Runs a typed SDK call with limiting, timeout, retries and error mapping; `endpoint` names it in errors. */
  readonly call: <A>(
    operation: AdapterError.Operation,
    kind: RequestKind,
    endpoint: string,
    run: (contacts: ContactsApis) => Promise<A>
  ) => Effect.Effect<A, AdapterError.AdapterError>
  /** Sends a raw request through `apiRequest` with the same treatment; non-2xx answers fail. */
  readonly request: (
    operation: AdapterError.Operation,
    kind: RequestKind,
    request: RawRequest
  ) => Effect.Effect<RawAnswer, AdapterError.AdapterError>
  /** What it has done so far. */
  readonly stats: () => ClientStats
}

/**
 * The tag of the adapter's client: its layer provides it next to the core tags. (A class of its
 * own name, as core's tags are: declaration bundlers drop one half of a value merged with an interface.)
 */
export class Tag extends Context.Tag("@living-profile/hubspot/HubSpotClient")<Tag, HubSpotClient>() {}

const parseBody = (text: string): unknown => {
  if (text.trim() === "") return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Whether the client tries a failed request again by itself, rather than handing the error back. */
export const retriesInternally = (
  e: AdapterError.AdapterError,
  maxRateLimitWait: Duration.Duration
): boolean => {
  if (e.reason === "Transport") return true
  if (e.reason !== "RateLimited") return false
  // The daily budget does not come back within a call: the engine must park and come back later.
  if (Errors.policyOf(e) === "DAILY") return false
  return Duration.lessThanOrEqualTo(e.retryAfter ?? Duration.zero, maxRateLimitWait)
}

/** The retry schedule: jittered exponential backoff, at least what a 429 asked for, at most `maxRetries`. */
export const retrySchedule = (
  config: Pick<Resolved, "baseDelay" | "maxRetries" | "maxRateLimitWait">
): Schedule.Schedule<unknown, AdapterError.AdapterError> =>
  Schedule.exponential(config.baseDelay, 2).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(config.maxRetries)),
    Schedule.intersect(
      Schedule.identity<AdapterError.AdapterError>().pipe(
        Schedule.addDelayEffect((e) =>
          e.reason === "RateLimited" && e.retryAfter !== undefined
            ? // Up to 10% more, so that clients refused together do not all come back together.
              Effect.map(Random.nextRange(1, 1.1), (f) => Duration.times(e.retryAfter ?? Duration.zero, f))
            : Effect.succeed(Duration.zero)
        )
      )
    ),
    Schedule.whileInput((e: AdapterError.AdapterError) => retriesInternally(e, config.maxRateLimitWait))
  )

/** Makes the client. */
export const make = (config: Resolved): Effect.Effect<HubSpotClient> =>
  Effect.gen(function* () {
    const standard = yield* RateLimiter.make(config.burstBudget)
    const search = yield* RateLimiter.make(config.searchBudget)
    const sdk = new Sdk({
      accessToken: Redacted.value(config.accessToken),
      basePath: config.basePath,
      numberOfApiCallRetries: 0
    })
    // The SDK wraps each typed API with the process-wide decorators current when the API is first
    // accessed, and every `new Client()` replaces them: taking the APIs now pins this client's (none),
    // whatever another client made later in the process asks for.
    const contacts: ContactsApis = {
      basic: sdk.crm.contacts.basicApi,
      batch: sdk.crm.contacts.batchApi,
      search: sdk.crm.contacts.searchApi
    }
    let attempts = 0
    let retries = 0
    let rateLimited = 0
    const schedule = retrySchedule(config)

    const run = <A>(
      operation: AdapterError.Operation,
      kind: RequestKind,
      endpoint: string,
      send: (where: Errors.Where) => Effect.Effect<A, AdapterError.AdapterError>
    ): Effect.Effect<A, AdapterError.AdapterError> => {
      let first = true
      const attempt = Effect.gen(function* () {
        attempts++
        if (!first) retries++
        first = false
        const now = yield* Clock.currentTimeMillis
        const where: Errors.Where = { target: config.name, operation, endpoint, now }
        return yield* send(where).pipe(
          Effect.timeoutFail({
            duration: config.requestTimeout,
            onTimeout: () => Errors.timedOut(where, config.requestTimeout)
          }),
          Effect.tapError((e) =>
            Effect.sync(() => {
              if (e.reason === "RateLimited") rateLimited++
            })
          )
        )
      }).pipe((kind === "search" ? search : standard).withPermit)
      return Effect.retry(attempt, schedule)
    }

    const client: HubSpotClient = {
      target: config.name,
      sdk,
      contacts,
      call: (operation, kind, endpoint, f) =>
        run(operation, kind, endpoint, (where) =>
          Effect.tryPromise({ try: () => f(contacts), catch: (u) => Errors.fromThrown(where, u) })
        ),
      request: (operation, kind, request) =>
        run(operation, kind, `${request.method} ${request.path}`, (where) =>
          Effect.gen(function* () {
            const response = yield* Effect.tryPromise({
              try: () =>
                sdk.apiRequest({
                  method: request.method,
                  path: request.path,
                  ...(request.qs === undefined ? {} : { qs: request.qs }),
                  ...(request.body === undefined ? {} : { body: request.body })
                }),
              catch: (u) => Errors.fromThrown(where, u)
            })
            const text = yield* Effect.tryPromise({
              try: () => response.text(),
              catch: (u) => Errors.fromThrown(where, u)
            })
            const body = parseBody(text)
            // apiRequest does not throw on HTTP errors: the status decides here.
            if (response.status >= 200 && response.status < 300) return { status: response.status, body }
            return yield* Effect.fail(
              Errors.fromHttp(where, {
                status: response.status,
                body,
                header: (name) => response.headers.get(name) ?? undefined
              })
            )
          })
        ),
      stats: () => ({ attempts, retries, rateLimited, standard: standard.stats(), search: search.stats() })
    }
    return client
  })
