/**
 * The options of the HubSpot adapter, their defaults and validation, and the one place that reads
 * the environment (`fromEnv`: `HUBSPOT_ACCESS_TOKEN`, `HUBSPOT_BASE_PATH`).
 *
 * A mapped key is a HubSpot subscription type: e-mail only, since HubSpot's communication
 * preferences hold e-mail subscriptions (v4's only `channel` is `EMAIL`). The target-side field name
 * is the subscription type's id, which stays stable when the type is renamed in HubSpot.
 */
import type { ConsentDiff, ConsentEvent } from "@living-profile/core"
import { Config, Data, Duration, Either, Option, type Redacted } from "effect"

/** HubSpot's public API; `basePath` replaces it (for the emulator or a proxy). */
export const DEFAULT_BASE_PATH = "https://api.hubapi.com"

/** The legal bases HubSpot records with a subscription status. */
export type HubSpotLegalBasis =
  | "LEGITIMATE_INTEREST_PQL"
  | "LEGITIMATE_INTEREST_CLIENT"
  | "PERFORMANCE_OF_CONTRACT"
  | "CONSENT_WITH_NOTICE"
  | "NON_GDPR"
  | "PROCESS_AND_STORE"
  | "LEGITIMATE_INTEREST_OTHER"

/** Every legal basis HubSpot accepts. */
export const hubSpotLegalBases: ReadonlyArray<HubSpotLegalBasis> = [
  "LEGITIMATE_INTEREST_PQL",
  "LEGITIMATE_INTEREST_CLIENT",
  "PERFORMANCE_OF_CONTRACT",
  "CONSENT_WITH_NOTICE",
  "NON_GDPR",
  "PROCESS_AND_STORE",
  "LEGITIMATE_INTEREST_OTHER"
]

/**
 * Our GDPR Art. 6(1) basis to HubSpot's. Legal obligation, vital interests and public task have no
 * HubSpot counterpart: they send no basis (HubSpot then refuses a subscribe if the portal has GDPR
 * features on, which surfaces the gap instead of recording a basis that was not the real one).
 */
export const defaultLegalBasis: Readonly<Record<ConsentEvent.LegalBasis, HubSpotLegalBasis | null>> = {
  consent: "CONSENT_WITH_NOTICE",
  contract: "PERFORMANCE_OF_CONTRACT",
  legitimate_interests: "LEGITIMATE_INTEREST_OTHER",
  legal_obligation: null,
  vital_interests: null,
  public_task: null
}

/** One of our consent keys held by a HubSpot subscription type. */
export interface SubscriptionMapping {
  /** Our purpose, e.g. `marketing`. */
  readonly purpose: string
  /** Our channel: always `email` (the default); HubSpot subscriptions are e-mail subscriptions. */
  readonly channel?: "email"
  /** The subscription type id in HubSpot (numeric; Settings > Marketing > Email > Subscriptions). */
  readonly subscriptionId: string | number
  /** HubSpot's name of the type, for documentation and error messages only. */
  readonly name?: string
}

/** A rolling budget: at most `max` requests in any `windowMs`. */
export interface Budget {
  readonly max: number
  readonly windowMs: number
}

/** How the adapter retries a request that failed on the way (it owns retries; the SDK's are off). */
export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  readonly maxRetries?: number
  /** First backoff of the exponential schedule for transport failures (default 200 ms, doubled, jittered). */
  readonly baseDelay?: Duration.DurationInput
  /** The longest rate-limit wait taken inside a call (default 15 s); longer ones go to the caller. */
  readonly maxRateLimitWait?: Duration.DurationInput
}

