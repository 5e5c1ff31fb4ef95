import { toIso } from "./Clock.js"
import { normalizeEmail } from "./Properties.js"

/** The legal bases HubSpot accepts for a subscription change. */
export const LEGAL_BASES = [
  "LEGITIMATE_INTEREST_PQL",
  "LEGITIMATE_INTEREST_CLIENT",
  "PERFORMANCE_OF_CONTRACT",
  "CONSENT_WITH_NOTICE",
  "NON_GDPR",
  "PROCESS_AND_STORE",
  "LEGITIMATE_INTEREST_OTHER"
] as const

/** One legal basis. */
export type LegalBasis = (typeof LEGAL_BASES)[number]

/** Whether `s` is a legal basis HubSpot knows. */
export const isLegalBasis = (s: string): s is LegalBasis => (LEGAL_BASES as ReadonlyArray<string>).includes(s)

/** A subscription status in v4 terms; v3 shows UNSUBSCRIBED and NOT_SPECIFIED both as NOT_SUBSCRIBED. */
export type Status = "SUBSCRIBED" | "UNSUBSCRIBED" | "NOT_SPECIFIED"

/** The statuses v4 accepts. */
export const STATUSES: ReadonlyArray<Status> = ["SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED"]

/** Why a v4 write succeeded, as `setStatusSuccessReason` reports it. */
export type ChangeReason = "NO_STATUS_CHANGE" | "REQUESTED_CHANGE_OCCURRED" | "RESUBSCRIBE_OCCURRED"

/** A subscription type of the emulated portal, as configured. */
export interface SubscriptionTypeOptions {
  readonly id: string | number
  readonly name: string
  readonly description?: string
  readonly purpose?: string
  readonly isActive?: boolean
  readonly isDefault?: boolean
  readonly isInternal?: boolean
  readonly businessUnitId?: number
  readonly preferenceGroupName?: string
}

/** A subscription type with every field filled in. */
export interface SubscriptionType {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly purpose: string
  readonly communicationMethod: "Email"
  readonly isActive: boolean
  readonly isDefault: boolean
  readonly isInternal: boolean
  readonly businessUnitId: number
  readonly preferenceGroupName: string
  readonly createdAt: number
  readonly updatedAt: number
}

/** The subscription types a portal has out of the box (ids are placeholders). */
export const DEFAULT_SUBSCRIPTION_TYPES: ReadonlyArray<SubscriptionTypeOptions> = [
  {
    id: "1001",
    name: "Marketing Information",
    description: "Marketing offers and updates.",
    purpose: "Marketing",
    isDefault: true
  },
  { id: "1002", name: "One to One", description: "One to one emails.", purpose: "Sales" },
  {
    id: "1003",
    name: "Customer Service Communication",
    description: "Feedback requests and service updates.",
    purpose: "Customer Service"
  }
]

/** The status of one e-mail for one subscription type. */
export interface StatusRecord {
  readonly subscriptionId: string
  readonly status: Status
  readonly legalBasis: LegalBasis | undefined
  readonly legalBasisExplanation: string | undefined
  readonly source: string
  readonly timestamp: number
}

/** What a write asks for. */
export interface StatusChange {
  readonly status: Status
  readonly legalBasis?: LegalBasis | undefined
  readonly legalBasisExplanation?: string | undefined
  readonly source: string
  readonly at: number
}

/** The recorded source of statuses written through the public APIs. */
export const API_SOURCE = "PUBLIC_API"
/** The source reported for a subscription the e-mail has no status for. */
export const DEFAULT_SOURCE = "DEFAULT"

/** Subscription types and per-e-mail statuses; both API versions read the same records. */
export class SubscriptionStore {
  readonly #types: ReadonlyArray<SubscriptionType>
  readonly #byEmail = new Map<string, Map<string, StatusRecord>>()

