/**
 * Mappers between the newsletter tool's shapes and the shared ones, apart from the transport:
 * subscribed / unsubscribed are granted / denied, a list is a target field, a subscriber is a
 * person whose externalId is the tool's subscriber id and whose one identifier is the e-mail.
 */
import type { ConsentLedger, ConsentTarget, SourceRecord } from "@living-profile/core"
import type { Subscriber, Subscription, Tombstone } from "./NewsletterFile.js"

/** The tool's status for a status the target holds (only granted and denied reach here). */
export const toToolStatus = (status: ConsentLedger.EffectiveStatus): Subscription["status"] =>
  status === "granted" ? "subscribed" : "unsubscribed"

/** The shared status of the tool's status. */
export const fromToolStatus = (status: Subscription["status"]): "granted" | "denied" =>
  status === "subscribed" ? "granted" : "denied"

/** E-mails are matched the way the tool does: NFC and case-insensitive. */
export const sameEmail = (a: string, b: string): boolean =>
  a.normalize("NFC").toLowerCase() === b.normalize("NFC").toLowerCase()

/** A subscriber as the shared HeldPerson. */
export const toHeldPerson = (s: Subscriber): ConsentTarget.HeldPerson => {
  const fields = new Map<string, ConsentTarget.HeldField>()
  for (const [list, sub] of Object.entries(s.lists)) {
    fields.set(list, {
      status: fromToolStatus(sub.status),
      modifiedAt: sub.changedAt,
      ...(sub.consentVersion === undefined ? {} : { policyVersion: sub.consentVersion })
    })
  }
  return { externalId: s.id, identifiers: { email: [s.email] }, fields }
}

/** A subscription as a pulled change. */
export const toPulledChange = (
  s: Subscriber,
  list: string,
  sub: Subscription
): ConsentTarget.PulledChange => ({
  externalId: s.id,
  identifiers: { email: [s.email] },
  field: list,
  status: fromToolStatus(sub.status),
  modifiedAt: sub.changedAt,
  ...(sub.consentVersion === undefined ? {} : { policyVersion: sub.consentVersion })
})

/** A subscriber as an identity record of source `source`. */
export const toRecord = (source: string, s: Subscriber): SourceRecord.SourceRecord => ({
  source,
  id: s.id,
  updatedAt: s.updatedAt,
  identifiers: { email: [s.email] },
  attributes: { ...s.mergeFields }
})

/** A tombstone as a deleted identity record: the id only, nothing of the person. */
export const toDeletedRecord = (source: string, t: Tombstone): SourceRecord.SourceRecord => ({
  source,
  id: t.id,
  updatedAt: t.deletedAt,
  deleted: true
})
