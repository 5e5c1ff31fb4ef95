/**
 * What Salesforce holds for one person (a Contact or Lead), as `read` reports it: each mapped key
 * from the Individual's current ContactPointTypeConsent record or opt-out flag, with the Contact /
 * Lead checkbox mirrored from a key winning where it says "opted out" and the record says nothing
 * to the contrary (Salesforce's own rule: the least permissive preference wins).
 *
 * An Individual flag is an opt-out ("Don't Profile"): set, it holds `denied` (at the Individual's
 * LastModifiedDate); clear, it holds nothing, as a clear checkbox holds nothing of its own. A
 * flag never set and one a grant cleared look the same, and the absence of an opt-out is not
 * consent: reading it as `granted` would report a consent nobody gave (every new Individual has
 * every flag clear). Pull reports the same (see toPulledChange), so `read` and `pull` agree.
 */
import type { ConsentTarget } from "@living-profile/core"
import type { ConsentKey } from "../SalesforceConfig.js"
import { id15 } from "../Soql.js"
import {
  agreesWithOptOut,
  heldOf,
  isPrivacyConsentStatus,
  type PrivacyConsentStatus
} from "./consentStatus.js"
import { identifiersOf } from "./toSourceRecord.js"
import { flag, idOf, instant, millis, parent, type Row, text } from "./wire.js"

/** The key a consent record is filed under: Individual, DataUsePurpose name, ContactPointType. */
export const recordKey = (party: string, purposeName: string, contactPointType: string): string =>
  `${id15(party)}\u001f${purposeName}\u001f${contactPointType}`

/** The key of a consent row (selected with `DataUsePurpose.Name`), or undefined when incomplete. */
export const keyOfRow = (row: Row): string | undefined => {
  const party = text(row, "PartyId")
  const purpose = parent(row, "DataUsePurpose")
  const purposeName = purpose === undefined ? undefined : text(purpose, "Name")
  const type = text(row, "ContactPointType")
  return party === undefined || purposeName === undefined || type === undefined
    ? undefined
    : recordKey(party, purposeName, type)
}

/**
 * The current consent record of each key: the one modified last (SystemModstamp, then Id). An org
 * may keep several per key (history, imports); the newest is the one its users see change.
 */
export const currentRecords = (rows: ReadonlyArray<Row>): Map<string, Row> => {
  const out = new Map<string, Row>()
  for (const row of rows) {
    const key = keyOfRow(row)
    if (key === undefined) continue
    const held = out.get(key)
    if (held === undefined) {
      out.set(key, row)
      continue
    }
    const a = millis(row, "SystemModstamp")
    const b = millis(held, "SystemModstamp")
    if (a > b || (a === b && (idOf(row) ?? "") > (idOf(held) ?? ""))) out.set(key, row)
  }
  return out
}

/** The status of a consent row, when it has a valid one. */
export const statusOfRow = (row: Row | undefined): PrivacyConsentStatus | undefined => {
  const s = row?.["PrivacyConsentStatus"]
  return isPrivacyConsentStatus(s) ? s : undefined
}

/** When a consent row says the choice was made: CaptureDate, else its last modification. */
export const choiceTimeOf = (row: Row): string | undefined =>
  instant(row, "CaptureDate") ?? instant(row, "LastModifiedDate")

const field = (
  status: ConsentTarget.HeldField["status"],
  modifiedAt: string | undefined
): ConsentTarget.HeldField => (modifiedAt === undefined ? { status } : { status, modifiedAt })

/**
 * The held state of a person row (selected with the Individual's flags as `Individual.<flag>` and
 * `Individual.LastModifiedDate`), given the current consent records of every Individual involved.
 */
export const toHeldPerson = (
  person: Row,
  keys: ReadonlyArray<ConsentKey>,
  fieldOf: (key: ConsentKey) => string,
  records: ReadonlyMap<string, Row>
): ConsentTarget.HeldPerson => {
  const externalId = idOf(person) ?? ""
  const individualId = text(person, "IndividualId")
  const individual = parent(person, "Individual")
  const fields = new Map<string, ConsentTarget.HeldField>()
  for (const key of keys) {
    if (key.kind === "Individual") {
      if (individualId !== undefined && individual !== undefined && flag(individual, key.flag))
        fields.set(fieldOf(key), field("denied", instant(individual, "LastModifiedDate")))
      continue
    }
    const row =
      individualId === undefined
        ? undefined
        : records.get(recordKey(individualId, key.dataUsePurpose, key.contactPointType))
    const status = statusOfRow(row)
    if (key.checkbox !== undefined && flag(person, key.checkbox) && !agreesWithOptOut(status)) {
      fields.set(fieldOf(key), field("denied", instant(person, "LastModifiedDate")))
      continue
    }
    const held = status === undefined ? undefined : heldOf(status)
    if (row !== undefined && held !== undefined) fields.set(fieldOf(key), field(held, choiceTimeOf(row)))
  }
  return { externalId, identifiers: identifiersOf(person), fields }
}
