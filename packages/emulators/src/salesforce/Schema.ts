/**
 * The emulated objects and their fields: Contact, Lead, Individual, DataUsePurpose,
 * ContactPointTypeConsent, ContactPointEmail and ContactPointPhone, with the field properties the
 * REST API enforces (type, length, nillable, createable, updateable, defaults, restricted
 * picklists, references) plus the custom external id field `External_Id__c` on every object.
 * Object and field names resolve case-insensitively, as in Salesforce.
 */

/** A stored field value: dateTimes are epoch milliseconds, dates `YYYY-MM-DD`, ids 18 characters. */
export type Value = string | number | boolean | null

/** Field types, named as describe names them. */
export type FieldType =
  | "id"
  | "string"
  | "textarea"
  | "email"
  | "phone"
  | "url"
  | "picklist"
  | "boolean"
  | "date"
  | "datetime"
  | "int"
  | "double"
  | "currency"
  | "reference"

/** One picklist value and the API version it appeared in. */
export interface PicklistValue {
  readonly value: string
  readonly since: number
}

/** One field of an object. */
export interface FieldDef {
  readonly name: string
  readonly label: string
  readonly type: FieldType
  readonly length: number
  readonly nillable: boolean
  readonly createable: boolean
  readonly updateable: boolean
  /** Must be given on create: not nillable, no default, not a checkbox, not computed. */
  readonly required: boolean
  /** The value set on create when none is given. */
  readonly defaultValue: Value | undefined
  /** Whether the platform fills the field on create when none is given (a default, or the owner). */
  readonly defaultedOnCreate: boolean
  readonly externalId: boolean
  readonly unique: boolean
  readonly idLookup: boolean
  readonly custom: boolean
  readonly picklist: ReadonlyArray<PicklistValue> | undefined
  readonly restricted: boolean
  readonly referenceTo: ReadonlyArray<string>
  readonly relationshipName: string | undefined
  /** Derived by the platform from other fields of the record (Name, EmailDomain...). */
  readonly computed: ((values: Readonly<Record<string, Value>>) => Value) | undefined
}

/** One object (sObject type). */
export interface ObjectDef {
  readonly name: string
  readonly label: string
  readonly labelPlural: string
  readonly keyPrefix: string
  /** The first API version that knows the object. */
  readonly minVersion: number
  readonly fields: ReadonlyArray<FieldDef>
  /** A field by name, case-insensitively. */
  readonly field: (name: string) => FieldDef | undefined
  /** A reference field by its relationship name (`Individual` for `IndividualId`), case-insensitively. */
  readonly relationship: (name: string) => FieldDef | undefined
}

/** The set of emulated objects. */
export interface Schema {
  readonly objects: ReadonlyArray<ObjectDef>
  /** An object by name, case-insensitively, if the API version knows it. */
  readonly object: (name: string, version?: number) => ObjectDef | undefined
  /** The object whose ids start with the given key prefix. */
  readonly byPrefix: (prefix: string) => ObjectDef | undefined
}

interface FieldOptions {
  readonly length?: number
  readonly nillable?: boolean
  readonly createable?: boolean
  readonly updateable?: boolean
  readonly defaultValue?: Value
  readonly defaultedOnCreate?: boolean
  readonly externalId?: boolean
  readonly unique?: boolean
  readonly idLookup?: boolean
  readonly custom?: boolean
  readonly picklist?: ReadonlyArray<string | PicklistValue>
  readonly restricted?: boolean
  readonly referenceTo?: ReadonlyArray<string>
  readonly relationshipName?: string
  readonly computed?: (values: Readonly<Record<string, Value>>) => Value
}

const field = (name: string, label: string, type: FieldType, o: FieldOptions = {}): FieldDef => {
  const computed = o.computed
  const createable = computed === undefined && (o.createable ?? true)
  const nillable = o.nillable ?? type !== "boolean"
  const defaultValue = o.defaultValue ?? (type === "boolean" ? false : undefined)
  const defaultedOnCreate = o.defaultedOnCreate ?? defaultValue !== undefined
  return {
    name,
    label,
    type,
    length: o.length ?? 0,
    nillable,
    createable,
    updateable: computed === undefined && (o.updateable ?? createable),
    required: createable && !nillable && !defaultedOnCreate && type !== "boolean",
    defaultValue,
    defaultedOnCreate,
    externalId: o.externalId ?? false,
    unique: o.unique ?? false,
    idLookup: o.idLookup ?? false,
    custom: o.custom ?? name.endsWith("__c"),
    picklist: o.picklist?.map((v) => (typeof v === "string" ? { value: v, since: 0 } : v)),
    restricted: o.restricted ?? false,
    referenceTo: o.referenceTo ?? [],
    relationshipName: o.relationshipName,
    computed
  }
}

