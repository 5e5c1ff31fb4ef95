/**
 * Our consent statuses and Salesforce's `PrivacyConsentStatus` / opt-out checkboxes, both ways.
 *
 * | ours      | written as      | read back as | pulled as |
 * | --------- | --------------- | ------------ | --------- |
 * | granted   | OptIn           | granted      | granted   |
 * | denied    | OptOut          | denied       | denied    |
 * | pending   | OptInPending    | pending      | (nothing: a reading of ours, not a choice) |
 * | —         | OptOutPending   | denied       | denied (the person asked to opt out) |
 * | —         | NotSeen, Seen   | (absent)     | (nothing: no choice was made) |
 *
 * `withdrawn` and `expired` are not held (the diff sends them as `denied`). An opt-out checkbox or
 * flag is `false` only for `granted`: anything else must stop the sending.
 */
import type { ConsentEvent, ConsentLedger } from "@living-profile/core"

/** The `PrivacyConsentStatus` picklist (OptInPending / OptOutPending from API 58.0). */
export type PrivacyConsentStatus = "NotSeen" | "Seen" | "OptIn" | "OptOut" | "OptInPending" | "OptOutPending"

const ALL = new Set<string>(["NotSeen", "Seen", "OptIn", "OptOut", "OptInPending", "OptOutPending"])

/** Whether a value is a PrivacyConsentStatus. */
export const isPrivacyConsentStatus = (u: unknown): u is PrivacyConsentStatus =>
  typeof u === "string" && ALL.has(u)

/** What a consent record is set to for one of our statuses; undefined: a record cannot hold it. */
export const toPrivacyConsentStatus = (
  status: ConsentLedger.EffectiveStatus
): PrivacyConsentStatus | undefined => {
  switch (status) {
    case "granted":
      return "OptIn"
    case "denied":
      return "OptOut"
    case "pending":
      return "OptInPending"
    default:
      return undefined
  }
}

/** What a consent record holds, as `read` reports it; undefined when it records no choice. */
export const heldOf = (status: PrivacyConsentStatus): ConsentLedger.EffectiveStatus | undefined => {
  switch (status) {
    case "OptIn":
      return "granted"
    case "OptOut":
    case "OptOutPending":
      return "denied"
    case "OptInPending":
      return "pending"
    default:
      return undefined
  }
}

/** What the person said, as `pull` reports it; undefined when the record holds no choice of theirs. */
export const pulledOf = (status: PrivacyConsentStatus): ConsentEvent.Status | undefined => {
  switch (status) {
    case "OptIn":
      return "granted"
    case "OptOut":
    case "OptOutPending":
      return "denied"
    default:
      return undefined
  }
}

/**
 * Whether a consent record already says what a set opt-out checkbox says (or that a decision is
 * pending): then the record speaks for the key and the checkbox adds nothing.
 */
export const agreesWithOptOut = (status: PrivacyConsentStatus | undefined): boolean =>
  status === "OptOut" || status === "OptOutPending" || status === "OptInPending"

/** The value of an opt-out checkbox or flag for one of our statuses. */
export const optedOut = (status: ConsentLedger.EffectiveStatus): boolean => status !== "granted"
