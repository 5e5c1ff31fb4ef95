/**
 * The two downstream systems of the quickstart: the Salesforce and HubSpot emulators started in this
 * process, the person put into each as someone using that system would have (through the emulators'
 * backdoors, not through the adapters, so the adapters meet an existing person and existing consent),
 * the adapters pointed at them, and read-backs through the real SDKs, bypassing the adapters.
 */
import { Client } from "@hubspot/api-client"
import { Connection } from "@jsforce/jsforce-node"
import type { AdapterError, ConsentDiff, ConsentTarget } from "@living-profile/core"
import { HubSpotEmulator, SalesforceEmulator } from "@living-profile/emulators"
import { type HubSpotConfig, make as makeHubSpot } from "@living-profile/hubspot"
import { make as makeSalesforce } from "@living-profile/salesforce"
import { Effect, Redacted, Schema, type Scope } from "effect"

/** The person as both systems know them: by the e-mail the CRM has, with the CRM's e-mail grant. */
export interface Person {
  readonly email: string
  readonly firstName: string
  readonly lastName: string
  /** When the person granted marketing e-mail (the CRM's event): both systems were set up with it. */
  readonly grantedAt: string
}

/** The HubSpot subscription types the example maps: the portal's default ones plus a newsletter. */
export const HUBSPOT_SUBSCRIPTIONS = [
  { purpose: "marketing", subscriptionId: 1001, name: "Marketing Information" },
  { purpose: "newsletter", subscriptionId: 1004, name: "Newsletter" }
] as const

/** Target-side field names of HubSpot (subscription type ids) with their names, for the report. */
export const hubSpotFieldNames: Readonly<Record<string, string>> = Object.fromEntries(
  HUBSPOT_SUBSCRIPTIONS.map((s) => [String(s.subscriptionId), s.name])
)

/** Both emulators, running until the scope closes. */
export interface Emulators {
  readonly salesforce: SalesforceEmulator.SalesforceEmulator
  readonly hubspot: HubSpotEmulator.HubSpotEmulator
}

export const startEmulators: Effect.Effect<Emulators, never, Scope.Scope> = Effect.all({
  salesforce: Effect.acquireRelease(
    Effect.promise(() => SalesforceEmulator.start()),
    (em) => Effect.promise(() => em.close())
  ),
  hubspot: Effect.acquireRelease(
    Effect.promise(() =>
      HubSpotEmulator.start({
        subscriptionTypes: [
          ...HubSpotEmulator.DEFAULT_SUBSCRIPTION_TYPES,
          { id: 1004, name: "Newsletter", purpose: "Marketing" }
        ]
      })
    ),
    (em) => Effect.promise(() => em.close())
  )
})

/**
 * Salesforce as an org using Data Protection and Privacy holds the person: an Individual, a Contact
 * linked to it, and an opt-in consent record for marketing e-mail captured when the CRM got it.
 */
export const seedSalesforce = (sf: SalesforceEmulator.SalesforceEmulator, person: Person): void => {
  const purpose = sf.backdoor.insert("DataUsePurpose", { Name: "Marketing", CanDataSubjectOptOut: true })
  const individual = sf.backdoor.insert("Individual", {
    FirstName: person.firstName,
    LastName: person.lastName
  })
  sf.backdoor.insert("Contact", {
    FirstName: person.firstName,
    LastName: person.lastName,
    Email: person.email,
    IndividualId: individual["Id"],
    HasOptedOutOfEmail: false
  })
  sf.backdoor.insert("ContactPointTypeConsent", {
    Name: "Marketing Email",
    PartyId: individual["Id"],
    DataUsePurposeId: purpose["Id"],
    ContactPointType: "Email",
    PrivacyConsentStatus: "OptIn",
    CaptureDate: person.grantedAt,
    EffectiveFrom: person.grantedAt,
    CaptureSource: "crm"
  })
}