  constructor(types: ReadonlyArray<SubscriptionTypeOptions>, createdAt: number) {
    this.#types = types.map((t) => ({
      id: String(t.id),
      name: t.name,
      description: t.description ?? "",
      purpose: t.purpose ?? "Marketing",
      communicationMethod: "Email",
      isActive: t.isActive ?? true,
      isDefault: t.isDefault ?? false,
      isInternal: t.isInternal ?? false,
      businessUnitId: t.businessUnitId ?? 0,
      preferenceGroupName: t.preferenceGroupName ?? t.name,
      createdAt,
      updatedAt: createdAt
    }))
  }

  /** Every subscription type, inactive ones included. */
  types(): ReadonlyArray<SubscriptionType> {
    return this.#types
  }

  /** The subscription type with this id. */
  type(id: string): SubscriptionType | undefined {
    return this.#types.find((t) => t.id === id)
  }

  /** One status per active subscription type; types without a record read NOT_SPECIFIED. */
  statuses(email: string): ReadonlyArray<StatusRecord> {
    const records = this.#byEmail.get(normalizeEmail(email))
    return this.#types
      .filter((t) => t.isActive)
      .map(
        (t) =>
          records?.get(t.id) ?? {
            subscriptionId: t.id,
            status: "NOT_SPECIFIED",
            legalBasis: undefined,
            legalBasisExplanation: undefined,
            source: DEFAULT_SOURCE,
            timestamp: t.createdAt
          }
      )
  }

  /** The status of one e-mail for one type. */
  status(email: string, subscriptionId: string): StatusRecord | undefined {
    return this.statuses(email).find((s) => s.subscriptionId === subscriptionId)
  }

  /** Records a change and says how it relates to the previous status. */
  set(
    email: string,
    subscriptionId: string,
    change: StatusChange
  ): { record: StatusRecord; reason: ChangeReason } {
    const key = normalizeEmail(email)
    const previous = this.status(key, subscriptionId)?.status ?? "NOT_SPECIFIED"
    const record: StatusRecord = {
      subscriptionId,
      status: change.status,
      legalBasis: change.legalBasis,
      legalBasisExplanation: change.legalBasisExplanation,
      source: change.source,
      timestamp: change.at
    }
    const records = this.#byEmail.get(key) ?? new Map<string, StatusRecord>()
    records.set(subscriptionId, record)
    this.#byEmail.set(key, records)
    const reason: ChangeReason =
      previous === change.status
        ? "NO_STATUS_CHANGE"
        : previous === "UNSUBSCRIBED" && change.status === "SUBSCRIBED"
          ? "RESUBSCRIBE_OCCURRED"
          : "REQUESTED_CHANGE_OCCURRED"
    return { record, reason }
  }

  /** Forgets every status of an e-mail (GDPR delete). */
  purge(email: string): void {
    this.#byEmail.delete(normalizeEmail(email))
  }

  /** Forgets every status. */
  reset(): void {
    this.#byEmail.clear()
  }
}

/** A status as v3 shows it (`PublicSubscriptionStatus`). */
export const toV3 = (type: SubscriptionType, record: StatusRecord): Record<string, unknown> => ({
  id: type.id,
  name: type.name,
  description: type.description,
  status: record.status === "SUBSCRIBED" ? "SUBSCRIBED" : "NOT_SUBSCRIBED",
  sourceOfStatus: "SUBSCRIPTION_STATUS",
  brandId: type.businessUnitId,
  preferenceGroupName: type.preferenceGroupName,
  ...(record.legalBasis === undefined ? {} : { legalBasis: record.legalBasis }),
  ...(record.legalBasisExplanation === undefined
    ? {}
    : { legalBasisExplanation: record.legalBasisExplanation })
})

/** A status as v4 shows it (`PublicStatus`). */
export const toV4 = (
  email: string,
  type: SubscriptionType,
  record: StatusRecord,
  reason?: ChangeReason
): Record<string, unknown> => ({
  subscriberIdString: normalizeEmail(email),
  subscriptionId: Number(type.id),
  subscriptionName: type.name,
  channel: "EMAIL",
  status: record.status,
  source: record.source,
  timestamp: toIso(record.timestamp),
  businessUnitId: type.businessUnitId,
  ...(record.legalBasis === undefined ? {} : { legalBasis: record.legalBasis }),
  ...(record.legalBasisExplanation === undefined
    ? {}
    : { legalBasisExplanation: record.legalBasisExplanation }),
  ...(reason === undefined ? {} : { setStatusSuccessReason: reason })
})

/** A subscription type as the definitions endpoints show it. */
export const toDefinition = (type: SubscriptionType): Record<string, unknown> => ({
  id: type.id,
  name: type.name,
  description: type.description,
  purpose: type.purpose,
  communicationMethod: type.communicationMethod,
  isActive: type.isActive,
  isDefault: type.isDefault,
  isInternal: type.isInternal,
  createdAt: toIso(type.createdAt),
  updatedAt: toIso(type.updatedAt),
  businessUnitId: type.businessUnitId
})