const text = (name: string, label: string, length: number, o: FieldOptions = {}): FieldDef =>
  field(name, label, "string", { length, ...o })
const flag = (name: string, label: string, o: FieldOptions = {}): FieldDef => field(name, label, "boolean", o)
const when = (name: string, label: string, o: FieldOptions = {}): FieldDef =>
  field(name, label, "datetime", o)
const day = (name: string, label: string, o: FieldOptions = {}): FieldDef => field(name, label, "date", o)
const lookup = (name: string, label: string, target: string, o: FieldOptions = {}): FieldDef =>
  field(name, label, "reference", {
    length: 18,
    referenceTo: [target],
    ...(name.endsWith("Id") ? { relationshipName: name.slice(0, -2) } : {}),
    ...o
  })
const choice = (
  name: string,
  label: string,
  values: ReadonlyArray<string | PicklistValue>,
  o: FieldOptions = {}
) => field(name, label, "picklist", { length: 255, picklist: values, ...o })

/** Fields every object has; the platform maintains all but OwnerId. */
const systemFields = (objectLabel: string): ReadonlyArray<FieldDef> => [
  field("Id", `${objectLabel} ID`, "id", { length: 18, nillable: false, createable: false, idLookup: true }),
  flag("IsDeleted", "Deleted", { createable: false }),
  lookup("OwnerId", "Owner ID", "User", {
    nillable: false,
    defaultedOnCreate: true,
    relationshipName: "Owner"
  }),
  when("CreatedDate", "Created Date", { nillable: false, createable: false }),
  lookup("CreatedById", "Created By ID", "User", { nillable: false, createable: false }),
  when("LastModifiedDate", "Last Modified Date", { nillable: false, createable: false }),
  lookup("LastModifiedById", "Last Modified By ID", "User", { nillable: false, createable: false }),
  when("SystemModstamp", "System Modstamp", { nillable: false, createable: false })
]

const externalIdField = text("External_Id__c", "External Id", 255, {
  externalId: true,
  unique: true,
  idLookup: true
})

const fullName = (values: Readonly<Record<string, Value>>): Value => {
  const parts = [values["FirstName"], values["LastName"]].filter((v) => typeof v === "string" && v !== "")
  return parts.length === 0 ? null : parts.join(" ")
}

const emailPart =
  (part: 0 | 1) =>
  (values: Readonly<Record<string, Value>>): Value => {
    const address = values["EmailAddress"]
    if (typeof address !== "string") return null
    const at = address.lastIndexOf("@")
    if (at < 0) return null
    return part === 0 ? address.slice(0, at) : address.slice(at + 1)
  }

const salutations = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]
const leadSources = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
const contactPointTypes = ["Email", "MailingAddress", "Phone", "Social", "Web"]
const usageTypes = ["Home", "Temp", "Work"]

const makeObject = (
  name: string,
  label: string,
  labelPlural: string,
  keyPrefix: string,
  minVersion: number,
  own: ReadonlyArray<FieldDef>
): ObjectDef => {
  const fields = [...systemFields(label), ...own, externalIdField]
  const byName = new Map(fields.map((f) => [f.name.toLowerCase(), f]))
  const byRelationship = new Map(
    fields.flatMap((f) =>
      f.relationshipName === undefined ? [] : [[f.relationshipName.toLowerCase(), f] as const]
    )
  )
  return {
    name,
    label,
    labelPlural,
    keyPrefix,
    minVersion,
    fields,
    field: (n) => byName.get(n.toLowerCase()),
    relationship: (n) => byRelationship.get(n.toLowerCase())
  }
}

