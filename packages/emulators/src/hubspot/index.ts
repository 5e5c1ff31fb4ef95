/** Start an emulator, and the public types of its options and handle. */
export {
  DEFAULT_BURST_LIMIT,
  DEFAULT_DAILY_LIMIT,
  DEFAULT_SEARCH_LIMIT,
  type HubSpotEmulator,
  type StartOptions,
  start
} from "./Emulator.js"
/** The command-line entry (`living-profile emulator hubspot --port N`). */
export { type MainIo, USAGE, main, parseArgs } from "./Main.js"
/** Backdoor types. */
export type {
  Backdoor,
  ContactSnapshot,
  SetSubscriptionOptions,
  SubscriptionSnapshot,
  UpsertOptions
} from "./Backdoor.js"
/** Clock types. */
export type { Clock, Instant } from "./Clock.js"
/** Fault-injection types. */
export type { FaultEffect, FaultHandle, FaultMatch, FaultRule, Faults } from "./Faults.js"
/** Rate-limit types. */
export type { Policy as RateLimitPolicy, Usage, Window } from "./Limits.js"
/** Request-log types. */
export type { Outcome, RequestLogEntry } from "./RequestLog.js"
/** Subscription constants and types. */
export {
  DEFAULT_SUBSCRIPTION_TYPES,
  LEGAL_BASES,
  type LegalBasis,
  type Status as SubscriptionStatus,
  type SubscriptionTypeOptions
} from "./Subscriptions.js"
/** Search limits. */
export { MAX_LIMIT as SEARCH_MAX_LIMIT, RESULT_CEILING as SEARCH_RESULT_CEILING } from "./Search.js"
/** Batch limits. */
export { MAX_BATCH_INPUTS, MAX_HISTORY_INPUTS } from "./ContactsApi.js"