/** HubSpot holds the person as a contact subscribed to marketing information since the CRM grant. */
export const seedHubSpot = (hs: HubSpotEmulator.HubSpotEmulator, person: Person): void => {
  hs.backdoor.upsertContact(
    { email: person.email, firstname: person.firstName, lastname: person.lastName },
    { modifiedAt: person.grantedAt }
  )
  hs.backdoor.setSubscription(person.email, 1001, "SUBSCRIBED", {
    at: person.grantedAt,
    legalBasis: "CONSENT_WITH_NOTICE",
    source: "crm"
  })
}

/** Both consent targets. */
export interface Targets {
  readonly salesforce: ConsentTarget.ConsentTarget
  readonly hubspot: ConsentTarget.ConsentTarget
}

/** Both adapters, on the emulators; Salesforce revokes its token when the scope closes. */
export const adapters = (
  em: Emulators
): Effect.Effect<Targets, AdapterError.AdapterError | HubSpotConfig.HubSpotConfigError, Scope.Scope> =>
  Effect.all({
    salesforce: Effect.map(
      makeSalesforce({
        loginUrl: em.salesforce.url,
        auth: {
          type: "password",
          username: em.salesforce.credentials.username,
          password: Redacted.make(em.salesforce.credentials.password),
          clientId: em.salesforce.credentials.clientId,
          clientSecret: Redacted.make(em.salesforce.credentials.clientSecret)
        }
      }),
      (a) => a.target
    ),
    hubspot: Effect.map(
      makeHubSpot({
        accessToken: Redacted.make(em.hubspot.token),
        basePath: em.hubspot.url,
        subscriptions: HUBSPOT_SUBSCRIPTIONS
      }),
      (a) => a.target
    )
  })

/** What a target holds for the person, as the known state of a diff. */
export const knownState = (held: ConsentTarget.HeldPerson): Map<string, ConsentDiff.KnownState> => {
  const known = new Map<string, ConsentDiff.KnownState>()
  for (const [field, f] of held.fields)
    known.set(
      field,
      f.modifiedAt === undefined ? { status: f.status } : { status: f.status, at: f.modifiedAt }
    )
  return known
}

// ---------------------------------------------------------------------------------------------
// Read-backs through the real SDKs. Their answers are decoded, not trusted: a changed shape fails
// here with the field that differs.

