import { type Instant, toIso, toMillis } from "./Clock.js"
import type { Contact } from "./Contacts.js"
import type { Limits, Usage } from "./Limits.js"
import type { Portal } from "./Portal.js"
import { normalizeEmail } from "./Properties.js"
import type { RequestLog, RequestLogEntry } from "./RequestLog.js"
import { type LegalBasis, type Status, isLegalBasis } from "./Subscriptions.js"

/** A contact as the backdoor shows it: every stored property, dates as ISO-8601. */
export interface ContactSnapshot {
  readonly id: string
  readonly properties: Readonly<Record<string, string>>
  readonly createdAt: string
  readonly updatedAt: string
  readonly archived: boolean
  readonly archivedAt?: string
}

/** One subscription status of an e-mail, in v4 terms. */
export interface SubscriptionSnapshot {
  readonly subscriptionId: string
  readonly name: string
  readonly status: Status
  readonly legalBasis?: LegalBasis
  readonly legalBasisExplanation?: string
  readonly source: string
  readonly timestamp: string
}

/** Options of `upsertContact`. */
export interface UpsertOptions {
  /** Modification time to record (default: the emulator clock). */
  readonly modifiedAt?: Instant
  /** Creation time for a new contact (default: `modifiedAt`). */
  readonly createdAt?: Instant
  /** Update this record id instead of matching on e-mail; creates it with this id when missing. */
  readonly id?: string
}

/** Options of `setSubscription`. */
export interface SetSubscriptionOptions {
  /** Time of the change (default: the emulator clock). */
  readonly at?: Instant
  readonly legalBasis?: LegalBasis
  readonly legalBasisExplanation?: string
  /** The recorded `source` (default "BACKDOOR"). */
  readonly source?: string
}

/** Direct access to the emulator's state for tests: no HTTP, no auth, no rate limits, no validation. */
export interface Backdoor {
  /** The contact with this id, archived or not. */
  readonly contact: (id: string) => ContactSnapshot | undefined
  /** The live contact with this e-mail (case-insensitive). */
  readonly findByEmail: (email: string) => ContactSnapshot | undefined
  /** Every contact, archived ones included, in id order. */
  readonly contacts: () => ReadonlyArray<ContactSnapshot>
  /** Creates or updates a contact (matched by `options.id`, else by e-mail) without validation or limits. */
  readonly upsertContact: (
    properties: Readonly<Record<string, string>>,
    options?: UpsertOptions
  ) => ContactSnapshot
  /** Archives a contact as `DELETE /crm/v3/objects/contacts/{id}` would. */
  readonly archiveContact: (id: string) => void
  /** Every active subscription type's status for an e-mail; types without a record read NOT_SPECIFIED. */
  readonly subscriptions: (email: string) => ReadonlyArray<SubscriptionSnapshot>
  /** Sets a status as the API would (opt-out flag and contact modification date included), without validation. */
  readonly setSubscription: (
    email: string,
    subscriptionId: string | number,
    status: Status,
    options?: SetSubscriptionOptions
  ) => void
  /** Whether a GDPR delete blocklisted this e-mail. */
  readonly isBlocklisted: (email: string) => boolean
  /** Every request so far, in arrival order. */
  readonly requestLog: ReadonlyArray<RequestLogEntry>
  /** Empties the request log. */
  readonly clearRequestLog: () => void
  /** Rate-limit consumption right now. */
  readonly usage: () => Usage
  /** Forgets contacts, statuses, blocklist, counters, the request log and faults; the clock is left alone. */
  readonly reset: () => void
}

/** Dependencies of the backdoor. */
export interface BackdoorDeps {
  readonly portal: Portal
  readonly limits: Limits
  readonly log: RequestLog
  readonly clearFaults: () => void
}

/** A snapshot of a stored contact. */
export const snapshot = (contact: Contact): ContactSnapshot => ({
  id: contact.id,
  properties: Object.fromEntries(contact.properties),
  createdAt: toIso(contact.createdAt),
  updatedAt: toIso(contact.updatedAt),
  archived: contact.archivedAt !== undefined,
  ...(contact.archivedAt === undefined ? {} : { archivedAt: toIso(contact.archivedAt) })
})

/** The backdoor over an emulator's state. */
export const make = ({ portal, limits, log, clearFaults }: BackdoorDeps): Backdoor => {
  const { contacts, subscriptions, clock } = portal
  const normalize = (properties: Readonly<Record<string, string>>): Record<string, string> => {
    const values = { ...properties }
    if (values["email"] !== undefined) values["email"] = normalizeEmail(values["email"])
    return values
  }
  return {
    contact: (id) => {
      const contact = contacts.get(id)
      return contact === undefined ? undefined : snapshot(contact)
    },
    findByEmail: (email) => {
      const contact = contacts.byEmail(email)
      return contact === undefined ? undefined : snapshot(contact)
    },
    contacts: () => contacts.all().map(snapshot),
    upsertContact: (properties, options = {}) => {
      const values = normalize(properties)
      const modifiedAt = options.modifiedAt === undefined ? clock.now() : toMillis(options.modifiedAt)
      const email = values["email"]
      const existing =
        options.id !== undefined
          ? contacts.get(options.id)
          : email === undefined
            ? undefined
            : contacts.byEmail(email)
      if (existing !== undefined) {
        contacts.write(existing, values, modifiedAt, "INTEGRATION")
        return snapshot(existing)
      }
      const createdAt = options.createdAt === undefined ? modifiedAt : toMillis(options.createdAt)
      const contact = portal.createContact(values, createdAt, "INTEGRATION", options.id)
      if (modifiedAt !== createdAt) contacts.write(contact, {}, modifiedAt, "INTEGRATION")
      return snapshot(contact)
    },
    archiveContact: (id) => {
      const contact = contacts.get(id)
      if (contact !== undefined) contacts.archive(contact, clock.now())
    },
    subscriptions: (email) =>
      subscriptions.statuses(email).map((record) => ({
        subscriptionId: record.subscriptionId,
        name: subscriptions.type(record.subscriptionId)?.name ?? "",
        status: record.status,
        ...(record.legalBasis === undefined ? {} : { legalBasis: record.legalBasis }),
        ...(record.legalBasisExplanation === undefined
          ? {}
          : { legalBasisExplanation: record.legalBasisExplanation }),
        source: record.source,
        timestamp: toIso(record.timestamp)
      })),
    setSubscription: (email, subscriptionId, status, options = {}) => {
      if (options.legalBasis !== undefined && !isLegalBasis(options.legalBasis)) {
        throw new RangeError(`Unknown legal basis ${String(options.legalBasis)}`)
      }
      if (subscriptions.type(String(subscriptionId)) === undefined) {
        throw new RangeError(`No subscription type ${subscriptionId} in this emulator`)
      }
      portal.setStatus(email, String(subscriptionId), {
        status,
        legalBasis: options.legalBasis,
        legalBasisExplanation: options.legalBasisExplanation,
        source: options.source ?? "BACKDOOR",
        at: options.at === undefined ? clock.now() : toMillis(options.at)
      })
    },
    isBlocklisted: (email) => portal.isBlocklisted(email),
    get requestLog() {
      return log.entries()
    },
    clearRequestLog: () => log.clear(),
    usage: () => limits.usage(clock.now()),
    reset: () => {
      portal.reset()
      limits.reset()
      log.clear()
      clearFaults()
    }
  }
}
