/**
 * The options of the Salesforce adapter, their defaults and validation, the consent mapping
 * (our purpose/channel keys onto Salesforce's consent objects) and `fromEnv`, the one place that
 * reads the environment.
 *
 * A mapped key is held either by a ContactPointTypeConsent record (per Individual, DataUsePurpose
 * and ContactPointType: the precise, timestamped record; optionally mirrored onto an opt-out
 * checkbox of Contact and Lead) or by an opt-out flag of the Individual. The target-side field
 * name is derived from the Salesforce side (`ContactPointTypeConsent:Marketing:Email`,
 * `Individual.HasOptedOutProfiling`), so it names what the org holds.
 */
import type { ConsentDiff, ConsentEvent } from "@living-profile/core"
import { AdapterError } from "@living-profile/core"
import { Config, ConfigError, Duration, Either, Option, Redacted } from "effect"

/** The `ContactPointType` picklist of ContactPointTypeConsent. */
export type ContactPointType = "Email" | "MailingAddress" | "Phone" | "Social" | "Web"

/** Every ContactPointType value. */
export const contactPointTypes: ReadonlyArray<ContactPointType> = [
  "Email",
  "MailingAddress",
  "Phone",
  "Social",
  "Web"
]

/** Opt-out checkboxes that Contact and Lead both have. */
export type OptOutCheckbox = "HasOptedOutOfEmail" | "DoNotCall" | "HasOptedOutOfFax"

/** Every opt-out checkbox of Contact and Lead. */
export const optOutCheckboxes: ReadonlyArray<OptOutCheckbox> = [
  "HasOptedOutOfEmail",
  "DoNotCall",
  "HasOptedOutOfFax"
]

/** Opt-out flags of the Individual (each means "do not", so `true` is the protective value). */
export type IndividualFlag =
  | "HasOptedOutTracking"
  | "HasOptedOutProcessing"
  | "HasOptedOutProfiling"
  | "HasOptedOutSolicit"
  | "HasOptedOutGeoTracking"

/** Every opt-out flag of the Individual. */
export const individualFlags: ReadonlyArray<IndividualFlag> = [
  "HasOptedOutTracking",
  "HasOptedOutProcessing",
  "HasOptedOutProfiling",
  "HasOptedOutSolicit",
  "HasOptedOutGeoTracking"
]

/** A key held by ContactPointTypeConsent records of the person's Individual. */
export interface ContactPointTypeConsentKey {
  readonly kind: "ContactPointTypeConsent"
  readonly purpose: string
  readonly channel: ConsentEvent.Channel
  /** `DataUsePurpose.Name`, e.g. `Marketing`. */
  readonly dataUsePurpose: string
  readonly contactPointType: ContactPointType
  /** A Contact/Lead checkbox kept in step (true unless the key is granted). */
  readonly checkbox?: OptOutCheckbox
}

/** A key held by an opt-out flag of the person's Individual (granted: false; otherwise: true). */
export interface IndividualFlagKey {
  readonly kind: "Individual"
  readonly purpose: string
  readonly channel: ConsentEvent.Channel
  readonly flag: IndividualFlag
}

/** One of our consent keys and where Salesforce holds it. */
export type ConsentKey = ContactPointTypeConsentKey | IndividualFlagKey

/** The target-side field name of a key. */
export const fieldOf = (key: ConsentKey): string =>
  key.kind === "Individual"
    ? `Individual.${key.flag}`
    : `ContactPointTypeConsent:${key.dataUsePurpose}:${key.contactPointType}`

/**
 * The default consent mapping: marketing by e-mail, phone and post as ContactPointTypeConsent of
 * the DataUsePurpose "Marketing" (e-mail and phone mirrored onto HasOptedOutOfEmail / DoNotCall),
 * and the Individual's "Don't Market", "Don't Profile" and "Don't Track" flags for marketing,
 * profiling and analytics on any channel.
 */