const ContactRow = Schema.Struct({
  Id: Schema.String,
  HasOptedOutOfEmail: Schema.Boolean,
  DoNotCall: Schema.Boolean,
  IndividualId: Schema.NullOr(Schema.String),
  Individual: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

const ConsentRow = Schema.Struct({
  Name: Schema.String,
  ContactPointType: Schema.NullOr(Schema.String),
  PrivacyConsentStatus: Schema.String,
  CaptureDate: Schema.NullOr(Schema.String),
  CaptureSource: Schema.NullOr(Schema.String),
  DataUsePurpose: Schema.NullOr(Schema.Struct({ Name: Schema.String }))
})

/** What Salesforce answers to SOQL about the person. */
export interface SalesforceReadBack {
  readonly contact: typeof ContactRow.Type
  readonly consents: ReadonlyArray<typeof ConsentRow.Type>
}

// Ids come from Salesforce's own answers; quoting keeps the SOQL well-formed whatever they hold.
const soqlString = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

/** Logs in with jsforce as any integration would and reads the Contact and its consent records. */
export const readSalesforce = async (
  sf: SalesforceEmulator.SalesforceEmulator,
  contactId: string
): Promise<SalesforceReadBack> => {
  const { loginUrl, username, password, clientId, clientSecret } = sf.credentials
  // jsforce defaults to API 50.0 and to a SOAP login without the OAuth client: give both.
  const conn = new Connection({ loginUrl, version: "60.0", oauth2: { loginUrl, clientId, clientSecret } })
  await conn.login(username, password)
  try {
    const contacts = await conn.query(
      "SELECT Id, HasOptedOutOfEmail, DoNotCall, IndividualId, Individual.HasOptedOutSolicit, " +
        "Individual.HasOptedOutProfiling, Individual.HasOptedOutTracking " +
        `FROM Contact WHERE Id = ${soqlString(contactId)}`
    )
    const contact = Schema.decodeUnknownSync(ContactRow)(contacts.records[0])
    const consents =
      contact.IndividualId === null
        ? { records: [] }
        : await conn.query(
            "SELECT Name, ContactPointType, PrivacyConsentStatus, CaptureDate, CaptureSource, DataUsePurpose.Name " +
              `FROM ContactPointTypeConsent WHERE PartyId = ${soqlString(contact.IndividualId)} ORDER BY CaptureDate DESC`
          )
    return { contact, consents: consents.records.map((r) => Schema.decodeUnknownSync(ConsentRow)(r)) }
  } finally {
    await conn.logout().catch(() => undefined)
  }
}

const V4Status = Schema.Struct({
  subscriptionId: Schema.Number,
  subscriptionName: Schema.String,
  status: Schema.String,
  source: Schema.String,
  timestamp: Schema.String,
  legalBasis: Schema.optional(Schema.String),
  legalBasisExplanation: Schema.optional(Schema.String)
})
const V4Statuses = Schema.Struct({ results: Schema.Array(V4Status) })

/** One subscription status as HubSpot's v4 API answers it. */
export type HubSpotStatus = typeof V4Status.Type

/** Reads the e-mail's subscription statuses with the HubSpot SDK (v4 has no typed client: `apiRequest`). */
export const readHubSpot = async (
  hs: HubSpotEmulator.HubSpotEmulator,
  email: string
): Promise<ReadonlyArray<HubSpotStatus>> => {
  // No SDK retries: a burst-limit 429 would make the SDK sleep 10 s per attempt.
  const client = new Client({ accessToken: hs.token, basePath: hs.url, numberOfApiCallRetries: 0 })
  const response = await client.apiRequest({
    method: "GET",
    path: `/communication-preferences/v4/statuses/${encodeURIComponent(email)}`,
    qs: { channel: "EMAIL" }
  })
  if (response.status !== 200) throw new Error(`HubSpot answered ${response.status} to the status read`)
  return Schema.decodeUnknownSync(V4Statuses)(await response.json()).results
}

const SALESFORCE_STATUS: Readonly<Record<string, string>> = {
  granted: "OptIn",
  denied: "OptOut",
  pending: "OptInPending"
}

// The Contact checkboxes the adapter's default mapping keeps in step with a consent record.
const CHECKBOX: Readonly<Record<string, "HasOptedOutOfEmail" | "DoNotCall">> = {
  Email: "HasOptedOutOfEmail",
  Phone: "DoNotCall"
}

/**
 * Whether Salesforce holds every change of the diff, field names as the adapter's default mapping
 * writes them: for `ContactPointTypeConsent:<purpose>:<type>` the newest consent record of that
 * purpose and type has the status (and the Contact's checkbox for e-mail and phone agrees); for
 * `Individual.<flag>` the flag is set exactly when the change is not a grant.
 */
export const salesforceHolds = (d: ConsentDiff.ConsentDiff, got: SalesforceReadBack): boolean =>
  d.changes.every((c) => {
    const optedOut = c.to !== "granted"
    if (c.field.startsWith("Individual.")) return got.contact.Individual?.[c.field.slice(11)] === optedOut
    const [kind, purpose, pointType] = c.field.split(":")
    if (kind !== "ContactPointTypeConsent" || pointType === undefined) return false
    const record = got.consents.find(
      (r) => r.DataUsePurpose?.Name === purpose && r.ContactPointType === pointType
    )
    if (record?.PrivacyConsentStatus !== SALESFORCE_STATUS[c.to]) return false
    const checkbox = CHECKBOX[pointType]
    return checkbox === undefined || got.contact[checkbox] === optedOut
  })

/** Whether HubSpot holds every change of the diff (fields are subscription type ids). */
export const hubSpotHolds = (d: ConsentDiff.ConsentDiff, got: ReadonlyArray<HubSpotStatus>): boolean =>
  d.changes.every((c) => {
    const status = got.find((s) => String(s.subscriptionId) === c.field)?.status
    return status === (c.to === "granted" ? "SUBSCRIBED" : "UNSUBSCRIBED")
  })
