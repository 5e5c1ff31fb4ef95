/**
 * The `hubspot` kind of the sync config: a `@living-profile/hubspot` target. The entry's options
 * are the adapter's non-secret options; the private app's access token comes from the environment
 * through the adapter's own `HubSpotConfig.fromEnv` (see TargetEnv), never from the config file.
 */
import type { ConsentEvent, ConsentTarget } from "@living-profile/core"
import type { HubSpotConfig } from "@living-profile/hubspot"
import { Effect, Either, Schema } from "effect"
import {
  type AdapterContext,
  type AdapterKind,
  DurationText,
  decodeOptions,
  NonEmpty,
  optional,
  PositiveInt,
  toDuration
} from "./AdapterKind.js"
import { ConfigInvalid, runEffect } from "./ExitCode.js"
import * as TargetEnv from "./TargetEnv.js"

// Loaded when a config names the kind: the HubSpot SDK is large, and the other commands never need it.
const adapter = () => import("@living-profile/hubspot")

/** The variables `HubSpotConfig.fromEnv` reads (its documented names). */
export const variables = {
  accessToken: "HUBSPOT_ACCESS_TOKEN",
  basePath: "HUBSPOT_BASE_PATH"
} as const

const HubSpotLegalBasis: Schema.Schema<HubSpotConfig.HubSpotLegalBasis> = Schema.Literal(
  "LEGITIMATE_INTEREST_PQL",
  "LEGITIMATE_INTEREST_CLIENT",
  "PERFORMANCE_OF_CONTRACT",
  "CONSENT_WITH_NOTICE",
  "NON_GDPR",
  "PROCESS_AND_STORE",
  "LEGITIMATE_INTEREST_OTHER"
)
// Spelled out: core's type declarations export the LegalBasis type but not its schema.
const LegalBasis: Schema.Schema<ConsentEvent.LegalBasis> = Schema.Literal(
  "consent",
  "contract",
  "legal_obligation",
  "vital_interests",
  "public_task",
  "legitimate_interests"
)
const Budget = Schema.Struct({ max: PositiveInt, windowMs: PositiveInt })

/** The options of a `hubspot` entry: the adapter's, without `name` (the entry's) and `accessToken` (the environment's). */
export const HubSpotOptions = Schema.Struct({
  /** The API's base URL (default: `HUBSPOT_BASE_PATH`, else `https://api.hubapi.com`). */
  basePath: optional(NonEmpty),
  /** Documented variable name to the variable read instead. */
  env: optional(
    Schema.Struct({
      HUBSPOT_ACCESS_TOKEN: optional(TargetEnv.VariableName),
      HUBSPOT_BASE_PATH: optional(TargetEnv.VariableName)
    })
  ),
  /** Which subscription type holds which of our keys (required: the ids are the portal's). */
  subscriptions: Schema.Array(
    Schema.Struct({
      purpose: NonEmpty,
      channel: optional(Schema.Literal("email")),
      subscriptionId: Schema.Union(NonEmpty, PositiveInt),
      name: optional(Schema.String)
    })
  ).pipe(Schema.minItems(1)),
  legalBasis: optional(
    Schema.partialWith(Schema.Record({ key: LegalBasis, value: Schema.NullOr(HubSpotLegalBasis) }), {
      exact: true
    })
  ),
  batchSize: optional(PositiveInt),
  burstBudget: optional(Budget),
  searchBudget: optional(Budget),
  pullPageSize: optional(PositiveInt),
  pullSettle: optional(DurationText),
  attributes: optional(Schema.Record({ key: NonEmpty, value: NonEmpty })),
  retry: optional(
    Schema.Struct({
      maxRetries: optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative())),
      baseDelay: optional(DurationText),
      maxRateLimitWait: optional(DurationText)
    })
  ),
  requestTimeout: optional(DurationText),
  concurrency: optional(PositiveInt)
})
/** The options of a `hubspot` entry, decoded. */
export type HubSpotOptions = typeof HubSpotOptions.Type

/** Builds a `hubspot` target. */
export const load = async (context: AdapterContext): Promise<ConsentTarget.ConsentTarget> => {
  TargetEnv.refuseCredentials(context, { accessToken: variables.accessToken })
  const o = decodeOptions(HubSpotOptions, context)
  const { HubSpotConfig, make } = await adapter()
  const retry = o.retry
  const rest: Omit<HubSpotConfig.Options, "accessToken" | "basePath"> = {
    name: context.name,
    subscriptions: o.subscriptions,
    ...(o.legalBasis === undefined ? {} : { legalBasis: o.legalBasis }),
    ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
    ...(o.burstBudget === undefined ? {} : { burstBudget: o.burstBudget }),
    ...(o.searchBudget === undefined ? {} : { searchBudget: o.searchBudget }),
    ...(o.pullPageSize === undefined ? {} : { pullPageSize: o.pullPageSize }),
    ...(o.pullSettle === undefined ? {} : { pullSettle: toDuration(o.pullSettle) }),
    ...(o.attributes === undefined ? {} : { attributes: o.attributes }),
    ...(retry === undefined
      ? {}
      : {
          retry: {
            ...(retry.maxRetries === undefined ? {} : { maxRetries: retry.maxRetries }),
            ...(retry.baseDelay === undefined ? {} : { baseDelay: toDuration(retry.baseDelay) }),
            ...(retry.maxRateLimitWait === undefined
              ? {}
              : { maxRateLimitWait: toDuration(retry.maxRateLimitWait) })
          }
        }),
    ...(o.requestTimeout === undefined ? {} : { requestTimeout: toDuration(o.requestTimeout) }),
    ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency })
  }
  const options = TargetEnv.read(
    HubSpotConfig.fromEnv(rest),
    {
      variables: Object.values(variables),
      renames: o.env,
      fromFile: { [variables.basePath]: o.basePath },
      options: { [variables.basePath]: "basePath" }
    },
    context
  )
  // The adapter checks the options (subscription ids, limits) as it is made: a config error naming them.
  const made = await runEffect(Effect.either(make(options)))
  if (Either.isLeft(made))
    throw new ConfigInvalid({ file: context.file, detail: `${context.path}: ${made.left.problem}` })
  return made.right.target
}

/** The `hubspot` kind. */
export const kind: AdapterKind = {
  description: "HubSpot e-mail subscription statuses of contacts (communication preferences v4)",
  load
}