export const defaultConsent: ReadonlyArray<ConsentKey> = [
  {
    kind: "ContactPointTypeConsent",
    purpose: "marketing",
    channel: "email",
    dataUsePurpose: "Marketing",
    contactPointType: "Email",
    checkbox: "HasOptedOutOfEmail"
  },
  {
    kind: "ContactPointTypeConsent",
    purpose: "marketing",
    channel: "phone",
    dataUsePurpose: "Marketing",
    contactPointType: "Phone",
    checkbox: "DoNotCall"
  },
  {
    kind: "ContactPointTypeConsent",
    purpose: "marketing",
    channel: "post",
    dataUsePurpose: "Marketing",
    contactPointType: "MailingAddress"
  },
  { kind: "Individual", purpose: "marketing", channel: "any", flag: "HasOptedOutSolicit" },
  { kind: "Individual", purpose: "processing", channel: "any", flag: "HasOptedOutProcessing" },
  { kind: "Individual", purpose: "profiling", channel: "any", flag: "HasOptedOutProfiling" },
  { kind: "Individual", purpose: "analytics", channel: "any", flag: "HasOptedOutTracking" }
]

/** The person objects the adapter reads and writes. */
export type PersonObject = "Contact" | "Lead"

/** Objects erasure may delete. */
export type ErasableObject =
  | "ContactPointTypeConsent"
  | "ContactPointEmail"
  | "ContactPointPhone"
  | "Contact"
  | "Lead"
  | "Individual"

/** Attribute name (as `SourceRecord.attributes` has it) to the field holding it, per object. */
export type AttributeFields = Readonly<Record<string, string>>

/** Default attributes of Contacts. */
export const defaultContactAttributes: AttributeFields = {
  salutation: "Salutation",
  firstName: "FirstName",
  lastName: "LastName",
  birthDate: "Birthdate",
  title: "Title",
  street: "MailingStreet",
  city: "MailingCity",
  state: "MailingState",
  postalCode: "MailingPostalCode",
  country: "MailingCountry",
  description: "Description"
}

/** Default attributes of Leads. */
export const defaultLeadAttributes: AttributeFields = {
  salutation: "Salutation",
  firstName: "FirstName",
  lastName: "LastName",
  title: "Title",
  company: "Company",
  street: "Street",
  city: "City",
  state: "State",
  postalCode: "PostalCode",
  country: "Country",
  description: "Description"
}

/** How the adapter logs in (always OAuth 2.0: jsforce's SOAP login is deprecated). */
export type Auth =
  | {
      /** OAuth 2.0 username-password flow of a connected app. */
      readonly type: "password"
      readonly username: string
      /** Secret. */
      readonly password: Redacted.Redacted<string>
      /** Secret; appended to the password when the org requires it (logins from untrusted IPs). */
      readonly securityToken?: Redacted.Redacted<string>
      readonly clientId: string
      /** Secret. */
      readonly clientSecret: Redacted.Redacted<string>
    }
  | {
      /** OAuth 2.0 client-credentials flow (the connected app's run-as user; loginUrl is the My Domain URL). */
      readonly type: "client-credentials"
      readonly clientId: string
      /** Secret. */
      readonly clientSecret: Redacted.Redacted<string>
    }

/** What erasure does. */
export interface ErasureOptions {
  /** Set `Individual.ShouldForget` first, the org's own signal to its downstream jobs (default true). */
  readonly shouldForget?: boolean
  /** Clear the kept Individual's name and birth date (LastName becomes `Forgotten`) (default true). */
  readonly scrubIndividual?: boolean
  /**
   * Objects deleted for the person: their Contacts and Leads (every one linked to the Individual),
   * the Individual's consent records and contact points. Default: everything but the Individual,
   * which stays as the holder of ShouldForget.
   */
  readonly delete?: ReadonlyArray<ErasableObject>
}