/** What the adapter is configured with. */
export interface Options {
  /** The target and source name, `mapping.target` and the `source` of pulled records (default `hubspot`). */
  readonly name?: string
  /** **Secret.** The private app's access token (`pat-...`). */
  readonly accessToken: Redacted.Redacted<string>
  /** The API's base URL (default `https://api.hubapi.com`). */
  readonly basePath?: string
  /** Which subscription type holds which of our keys; at least one. */
  readonly subscriptions: ReadonlyArray<SubscriptionMapping>
  /** Overrides of the legal-basis mapping (null: send none). */
  readonly legalBasis?: Partial<Record<ConsentEvent.LegalBasis, HubSpotLegalBasis | null>>
  /** Inputs per batch call (default and maximum 100, HubSpot's batch size). */
  readonly batchSize?: number
  /** Proactive budget of the ten-second burst limit (default 90 per 10 s: Free/Starter allows 100). */
  readonly burstBudget?: Budget
  /** Proactive budget of CRM search (default 4 per second: HubSpot allows 5 per account). */
  readonly searchBudget?: Budget
  /** Contacts per search request of a pull (default and maximum 200). */
  readonly pullPageSize?: number
  /**
   * How far behind now a pull stays (default 10 s): HubSpot's search index is eventually
   * consistent, and a write that shows up late must not land behind a cursor already moved past it.
   */
  readonly pullSettle?: Duration.DurationInput
  /** Extra contact properties pulled as record attributes: HubSpot property name to attribute name. */
  readonly attributes?: Readonly<Record<string, string>>
  /** Retry behaviour. */
  readonly retry?: RetryOptions
  /** Time allowed for one HTTP request (default 30 s; the SDK has no timeout of its own). */
  readonly requestTimeout?: Duration.DurationInput
  /** Concurrent requests inside one operation (default 4), e.g. status reads of a pull page. */
  readonly concurrency?: number
}

/** A subscription mapping after validation. */
export interface ResolvedSubscription {
  readonly purpose: string
  readonly channel: "email"
  /** The subscription type id as a decimal string; also the target-side field name. */
  readonly subscriptionId: string
  readonly field: string
  readonly name: string | undefined
}

/** Options with every default filled in. */
export interface Resolved {
  readonly name: string
  readonly accessToken: Redacted.Redacted<string>
  readonly basePath: string
  readonly subscriptions: ReadonlyArray<ResolvedSubscription>
  readonly legalBasis: Readonly<Record<ConsentEvent.LegalBasis, HubSpotLegalBasis | null>>
  readonly batchSize: number
  readonly burstBudget: Budget
  readonly searchBudget: Budget
  readonly pullPageSize: number
  readonly pullSettle: Duration.Duration
  readonly attributes: Readonly<Record<string, string>>
  readonly maxRetries: number
  readonly baseDelay: Duration.Duration
  readonly maxRateLimitWait: Duration.Duration
  readonly requestTimeout: Duration.Duration
  readonly concurrency: number
}

/** The options do not describe a usable adapter; `problem` says which option and why. */
export class HubSpotConfigError extends Data.TaggedError("HubSpotConfigError")<{ readonly problem: string }> {
  override get message(): string {
    return `HubSpot adapter options: ${this.problem}`
  }
}

/** Most inputs of a HubSpot batch call (contacts and v4 statuses). */
export const MAX_BATCH_SIZE = 100
/** Most results of one CRM search request. */
export const MAX_SEARCH_LIMIT = 200

const positiveInt = (n: number): boolean => Number.isInteger(n) && n >= 1

const checkBudget = (what: string, b: Budget): string | undefined =>
  positiveInt(b.max) && positiveInt(b.windowMs)
    ? undefined
    : `${what} needs a positive integer max and windowMs`

