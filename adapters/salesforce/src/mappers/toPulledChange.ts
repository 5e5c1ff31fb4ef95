/**
 * Consent state read from Salesforce as pulled changes, one per Contact or Lead linked to the
 * Individual that holds it (each is a person of the target with its own externalId).
 *
 * - A ContactPointTypeConsent record reports its status at its `CaptureDate` (when the person
 *   made the choice), falling back to `LastModifiedDate`. CaptureDate, not SystemModstamp, because
 *   the record we wrote ourselves must come back at the time the person chose, or it would
 *   outrank a later choice made elsewhere that reached us after our write.
 * - An opt-out checkbox or Individual flag that is set reports `denied` at its record's
 *   `LastModifiedDate` (booleans keep no time of their own). One that is clear reports nothing:
 *   the absence of an opt-out is not evidence of consent.
 */
import type { ConsentTarget } from "@living-profile/core"
import { type PrivacyConsentStatus, pulledOf } from "./consentStatus.js"

/** The person a change is reported for. */
export interface PulledPerson {
  readonly externalId: string
  readonly identifiers: Readonly<Record<string, ReadonlyArray<string>>>
}

const base = (person: PulledPerson) =>
  Object.keys(person.identifiers).length > 0
    ? { externalId: person.externalId, identifiers: person.identifiers }
    : { externalId: person.externalId }

/** The change a consent record reports, if it records a choice of the person. */
export const fromConsentRecord = (
  person: PulledPerson,
  field: string,
  status: PrivacyConsentStatus,
  modifiedAt: string | undefined
): ConsentTarget.PulledChange | undefined => {
  const pulled = pulledOf(status)
  if (pulled === undefined || modifiedAt === undefined) return undefined
  return { ...base(person), field, status: pulled, modifiedAt }
}

/** The change a set opt-out checkbox or flag reports. */
export const fromOptOut = (
  person: PulledPerson,
  field: string,
  modifiedAt: string | undefined
): ConsentTarget.PulledChange | undefined =>
  modifiedAt === undefined ? undefined : { ...base(person), field, status: "denied", modifiedAt }
