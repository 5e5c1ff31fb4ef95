/** The interchange record: schema, decoding with located errors, record keys. */
export * as SourceRecord from "./SourceRecord.js"
/** Normalisation of e-mails, phones, names, dates and addresses, and string similarity. */
export * as Normalize from "./Normalize.js"
/** The typed resolution configuration and its defaults. */
export * as ResolverConfig from "./ResolverConfig.js"
/** Record features and the pairwise comparison model. */
export * as Matcher from "./Matcher.js"
/** Typed events of profiles and records. */
export * as ProfileEvent from "./ProfileEvent.js"
/** Survivorship of attributes, with provenance. */
export * as Survivorship from "./Survivorship.js"
/** The ProfileStore contract and the in-memory store. */
export * as ProfileStore from "./ProfileStore.js"
/** The IdentityResolver service: ingest, profiles, explanations. */
export * as IdentityResolver from "./IdentityResolver.js"
/** Consent events: schema, decoding with located errors, event ids. */
export * as ConsentEvent from "./ConsentEvent.js"
/** The consent ledger: effective consent per purpose and channel, merge, GDPR flags. */
export * as ConsentLedger from "./ConsentLedger.js"
/** Consent diffs against a target's known state, both ways. */
export * as ConsentDiff from "./ConsentDiff.js"
/** The hash-chained audit log and consent receipts. */
export * as Audit from "./Audit.js"
/** Data-subject requests: access and portability, rectification, erasure, flags, preference choices. */
export * as DataSubject from "./DataSubject.js"
/** The one tagged error of adapters: reason, retryability, retry-after; never personal data. */
export * as AdapterError from "./AdapterError.js"
/** The consent target and record source contracts, and `make` helpers that derive batching and error discipline. */
export * as ConsentTarget from "./ConsentTarget.js"
/** The in-memory reference consent target, with a backdoor, injectable faults and a settable clock. */
export * as MemoryTarget from "./MemoryTarget.js"
/** The durable outbox of the sync engine: items, the retry policy, dead letters. */
export * as Outbox from "./Outbox.js"
/** The sync engine's checkpoints: cursors, known states, links, the outbox and dead letters. */
export * as SyncStore from "./SyncStore.js"
/** The sync engine: pull, resolve, diff and push between the living profiles and the consent targets. */
export * as SyncEngine from "./SyncEngine.js"
/** A Promise facade for code that does not use Effect. */
export { LivingProfile } from "./LivingProfile.js"
