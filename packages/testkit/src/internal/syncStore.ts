/**
 * Building blocks of the SyncStore suite: fresh random names (so that no test depends on what
 * another wrote), outbox items and dead letters as the sync engine makes them, and names with the
 * characters that break naive key layouts (separators, hash-tag braces, glob characters, Unicode).
 */
import { randomUUID } from "node:crypto"
import type { ConsentLedger, ConsentTarget } from "@living-profile/core"
import { Outbox } from "@living-profile/core"

/** A short random token. */
export const token = (): string => randomUUID().replace(/-/g, "").slice(0, 12)

/** A fresh name for a target, source, profile or externalId. */
export const fresh = (tag: string): string => `kit-${tag}-${token()}`

/**
 * A fresh name full of what a key layout must survive: its separators (`:`), hash-tag braces,
 * glob characters, spaces, percent signs, Turkish letters and an emoji.
 */
export const awkward = (tag: string): string => `kit:{${tag}} *?[x] 100% ağ İ🎉:${token()}`

/** A moment in epoch millis, `k` seconds after a fixed instant (realistic magnitudes). */
export const T = (k: number): number => 1_700_000_000_000 + k * 1_000

/** Failures as adapters report them (no personal data). */
export const failures = {
  transport: { reason: "Transport", detail: "push failed", code: "ECONNRESET" },
  rateLimited: { reason: "RateLimited", detail: "too many requests", code: "429" },
  rejected: { reason: "Rejected", detail: "the target refused the change" },
  unsupported: { reason: "Unsupported", detail: "the target does not support erase" }
} as const satisfies Record<string, Outbox.Failure>

/** Options of a push item. */
export interface PushOptions {
  /** The field the diff sets (default `newsletter`). */
  readonly field?: string
  readonly status?: ConsentLedger.EffectiveStatus
  /** How the diff names the person (default by a fresh externalId). */
  readonly ref?: ConsentTarget.PersonRef
  readonly policyVersion?: string
}

/**
 * A push item as the engine enqueues it, recorded at `at` and due then. Every call has a fresh
 * event id, so two calls for the same target and profile give items of the same key with
 * different ids (the second supersedes the first).
 */
export const pushItem = (
  target: string,
  profileId: string,
  at: number,
  o: PushOptions = {}
): Outbox.PushItem => {
  const status = o.status ?? "granted"
  return Outbox.push(
    {
      profileId,
      target,
      ref: o.ref ?? { externalId: fresh("x") },
      changes: [
        {
          key: "marketing/email",
          field: o.field ?? "newsletter",
          from: null,
          to: status,
          because: {
            status,
            capturedAt: new Date(at).toISOString(),
            source: "conformance-kit",
            eventId: fresh("event"),
            legalBasis: "consent",
            ...(o.policyVersion === undefined ? {} : { policyVersion: o.policyVersion })
          }
        }
      ]
    },
    at
  )
}

/** An erase item for two refs of a person (one by externalId, one by identifiers), recorded at `at`. */
export const eraseItem = (target: string, profileId: string, at: number): Outbox.EraseItem =>
  Outbox.erase(
    target,
    profileId,
    [{ externalId: fresh("x") }, { identifiers: { email: [`kit.${token()}@example.test`] } }],
    at
  )

/** The item with other scheduling fields (the content and so the id stay). */
export const scheduled = <I extends Outbox.Item>(
  item: I,
  fields: {
    readonly enqueuedAt?: number
    readonly nextAttemptAt?: number
    readonly attempts?: number
    readonly lastError?: Outbox.Failure
  }
): I => ({ ...item, ...fields })

/** The item without a `lastError`. */
export const withoutError = <I extends Outbox.Item>(item: I): I => {
  const { lastError: _dropped, ...rest } = item
  return rest as I
}
