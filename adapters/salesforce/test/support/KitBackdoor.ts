/**
 * The conformance kit's backdoor into the emulator: reads and writes the org's records directly
 * (the emulator's own backdoor: no HTTP, no adapter code), and injects faults the emulator's way.
 *
 * It states independently how Salesforce holds each field of the adapter's default mapping, so
 * the kit compares the adapter against the org and not against itself:
 * - `ContactPointTypeConsent:<purpose>:<type>`: the Individual's newest ContactPointTypeConsent
 *   record of that DataUsePurpose and ContactPointType (OptIn granted, OptOut / OptOutPending
 *   denied, OptInPending pending), at its CaptureDate;
 * - `Individual.<flag>`: the Individual's opt-out flag (set: denied, clear: granted, which is what
 *   a push of `granted` writes; the adapter's own `read` reports a clear flag as no state, since a
 *   flag never set looks the same).
 */
import type { ConsentLedger, ConsentTarget } from "@living-profile/core"
import type { Backdoor } from "@living-profile/testkit/ConsentTargetSuite"
import { Duration, Effect, Option } from "effect"
import { type Emulator, purpose, sameId } from "./Emulator.js"

/** Kit attribute names and the Contact fields the test configures the adapter with. */
export const kitAttributes: Readonly<Record<string, string>> = {
  firstName: "FirstName",
  lastName: "LastName",
  city: "MailingCity",
  note: "Description"
}

const toPrivacyConsentStatus: Readonly<Record<ConsentLedger.EffectiveStatus, string>> = {
  granted: "OptIn",
  denied: "OptOut",
  withdrawn: "OptOut",
  expired: "OptOut",
  pending: "OptInPending"
}

const fromPrivacyConsentStatus: Readonly<Record<string, ConsentLedger.EffectiveStatus>> = {
  OptIn: "granted",
  OptOut: "denied",
  OptOutPending: "denied",
  OptInPending: "pending"
}

type Field =
  | { readonly kind: "consent"; readonly purpose: string; readonly type: string }
  | { readonly kind: "flag"; readonly flag: string }

const parseField = (field: string): Field | undefined => {
  const consent = /^ContactPointTypeConsent:(.+):([A-Za-z]+)$/.exec(field)
  if (consent !== null) return { kind: "consent", purpose: consent[1]!, type: consent[2]! }
  const flag = /^Individual\.([A-Za-z]+)$/.exec(field)
  return flag === null ? undefined : { kind: "flag", flag: flag[1]! }
}

const stamp = (r: Readonly<Record<string, unknown>>) =>
  `${String(r["SystemModstamp"])}\u001f${String(r["Id"])}`

