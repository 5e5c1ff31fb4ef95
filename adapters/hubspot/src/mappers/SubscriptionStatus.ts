/**
 * HubSpot subscription statuses as ours, and our changes as v4 status writes:
 *
 * | HubSpot (v4)    | ours                                        |
 * | --------------- | ------------------------------------------- |
 * | `SUBSCRIBED`    | `granted`                                   |
 * | `UNSUBSCRIBED`  | `denied` (pushed from `denied`/`withdrawn`) |
 * | `NOT_SPECIFIED` | no state: the field is absent, nothing is pulled |
 *
 * HubSpot cannot tell a refusal from a withdrawal, so the target declares no statuses beyond
 * granted / denied and the diff maps `withdrawn` (and `expired`, `pending`) to `denied` before a
 * push. The legal basis comes from the ledger's effective event, mapped per HubSpotConfig.
 */
import type { ConsentDiff, ConsentLedger, ConsentTarget } from "@living-profile/core"
import type { HubSpotLegalBasis, Resolved, ResolvedSubscription } from "../HubSpotConfig.js"
import type { PublicStatus, WriteInput } from "../internal/Wire.js"
import type { HubSpotContact } from "./Contact.js"
import { emailOf, identifiersOf } from "./Contact.js"

/** The statuses of v4. */
export type HubSpotStatus = "SUBSCRIBED" | "UNSUBSCRIBED" | "NOT_SPECIFIED"

/** The v4 status that holds one of our statuses: only a grant subscribes. */
export const toStatusState = (status: ConsentLedger.EffectiveStatus): "SUBSCRIBED" | "UNSUBSCRIBED" =>
  status === "granted" ? "SUBSCRIBED" : "UNSUBSCRIBED"

/** Our status of a v4 status; undefined for `NOT_SPECIFIED` (no state) or anything unknown. */
export const fromHubSpot = (status: string): "granted" | "denied" | undefined =>
  status === "SUBSCRIBED" ? "granted" : status === "UNSUBSCRIBED" ? "denied" : undefined

/** HubSpot's legal basis for a change, from the ledger's event; undefined when it has no counterpart. */
export const legalBasisOf = (
  config: Pick<Resolved, "legalBasis">,
  change: ConsentDiff.Change
): HubSpotLegalBasis | undefined => config.legalBasis[change.because.legalBasis] ?? undefined

/**
 * The explanation HubSpot keeps with the status: where it came from, by ids only (event ids are
 * hashes, policy versions are document names), so that a HubSpot user can trace it back.
 */
export const explanationOf = (change: ConsentDiff.Change): string => {
  const policy = change.because.policyVersion === undefined ? "" : `, policy ${change.because.policyVersion}`
  return `living-profile consent event ${change.because.eventId} (${change.key}${policy})`.slice(0, 500)
}

/** The v4 write that makes `email` hold the change in subscription type `subscription`. */
export const toWriteInput = (
  config: Pick<Resolved, "legalBasis">,
  email: string,
  subscription: ResolvedSubscription,
  change: ConsentDiff.Change
): WriteInput => {
  const legalBasis = legalBasisOf(config, change)
  return {
    subscriberIdString: email,
    channel: "EMAIL",
    subscriptionId: Number(subscription.subscriptionId),
    statusState: toStatusState(change.to),
    ...(legalBasis === undefined ? {} : { legalBasis, legalBasisExplanation: explanationOf(change) })
  }
}

/** A v4 timestamp as ISO-8601 (HubSpot sends ISO; epoch millis are read too); undefined when unreadable. */
export const isoOf = (timestamp: string | undefined): string | undefined => {
  if (timestamp === undefined) return undefined
  const ms = /^\d+$/.test(timestamp) ? Number(timestamp) : Date.parse(timestamp)
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
}

/** The mapped fields a contact holds, from its v4 statuses (types not mapped are left out). */
export const toHeldFields = (
  subscriptions: ReadonlyArray<ResolvedSubscription>,
  statuses: ReadonlyArray<PublicStatus>
): Map<string, ConsentTarget.HeldField> => {
  const fields = new Map<string, ConsentTarget.HeldField>()
  for (const s of subscriptions) {
    const got = statuses.find((x) => String(x.subscriptionId) === s.subscriptionId)
    const status = got === undefined ? undefined : fromHubSpot(got.status)
    if (got === undefined || status === undefined) continue
    const at = isoOf(got.timestamp)
    fields.set(s.field, at === undefined ? { status } : { status, modifiedAt: at })
  }
  return fields
}

/** What the target holds for a contact. */
export const toHeldPerson = (
  subscriptions: ReadonlyArray<ResolvedSubscription>,
  contact: HubSpotContact,
  statuses: ReadonlyArray<PublicStatus>
): ConsentTarget.HeldPerson => ({
  externalId: contact.id,
  identifiers: identifiersOf(contact),
  fields: toHeldFields(subscriptions, statuses)
})

/**
 * The contact's current statuses as pulled changes. A status without a timestamp takes the
 * contact's modification time (`fallbackAt`), the latest it can have changed.
 */
export const toPulledChanges = (
  subscriptions: ReadonlyArray<ResolvedSubscription>,
  contact: HubSpotContact,
  statuses: ReadonlyArray<PublicStatus>,
  fallbackAt: string
): Array<ConsentTarget.PulledChange> => {
  const out: Array<ConsentTarget.PulledChange> = []
  if (emailOf(contact) === undefined) return out
  const identifiers = identifiersOf(contact)
  for (const [field, held] of toHeldFields(subscriptions, statuses)) {
    if (held.status !== "granted" && held.status !== "denied") continue
    out.push({
      externalId: contact.id,
      identifiers,
      field,
      status: held.status,
      modifiedAt: held.modifiedAt ?? fallbackAt
    })
  }
  return out
}