/** What the adapter is configured with. */
export interface Options {
  /** The target and source name: `mapping.target` and the `source` of pulled records (default `salesforce`). */
  readonly name?: string
  /** Where to log in, e.g. `https://login.salesforce.com` or the org's My Domain URL. */
  readonly loginUrl: string
  /** Overrides the `instance_url` of the token response (default: use the response's). */
  readonly instanceUrl?: string
  readonly auth: Auth
  /** REST API version, at least 58.0 (OptInPending); default 60.0. */
  readonly apiVersion?: string
  /** Records per sObject Collections request or subrequest, at most 200 (the API's limit); default 200. */
  readonly batchSize?: number
  /**
   * Diffs (or persons) per push, read and erase call: the target's `maxBatchSize`, 1 to 10,000;
   * default 4,000. A push reads 2,000 persons per query and their consent records in as many
   * more, five queries to a Composite request, and writes up to 1,000 records per request: 4,000
   * is the largest call whose reads take one request (persons by id), so its one read request is
   * shared by the most writes. A call that fails as a whole fails all its diffs (they are retried).
   */
  readonly maxBatchSize?: number
  /** Rows per object per pull page, 200 to 2,000 (the SOQL batch size); default 2,000. */
  readonly pageSize?: number
  /** The person objects pulled and searched (default Contact and Lead); new persons are always Contacts. */
  readonly objects?: ReadonlyArray<PersonObject>
  /** Our keys and where Salesforce holds them (default `defaultConsent`). */
  readonly consent?: ReadonlyArray<ConsentKey>
  /** Attribute names of pulled identity records, per object (defaults `defaultContactAttributes` / `defaultLeadAttributes`). */
  readonly attributes?: { readonly Contact?: AttributeFields; readonly Lead?: AttributeFields }
  /** LastName of a Contact created for a person known only by e-mail (default `[not provided]`). */
  readonly placeholderLastName?: string
  /** Create a DataUsePurpose that the mapping names and the org lacks (default true). */
  readonly createMissingPurposes?: boolean
  /** `CaptureContactPointType` of written consent records (default `Web`). */
  readonly captureContactPointType?: ContactPointType
  readonly erasure?: ErasureOptions
  /** Abort a request after this long (default 60 s); the failure is a retryable Transport error. */
  readonly requestTimeout?: Duration.DurationInput
  /**
   * Retries jsforce itself makes of a GET/DELETE after a 5xx or a dropped connection (default 0:
   * the sync engine retries Transport failures with its own backoff; jsforce's sleeps 0.5 to 8 s).
   * Rate limits are never retried here: they go to the engine with their retry-after.
   */
  readonly requestRetries?: number
}

/** Options with every default filled in and checked. */
export interface Resolved {
  readonly name: string
  readonly loginUrl: string
  readonly instanceUrl: string | undefined
  readonly auth: Auth
  readonly apiVersion: string
  readonly batchSize: number
  readonly maxBatchSize: number
  readonly pageSize: number
  readonly objects: ReadonlyArray<PersonObject>
  readonly consent: ReadonlyArray<ConsentKey>
  /** Field name to key. */
  readonly keysByField: ReadonlyMap<string, ConsentKey>
  readonly attributes: { readonly Contact: AttributeFields; readonly Lead: AttributeFields }
  readonly placeholderLastName: string
  readonly createMissingPurposes: boolean
  readonly captureContactPointType: ContactPointType
  readonly erasure: {
    readonly shouldForget: boolean
    readonly scrubIndividual: boolean
    readonly delete: ReadonlySet<ErasableObject>
  }
  readonly requestTimeoutMs: number
  readonly requestRetries: number
  /** The mapping the target declares. */
  readonly mapping: ConsentDiff.TargetMapping
}

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/
const VERSION = /^(\d{2,3})\.0$/
const CHANNELS = new Set<string>(["email", "sms", "phone", "post", "push", "web", "any"])

/** The default erasure: delete every record of the person but the Individual. */
export const defaultErasureDeletes: ReadonlyArray<ErasableObject> = [
  "ContactPointTypeConsent",
  "ContactPointEmail",
  "ContactPointPhone",
  "Contact",
  "Lead"
]

/**
 * Checks options and fills in defaults. Fails with AdapterError `Invalid` naming the option and
 * what is wrong with it, never a value (options hold secrets).
 */