const contact = makeObject("Contact", "Contact", "Contacts", "003", 1, [
  choice("Salutation", "Salutation", salutations),
  text("FirstName", "First Name", 40),
  text("LastName", "Last Name", 80, { nillable: false }),
  text("Name", "Full Name", 121, { computed: fullName }),
  field("Email", "Email", "email", { length: 80, idLookup: true }),
  field("Phone", "Business Phone", "phone", { length: 40 }),
  field("MobilePhone", "Mobile Phone", "phone", { length: 40 }),
  day("Birthdate", "Birthdate"),
  text("Title", "Title", 128),
  text("Department", "Department", 80),
  field("MailingStreet", "Mailing Street", "textarea", { length: 255 }),
  text("MailingCity", "Mailing City", 40),
  text("MailingState", "Mailing State/Province", 80),
  text("MailingPostalCode", "Mailing Zip/Postal Code", 20),
  text("MailingCountry", "Mailing Country", 80),
  flag("HasOptedOutOfEmail", "Email Opt Out"),
  flag("HasOptedOutOfFax", "Fax Opt Out"),
  flag("DoNotCall", "Do Not Call"),
  lookup("IndividualId", "Individual ID", "Individual"),
  choice("LeadSource", "Lead Source", leadSources),
  field("Description", "Contact Description", "textarea", { length: 32_000 })
])

const lead = makeObject("Lead", "Lead", "Leads", "00Q", 1, [
  choice("Salutation", "Salutation", salutations),
  text("FirstName", "First Name", 40),
  text("LastName", "Last Name", 80, { nillable: false }),
  text("Name", "Full Name", 121, { computed: fullName }),
  text("Company", "Company", 255, { nillable: false }),
  text("Title", "Title", 128),
  field("Email", "Email", "email", { length: 80, idLookup: true }),
  field("Phone", "Phone", "phone", { length: 40 }),
  field("MobilePhone", "Mobile Phone", "phone", { length: 40 }),
  field("Street", "Street", "textarea", { length: 255 }),
  text("City", "City", 40),
  text("State", "State/Province", 80),
  text("PostalCode", "Zip/Postal Code", 20),
  text("Country", "Country", 80),
  choice(
    "Status",
    "Status",
    ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"],
    { nillable: false, defaultValue: "Open - Not Contacted" }
  ),
  choice("LeadSource", "Lead Source", leadSources),
  flag("HasOptedOutOfEmail", "Email Opt Out"),
  flag("HasOptedOutOfFax", "Fax Opt Out"),
  flag("DoNotCall", "Do Not Call"),
  lookup("IndividualId", "Individual ID", "Individual"),
  flag("IsConverted", "Converted", { createable: false }),
  lookup("ConvertedContactId", "Converted Contact ID", "Contact", { createable: false }),
  day("ConvertedDate", "Converted Date", { createable: false }),
  field("NumberOfEmployees", "Employees", "int"),
  field("AnnualRevenue", "Annual Revenue", "currency"),
  field("Description", "Description", "textarea", { length: 32_000 })
])

const individual = makeObject("Individual", "Individual", "Individuals", "0PK", 42, [
  choice("Salutation", "Salutation", salutations),
  text("FirstName", "First Name", 40),
  text("LastName", "Last Name", 80, { nillable: false }),
  text("Name", "Name", 121, { computed: fullName }),
  day("BirthDate", "Birth Date"),
  flag("HasOptedOutTracking", "Don't Track"),
  flag("HasOptedOutProcessing", "Don't Process"),
  flag("HasOptedOutProfiling", "Don't Profile"),
  flag("HasOptedOutSolicit", "Don't Market"),
  flag("HasOptedOutGeoTracking", "Block Geolocation Tracking"),
  flag("ShouldForget", "Forget this Individual"),
  flag("SendIndividualData", "Export Individual's Data"),
  flag("CanStorePiiElsewhere", "OK to Store PII Data Elsewhere"),
  flag("HasPrivacyHold", "Privacy Hold"),
  lookup("MasterRecordId", "Master Record ID", "Individual", { createable: false })
])

const dataUsePurpose = makeObject("DataUsePurpose", "Data Use Purpose", "Data Use Purposes", "0ZW", 45, [
  text("Name", "Name", 255, { nillable: false, idLookup: true }),
  field("Description", "Description", "textarea", { length: 1000 }),
  flag("CanDataSubjectOptOut", "Can Data Subject Opt Out")
])