/** Validates options and fills in the defaults. */
export const resolve = (options: Options): Either.Either<Resolved, HubSpotConfigError> => {
  const fail = (problem: string) => Either.left(new HubSpotConfigError({ problem }))
  const name = options.name ?? "hubspot"
  if (name.length === 0) return fail("name must not be empty")
  if (options.subscriptions.length === 0) return fail("subscriptions must map at least one key")
  const subscriptions: Array<ResolvedSubscription> = []
  const seen = new Set<string>()
  for (const s of options.subscriptions) {
    const id = String(s.subscriptionId).trim()
    if (!/^\d+$/.test(id))
      return fail(`subscriptionId ${JSON.stringify(id)} is not a HubSpot subscription type id`)
    if ((s.channel ?? "email") !== "email") return fail("HubSpot subscriptions hold the email channel only")
    if (s.purpose.length === 0) return fail("a subscription mapping has an empty purpose")
    if (seen.has(id)) return fail(`subscription type ${id} is mapped twice`)
    seen.add(id)
    subscriptions.push({ purpose: s.purpose, channel: "email", subscriptionId: id, field: id, name: s.name })
  }
  const batchSize = options.batchSize ?? MAX_BATCH_SIZE
  if (!positiveInt(batchSize) || batchSize > MAX_BATCH_SIZE)
    return fail(`batchSize must be 1 to ${MAX_BATCH_SIZE}`)
  const pullPageSize = options.pullPageSize ?? MAX_SEARCH_LIMIT
  if (!positiveInt(pullPageSize) || pullPageSize > MAX_SEARCH_LIMIT)
    return fail(`pullPageSize must be 1 to ${MAX_SEARCH_LIMIT}`)
  const burstBudget = options.burstBudget ?? { max: 90, windowMs: 10_000 }
  const searchBudget = options.searchBudget ?? { max: 4, windowMs: 1_000 }
  const badBudget = checkBudget("burstBudget", burstBudget) ?? checkBudget("searchBudget", searchBudget)
  if (badBudget !== undefined) return fail(badBudget)
  const maxRetries = options.retry?.maxRetries ?? 3
  if (!Number.isInteger(maxRetries) || maxRetries < 0) return fail("retry.maxRetries must be a whole number")
  const concurrency = options.concurrency ?? 4
  if (!positiveInt(concurrency)) return fail("concurrency must be a positive integer")
  for (const [property, attribute] of Object.entries(options.attributes ?? {}))
    if (property.length === 0 || attribute.length === 0) return fail("attributes maps empty names")
  let basePath = options.basePath ?? DEFAULT_BASE_PATH
  while (basePath.endsWith("/")) basePath = basePath.slice(0, -1)
  try {
    new URL(basePath)
  } catch {
    return fail("basePath is not a URL")
  }
  return Either.right({
    name,
    accessToken: options.accessToken,
    basePath,
    subscriptions,
    legalBasis: { ...defaultLegalBasis, ...options.legalBasis },
    batchSize,
    burstBudget,
    searchBudget,
    pullPageSize,
    pullSettle: Duration.decode(options.pullSettle ?? Duration.seconds(10)),
    attributes: options.attributes ?? {},
    maxRetries,
    baseDelay: Duration.decode(options.retry?.baseDelay ?? Duration.millis(200)),
    maxRateLimitWait: Duration.decode(options.retry?.maxRateLimitWait ?? Duration.seconds(15)),
    requestTimeout: Duration.decode(options.requestTimeout ?? Duration.seconds(30)),
    concurrency
  })
}

/** The target mapping the adapter declares: one key per mapped subscription type. */
export const mappingOf = (resolved: Resolved): ConsentDiff.TargetMapping => ({
  target: resolved.name,
  keys: resolved.subscriptions.map((s) => ({ purpose: s.purpose, channel: s.channel, field: s.field }))
})

/**
 * Options read from the environment: `HUBSPOT_ACCESS_TOKEN` (required, redacted) and
 * `HUBSPOT_BASE_PATH` (optional); the rest comes from `rest`. Pass it to `layerConfig`.
 */
export const fromEnv = (rest: Omit<Options, "accessToken" | "basePath">): Config.Config<Options> =>
  Config.all({
    accessToken: Config.redacted("HUBSPOT_ACCESS_TOKEN"),
    basePath: Config.option(Config.string("HUBSPOT_BASE_PATH"))
  }).pipe(
    Config.map(({ accessToken, basePath }) => ({
      ...rest,
      accessToken,
      ...(Option.isSome(basePath) ? { basePath: basePath.value } : {})
    }))
  )
