/**
 * The audit log: an append-only list of consent events, data-subject requests and propagation
 * outcomes, each entry chained to the one before it by a SHA-256 hash, so that a changed, removed
 * or reordered entry is detected. Also consent receipts, one per consent event.
 *
 * Pure and in memory: persistence comes with the ProfileStore. Entries carry ids, never personal
 * data values: the log must outlive an erasure.
 */
import { type ConsentEvent, canonicalJson, sha256, toMillis } from "./ConsentEvent.js"

/** A JSON value. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** What an entry records: a consent event, a data-subject request, or the outcome of a propagation. */
export type AuditKind = "consent" | "request" | "propagation"

/** An entry as the caller describes it; `append` gives it its place and hashes. */
export interface AuditInput {
  /** When it happened (ISO-8601); the log has no clock of its own. */
  readonly at: string
  readonly kind: AuditKind
  readonly profileId: string
  /** Who did it: a user, a service, a target system. */
  readonly actor: string
  /** The system the event or request came from. */
  readonly source: string
  readonly policyVersion?: string
  /** What happened, as ids and codes only: no personal data values. */
  readonly detail: Json
}

/** An entry of the log, chained to the previous one. */
export interface AuditEntry extends AuditInput {
  /** Position in the log, from 1. */
  readonly seq: number
  /** `hash` of the previous entry; 64 zeros for the first. */
  readonly prevHash: string
  /** SHA-256 of the canonical JSON of this entry without `hash`. */
  readonly hash: string
}

/** The `prevHash` of the first entry. */
export const genesisHash = "0".repeat(64)

const hashOf = (e: Omit<AuditEntry, "hash">): string =>
  sha256(
    canonicalJson({
      seq: e.seq,
      at: e.at,
      kind: e.kind,
      profileId: e.profileId,
      actor: e.actor,
      source: e.source,
      policyVersion: e.policyVersion,
      detail: e.detail,
      prevHash: e.prevHash
    })
  )

/** The entry that follows `prev` (or starts a log when `prev` is undefined); what a store appends. */
export const next = (prev: AuditEntry | undefined, input: AuditInput): AuditEntry => {
  const base = {
    seq: prev === undefined ? 1 : prev.seq + 1,
    at: input.at,
    kind: input.kind,
    profileId: input.profileId,
    actor: input.actor,
    source: input.source,
    ...(input.policyVersion === undefined ? {} : { policyVersion: input.policyVersion }),
    detail: input.detail,
    prevHash: prev === undefined ? genesisHash : prev.hash
  }
  return { ...base, hash: hashOf(base) }
}

/** An in-memory, append-only audit log. */
export class AuditLog {
  readonly #entries: Array<AuditEntry>

  /** A log, empty or continuing entries loaded from elsewhere (verify them first). */
  constructor(entries: ReadonlyArray<AuditEntry> = []) {
    this.#entries = entries.slice()
  }

  /** Every entry, oldest first. */
  get entries(): ReadonlyArray<AuditEntry> {
    return this.#entries
  }

  /** Appends an entry chained to the last one and returns it. */
  append(input: AuditInput): AuditEntry {
    const entry = next(this.#entries[this.#entries.length - 1], input)
    this.#entries.push(entry)
    return entry
  }
}

/** The outcome of `verify`: where the chain first breaks and how. */
export type VerifyResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly at: number; readonly problem: "changed" | "removed" | "reordered" }

/**
 * Checks the chain. `changed`: an entry's content no longer matches its hash, or no longer matches
 * what its successor committed to (`at` is that entry). `removed`: a position is missing (`at` is
 * the missing seq). `reordered`: the entry for a position appears elsewhere in the list.
 *
 * A hash chain alone cannot see the last entries cut off, or a log rewritten from scratch: pass
 * `anchor`, the seq and hash of the last entry as recorded elsewhere, to detect both.
 */