/** The backdoor of a kit harness over an emulator, for a target mapping these fields. */
export const kitBackdoor = (em: Emulator, fields: ReadonlyArray<string>): Backdoor => {
  const db = em.backdoor
  const located = (externalId: string) => {
    const contact = db.get("Contact", externalId)
    if (contact !== undefined) return { object: "Contact", row: contact }
    const lead = db.get("Lead", externalId)
    return lead === undefined ? undefined : { object: "Lead", row: lead }
  }
  const personRow = (externalId: string) => located(externalId)?.row
  const purposeName = (id: unknown) =>
    typeof id === "string" ? (db.get("DataUsePurpose", id)?.["Name"] as string | undefined) : undefined
  const consentRecordsOf = (individualId: string) =>
    db.query("ContactPointTypeConsent", (r) => sameId(r["PartyId"], individualId))
  const newestOf = (
    records: ReadonlyArray<Readonly<Record<string, unknown>>>,
    purposeLabel: string,
    type: string
  ) =>
    records
      .filter((r) => r["ContactPointType"] === type && purposeName(r["DataUsePurposeId"]) === purposeLabel)
      .sort((a, b) => (stamp(a) < stamp(b) ? 1 : -1))[0]
  const newest = (individualId: string, purposeLabel: string, type: string) =>
    newestOf(consentRecordsOf(individualId), purposeLabel, type)

  const read: Backdoor["read"] = (externalId) =>
    Effect.sync(() => {
      const row = personRow(externalId)
      if (row === undefined) return Option.none()
      const individualId = typeof row["IndividualId"] === "string" ? row["IndividualId"] : undefined
      const individual = individualId === undefined ? undefined : db.get("Individual", individualId)
      const held = new Map<string, ConsentTarget.HeldField>()
      const records = individualId === undefined ? [] : consentRecordsOf(individualId)
      for (const name of fields) {
        const f = parseField(name)
        if (f === undefined || individualId === undefined || individual === undefined) continue
        if (f.kind === "flag") {
          held.set(name, { status: individual[f.flag] === true ? "denied" : "granted" })
          continue
        }
        const record = newestOf(records, f.purpose, f.type)
        const status =
          record === undefined ? undefined : fromPrivacyConsentStatus[String(record["PrivacyConsentStatus"])]
        if (record !== undefined && status !== undefined)
          held.set(name, { status, modifiedAt: String(record["CaptureDate"]).replace("+0000", "Z") })
      }
      const email = typeof row["Email"] === "string" ? row["Email"] : undefined
      return Option.some({
        externalId: String(row["Id"]),
        identifiers: email === undefined ? {} : { email: [email] },
        fields: held
      })
    })

  const find: Backdoor["find"] = (type, value) =>
    Effect.sync(() => {
      if (type !== "email") return Option.none()
      for (const object of ["Contact", "Lead"]) {
        const hit = db.query(
          object,
          (r) => typeof r["Email"] === "string" && r["Email"].toLowerCase() === value.toLowerCase()
        )[0]
        if (hit !== undefined) return Option.some(String(hit["Id"]))
      }
      return Option.none()
    })

  const create: Backdoor["create"] = ({ identifiers, attributes = {} }) =>
    Effect.suspend(() => {
      const fieldsOf: Record<string, unknown> = {}
      for (const [name, value] of Object.entries(attributes)) {
        const field = kitAttributes[name]
        if (field === undefined)
          return Effect.dieMessage(`kit backdoor: no Contact field for attribute ${name}`)
        fieldsOf[field] = value
      }
      const individual = db.insert("Individual", { LastName: "Kit" })
      const contact = db.insert("Contact", {
        LastName: "Kit",
        ...fieldsOf,
        ...(identifiers["email"]?.[0] === undefined ? {} : { Email: identifiers["email"][0] }),
        IndividualId: individual["Id"]
      })
      return Effect.succeed(String(contact["Id"]))
    })

  const write: Backdoor["write"] = (externalId, field, status, modifiedAt) =>
    Effect.suspend(() => {
      const at = located(externalId)
      const f = parseField(field)
      if (at === undefined || f === undefined)
        return Effect.dieMessage(`kit backdoor: cannot write ${field} of ${externalId}`)
      let individualId = typeof at.row["IndividualId"] === "string" ? at.row["IndividualId"] : undefined
      if (individualId === undefined) {
        individualId = String(db.insert("Individual", { LastName: "Kit" })["Id"])
        db.update(at.object, externalId, { IndividualId: individualId })
      }
      if (f.kind === "flag") {
        // A person changing a checkbox: LastModifiedDate is when they did; SystemModstamp is now.
        db.update("Individual", individualId, {
          [f.flag]: status !== "granted",
          LastModifiedDate: modifiedAt
        })
        return Effect.void
      }
      const values = {
        PrivacyConsentStatus: toPrivacyConsentStatus[status],
        CaptureDate: modifiedAt,
        EffectiveFrom: modifiedAt
      }
      const record = newest(individualId, f.purpose, f.type)
      if (record !== undefined) db.update("ContactPointTypeConsent", String(record["Id"]), values)
      else
        db.insert("ContactPointTypeConsent", {
          Name: `${f.purpose} ${f.type}`,
          PartyId: individualId,
          DataUsePurposeId: purpose(em, f.purpose),
          ContactPointType: f.type,
          CaptureSource: "kit backdoor",
          ...values
        })
      return Effect.void
    })

  const failNext: NonNullable<Backdoor["failNext"]> = (fault) =>
    Effect.sync(() => {
      switch (fault._tag) {
        case "RateLimited":
          em.faults.next({
            status: 429,
            headers: { "Retry-After": String(Math.round(Duration.toSeconds(fault.retryAfter))) }
          })
          return
        case "Unauthorized":
          // Credentials refused mid-run: the token is refused and so is the new login.
          if (em.sessions.count() > 0) em.faults.next({ path: "/services/data/", status: 401 })
          em.faults.next({
            path: "/services/oauth2/token",
            status: 400,
            errorCode: "invalid_grant",
            message: "authentication failure"
          })
          return
        case "Transport":
          em.faults.next({ drop: true })
          return
        case "Item": {
          const row = personRow(fault.externalId)
          const individualId = row?.["IndividualId"]
          em.faults.record({
            where: (r) =>
              sameId(r["Id"], fault.externalId) ||
              (individualId !== undefined && sameId(r["PartyId"], individualId)),
            times: 1
          })
          return
        }
      }
    })

  return { read, find, create, write, faults: ["RateLimited", "Unauthorized", "Transport", "Item"], failNext }
}