export const resolve = (options: Options): Either.Either<Resolved, AdapterError.AdapterError> => {
  const name = options.name ?? "salesforce"
  const bad = (option: string, problem: string) =>
    Either.left(AdapterError.invalid(name, `option ${option} ${problem}`, { code: "CONFIG" }))
  if (name.length === 0) return bad("name", "must not be empty")
  for (const [option, url] of [
    ["loginUrl", options.loginUrl],
    ["instanceUrl", options.instanceUrl]
  ] as const) {
    if (url === undefined) continue
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return bad(option, "must be an absolute http(s) URL")
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
      return bad(option, "must be an absolute http(s) URL")
    // jsforce refuses Lightning hosts as instance URLs; say so before it throws.
    if (parsed.hostname.includes(".lightning.force.com"))
      return bad(option, "must be the My Domain or instance host, not a .lightning.force.com host")
  }
  if (options.auth.clientId.length === 0) return bad("auth.clientId", "must not be empty")
  if (options.auth.type === "password" && options.auth.username.length === 0)
    return bad("auth.username", "must not be empty")
  const apiVersion = options.apiVersion ?? "60.0"
  const v = VERSION.exec(apiVersion)
  if (v === null || Number(v[1]) < 58)
    return bad("apiVersion", 'must be "NN.0" and at least 58.0 (OptInPending / OptOutPending need 58.0)')
  const batchSize = options.batchSize ?? 200
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 200)
    return bad("batchSize", "must be an integer from 1 to 200 (sObject Collections take at most 200 records)")
  const maxBatchSize = options.maxBatchSize ?? 4000
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 10_000)
    return bad("maxBatchSize", "must be an integer from 1 to 10,000")
  const pageSize = options.pageSize ?? 2000
  if (!Number.isInteger(pageSize) || pageSize < 200 || pageSize > 2000)
    return bad("pageSize", "must be an integer from 200 to 2,000 (the SOQL batch size range)")
  const objects = options.objects ?? ["Contact", "Lead"]
  if (objects.length === 0 || !objects.includes("Contact"))
    return bad("objects", "must include Contact (new persons are created as Contacts)")
  const consent = options.consent ?? defaultConsent
  if (consent.length === 0) return bad("consent", "must map at least one key")
  const keysByField = new Map<string, ConsentKey>()
  const keyNames = new Set<string>()
  for (let i = 0; i < consent.length; i++) {
    const k = consent[i]!
    const at = `consent[${i}]`
    if (k.purpose.length === 0) return bad(`${at}.purpose`, "must not be empty")
    if (!CHANNELS.has(k.channel)) return bad(`${at}.channel`, "must be a channel of ConsentEvent")
    if (k.kind === "ContactPointTypeConsent") {
      if (k.dataUsePurpose.length === 0 || k.dataUsePurpose.length > 255)
        return bad(`${at}.dataUsePurpose`, "must be a DataUsePurpose name of 1 to 255 characters")
      if (!contactPointTypes.includes(k.contactPointType))
        return bad(`${at}.contactPointType`, `must be one of ${contactPointTypes.join(", ")}`)
      if (k.checkbox !== undefined && !optOutCheckboxes.includes(k.checkbox))
        return bad(`${at}.checkbox`, `must be one of ${optOutCheckboxes.join(", ")}`)
    } else if (!individualFlags.includes(k.flag))
      return bad(`${at}.flag`, `must be one of ${individualFlags.join(", ")}`)
    const field = fieldOf(k)
    if (keysByField.has(field)) return bad(at, "maps a Salesforce field that another key maps already")
    const keyName = `${k.purpose}/${k.channel}`
    if (keyNames.has(keyName)) return bad(at, "maps a key that another entry maps already")
    keysByField.set(field, k)
    keyNames.add(keyName)
  }
  const checkboxes = consent.flatMap((k) =>
    k.kind === "ContactPointTypeConsent" && k.checkbox ? [k.checkbox] : []
  )
  if (new Set(checkboxes).size !== checkboxes.length)
    return bad("consent", "mirrors one checkbox from two keys")
  const attributes = {
    Contact: options.attributes?.Contact ?? defaultContactAttributes,
    Lead: options.attributes?.Lead ?? defaultLeadAttributes
  }
  for (const [object, fields] of Object.entries(attributes))
    for (const [attribute, field] of Object.entries(fields))
      if (!FIELD_NAME.test(field)) return bad(`attributes.${object}.${attribute}`, "must be a field API name")
  const placeholderLastName = options.placeholderLastName ?? "[not provided]"
  if (placeholderLastName.length === 0 || placeholderLastName.length > 80)
    return bad("placeholderLastName", "must have 1 to 80 characters (Contact.LastName)")
  const captureContactPointType = options.captureContactPointType ?? "Web"
  if (!contactPointTypes.includes(captureContactPointType))
    return bad("captureContactPointType", `must be one of ${contactPointTypes.join(", ")}`)
  const requestTimeoutMs = Duration.toMillis(Duration.decode(options.requestTimeout ?? Duration.seconds(60)))
  if (!(requestTimeoutMs > 0) || !Number.isFinite(requestTimeoutMs))
    return bad("requestTimeout", "must be a positive duration")
  const requestRetries = options.requestRetries ?? 0
  if (!Number.isInteger(requestRetries) || requestRetries < 0 || requestRetries > 5)
    return bad("requestRetries", "must be an integer from 0 to 5")
  return Either.right({
    name,
    loginUrl: options.loginUrl.replace(/\/+$/, ""),
    instanceUrl: options.instanceUrl?.replace(/\/+$/, ""),
    auth: options.auth,
    apiVersion,
    batchSize,
    maxBatchSize,
    pageSize,
    objects,
    consent,
    keysByField,
    attributes,
    placeholderLastName,
    createMissingPurposes: options.createMissingPurposes ?? true,
    captureContactPointType,
    erasure: {
      shouldForget: options.erasure?.shouldForget ?? true,
      scrubIndividual: options.erasure?.scrubIndividual ?? true,
      delete: new Set(options.erasure?.delete ?? defaultErasureDeletes)
    },
    requestTimeoutMs,
    requestRetries,
    mapping: {
      target: name,
      // Consent records can hold OptInPending (API 58.0+); opt-out flags hold only yes or no.
      keys: consent.map((k) => ({
        purpose: k.purpose,
        channel: k.channel,
        field: fieldOf(k),
        holds: k.kind === "ContactPointTypeConsent" ? (["pending"] as const) : []
      }))
    }
  })
}