export const verify = (
  entries: ReadonlyArray<AuditEntry>,
  anchor?: { readonly seq: number; readonly hash: string }
): VerifyResult => {
  let prevHash = genesisHash
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    const expected = i + 1
    if (e.seq !== expected) {
      let elsewhere = e.seq < expected
      for (let j = i + 1; !elsewhere && j < entries.length; j++) elsewhere = entries[j]!.seq === expected
      return { ok: false, at: expected, problem: elsewhere ? "reordered" : "removed" }
    }
    if (hashOf(e) !== e.hash) return { ok: false, at: e.seq, problem: "changed" }
    if (e.prevHash !== prevHash)
      return { ok: false, at: i === 0 ? e.seq : entries[i - 1]!.seq, problem: "changed" }
    prevHash = e.hash
  }
  if (anchor !== undefined) {
    const last = entries[anchor.seq - 1]
    if (last === undefined) return { ok: false, at: entries.length + 1, problem: "removed" }
    if (last.hash !== anchor.hash) return { ok: false, at: anchor.seq, problem: "changed" }
  }
  return { ok: true }
}

/** The entries about one profile, oldest first. */
export const forProfile = (entries: ReadonlyArray<AuditEntry>, profileId: string): Array<AuditEntry> =>
  entries.filter((e) => e.profileId === profileId)

/** The audit input recording a consent event: ids and codes only, never the event's proof. */
export const ofEvent = (event: ConsentEvent, profileId: string, at: string, actor: string): AuditInput => ({
  at,
  kind: "consent",
  profileId,
  actor,
  source: event.source,
  ...(event.policyVersion === undefined ? {} : { policyVersion: event.policyVersion }),
  detail: {
    eventId: event.eventId,
    kind: event.kind,
    purpose: event.purpose,
    channel: event.channel,
    status: event.status,
    legalBasis: event.legalBasis,
    capturedAt: event.capturedAt,
    ...(event.record === undefined ? {} : { record: { source: event.record.source, id: event.record.id } })
  }
})

/** One purpose of a consent receipt. */
export interface ReceiptPurpose {
  readonly purpose: string
  readonly channel: string
  readonly status: string
  readonly legalBasis: string
  readonly policyVersion?: string
  /** Present for GDPR flag events (restriction, objection, ...); `granted` then means the flag is set. */
  readonly kind?: string
}

/**
 * A consent receipt in the spirit of the Kantara Initiative Consent Receipt (v1.1): what the
 * person agreed to, when, how it was collected, for whom. Carries no proof (personal data).
 */
export interface ConsentReceipt {
  readonly version: "KI-CR-v1.1.0"
  readonly jurisdiction?: string
  /** Seconds since the epoch, as in the Kantara specification. */
  readonly consentTimestamp: number
  /** How the consent was collected: the event's source. */
  readonly collectionMethod: string
  /** The profile id: the receipt names the person by id only. */
  readonly piiPrincipalId: string
  /** The ledger event the receipt is for. */
  readonly eventId: string
  readonly purposes: ReadonlyArray<ReceiptPurpose>
  /** SHA-256 of the canonical JSON of the receipt without `receiptId`: the same event gives the same receipt. */
  readonly receiptId: string
}

/** The consent receipt of one event for one profile. */
export const receipt = (
  event: ConsentEvent,
  profileId: string,
  options: { readonly jurisdiction?: string } = {}
): ConsentReceipt => {
  const purpose: ReceiptPurpose = {
    purpose: event.purpose,
    channel: event.channel,
    status: event.status,
    legalBasis: event.legalBasis,
    ...(event.policyVersion === undefined ? {} : { policyVersion: event.policyVersion }),
    ...(event.kind === "consent" ? {} : { kind: event.kind })
  }
  const body = {
    version: "KI-CR-v1.1.0" as const,
    ...(options.jurisdiction === undefined ? {} : { jurisdiction: options.jurisdiction }),
    consentTimestamp: Math.floor(toMillis(event.capturedAt) / 1000),
    collectionMethod: event.source,
    piiPrincipalId: profileId,
    eventId: event.eventId,
    purposes: [purpose]
  }
  return { ...body, receiptId: sha256(canonicalJson(body)) }
}