const contactPointTypeConsent = makeObject(
  "ContactPointTypeConsent",
  "Contact Point Type Consent",
  "Contact Point Type Consents",
  "0ZY",
  45,
  [
    // Name is not nillable in the object reference (no "Nillable" property), so the API requires it.
    text("Name", "Name", 255, { nillable: false, idLookup: true }),
    // The spec asks the fake to require PartyId; the object reference lists it as nillable.
    lookup("PartyId", "Party ID", "Individual", { nillable: false, relationshipName: "Party" }),
    lookup("DataUsePurposeId", "Data Use Purpose ID", "DataUsePurpose"),
    choice("ContactPointType", "Contact Point Type", contactPointTypes, { restricted: true }),
    choice(
      "PrivacyConsentStatus",
      "Privacy Consent Status",
      [
        "NotSeen",
        "Seen",
        "OptIn",
        "OptOut",
        { value: "OptInPending", since: 58 },
        { value: "OptOutPending", since: 58 }
      ],
      { restricted: true, nillable: false, defaultValue: "NotSeen" }
    ),
    when("EffectiveFrom", "Effective From"),
    when("EffectiveTo", "Effective To"),
    when("CaptureDate", "Capture Date"),
    text("CaptureSource", "Capture Source", 255),
    choice("CaptureContactPointType", "Capture Contact Point Type", contactPointTypes, { restricted: true }),
    when("DoubleConsentCaptureDate", "Double Consent Capture Date")
  ]
)

const contactPointEmail = makeObject(
  "ContactPointEmail",
  "Contact Point Email",
  "Contact Point Emails",
  "9CE",
  48,
  [
    field("EmailAddress", "Email Address", "email", { length: 80, nillable: false, idLookup: true }),
    lookup("ParentId", "Parent ID", "Individual"),
    flag("IsPrimary", "Primary"),
    choice("UsageType", "Usage Type", usageTypes),
    day("ActiveFromDate", "Active From Date"),
    day("ActiveToDate", "Active To Date"),
    when("EmailLatestBounceDateTime", "Email Latest Bounce Date Time"),
    text("EmailLatestBounceReasonText", "Email Latest Bounce Reason", 255),
    text("EmailMailBox", "Email Mail Box", 80, { computed: emailPart(0) }),
    text("EmailDomain", "Email Domain", 80, { computed: emailPart(1) })
  ]
)

const contactPointPhone = makeObject(
  "ContactPointPhone",
  "Contact Point Phone",
  "Contact Point Phones",
  "0OW",
  48,
  [
    field("TelephoneNumber", "Telephone Number", "phone", { length: 40, nillable: false }),
    lookup("ParentId", "Parent ID", "Individual"),
    flag("IsPrimary", "Primary"),
    flag("IsSmsCapable", "SMS Capable"),
    flag("IsFaxCapable", "Fax Capable"),
    flag("IsPersonalPhone", "Personal Phone"),
    flag("IsBusinessPhone", "Business Phone"),
    choice("PhoneType", "Phone Type", ["Home", "Mobile"]),
    choice("UsageType", "Usage Type", usageTypes),
    day("ActiveFromDate", "Active From Date"),
    day("ActiveToDate", "Active To Date")
  ]
)

/** Key prefix of users (owners, creators); users are not queryable objects here. */
export const userKeyPrefix = "005"

/** Key prefix of organizations. */
export const orgKeyPrefix = "00D"

/** Key prefix of query cursors (`nextRecordsUrl` locators). */
export const cursorKeyPrefix = "01g"

/** The emulated objects. */
export const schema: Schema = (() => {
  const objects = [
    contact,
    lead,
    individual,
    dataUsePurpose,
    contactPointTypeConsent,
    contactPointEmail,
    contactPointPhone
  ]
  const byName = new Map(objects.map((o) => [o.name.toLowerCase(), o]))
  const byPrefix = new Map(objects.map((o) => [o.keyPrefix, o]))
  return {
    objects,
    object: (name, version = Number.POSITIVE_INFINITY) => {
      const o = byName.get(name.toLowerCase())
      return o !== undefined && o.minVersion <= version ? o : undefined
    },
    byPrefix: (prefix) => byPrefix.get(prefix)
  }
})()

/** Whether a picklist value exists in the given API version. */
export const picklistAllows = (f: FieldDef, value: string, version: number): boolean =>
  f.picklist === undefined || f.picklist.some((p) => p.value === value && p.since <= version)

/** Whether values of the field compare as text (case-insensitively). */
export const isTextual = (f: FieldDef): boolean =>
  f.type === "string" ||
  f.type === "textarea" ||
  f.type === "email" ||
  f.type === "phone" ||
  f.type === "url" ||
  f.type === "picklist"

/** Whether values of the field are ids. */
export const isIdField = (f: FieldDef): boolean => f.type === "id" || f.type === "reference"

/** Whether values of the field are numbers. */
export const isNumeric = (f: FieldDef): boolean =>
  f.type === "int" || f.type === "double" || f.type === "currency"