/**
 * Options from the environment: `SALESFORCE_LOGIN_URL`, `SALESFORCE_CLIENT_ID`,
 * `SALESFORCE_CLIENT_SECRET` (secret), and `SALESFORCE_USERNAME` + `SALESFORCE_PASSWORD` (secret)
 * for the username-password flow (client credentials without them); optional
 * `SALESFORCE_SECURITY_TOKEN` (secret), `SALESFORCE_INSTANCE_URL`, `SALESFORCE_API_VERSION`.
 * Everything else keeps its default; pass `overrides` for the mapping and the rest.
 */
export const fromEnv = (
  overrides: Partial<Omit<Options, "loginUrl" | "auth">> = {}
): Config.Config<Options> =>
  Config.all({
    loginUrl: Config.string("SALESFORCE_LOGIN_URL"),
    clientId: Config.string("SALESFORCE_CLIENT_ID"),
    clientSecret: Config.redacted("SALESFORCE_CLIENT_SECRET"),
    username: Config.option(Config.string("SALESFORCE_USERNAME")),
    password: Config.option(Config.redacted("SALESFORCE_PASSWORD")),
    securityToken: Config.option(Config.redacted("SALESFORCE_SECURITY_TOKEN")),
    instanceUrl: Config.option(Config.string("SALESFORCE_INSTANCE_URL")),
    apiVersion: Config.option(Config.string("SALESFORCE_API_VERSION"))
  }).pipe(
    Config.mapOrFail((env) => {
      const hasUser = Option.isSome(env.username)
      if (hasUser !== Option.isSome(env.password))
        return Either.left(
          ConfigError.MissingData(
            [hasUser ? "SALESFORCE_PASSWORD" : "SALESFORCE_USERNAME"],
            "the username-password flow needs both SALESFORCE_USERNAME and SALESFORCE_PASSWORD"
          )
        )
      const auth: Auth =
        Option.isSome(env.username) && Option.isSome(env.password)
          ? {
              type: "password",
              username: env.username.value,
              password: env.password.value,
              ...(Option.isSome(env.securityToken) ? { securityToken: env.securityToken.value } : {}),
              clientId: env.clientId,
              clientSecret: env.clientSecret
            }
          : { type: "client-credentials", clientId: env.clientId, clientSecret: env.clientSecret }
      return Either.right<Options>({
        ...overrides,
        loginUrl: env.loginUrl,
        auth,
        ...(Option.isSome(env.instanceUrl) ? { instanceUrl: env.instanceUrl.value } : {}),
        ...(Option.isSome(env.apiVersion) ? { apiVersion: env.apiVersion.value } : {})
      })
    })
  )

/** The password grant's password: the password, then the security token when there is one. */
export const passwordOf = (auth: Extract<Auth, { type: "password" }>): string =>
  Redacted.value(auth.password) + (auth.securityToken === undefined ? "" : Redacted.value(auth.securityToken))
