import type { Clock } from "./Clock.js"
import { type Contact, ContactStore, type Source } from "./Contacts.js"
import { contactExists, validation } from "./Errors.js"
import * as Properties from "./Properties.js"
import {
  type ChangeReason,
  type StatusChange,
  type StatusRecord,
  SubscriptionStore,
  type SubscriptionTypeOptions
} from "./Subscriptions.js"

/** How the portal is set up. */
export interface PortalOptions {
  readonly clock: Clock
  readonly subscriptionTypes: ReadonlyArray<SubscriptionTypeOptions>
  readonly customProperties: ReadonlyArray<string>
  readonly firstContactId: number
  readonly searchLagMs: number
  /** Whether GDPR features are on: then subscribing requires a legal basis. */
  readonly gdpr: boolean
}

/** The emulated account's state and the rules that span contacts and subscriptions. */
export class Portal {
  /** The shared clock. */
  readonly clock: Clock
  /** Contact properties. */
  readonly registry: Properties.Registry
  /** Contacts. */
  readonly contacts: ContactStore
  /** Subscription types and statuses. */
  readonly subscriptions: SubscriptionStore
  /** Whether subscribing requires a legal basis. */
  readonly gdpr: boolean
  // E-mails a GDPR delete by unknown e-mail blocked from being used again.
  readonly #blocklist = new Set<string>()

  constructor(options: PortalOptions) {
    this.clock = options.clock
    for (const type of options.subscriptionTypes) {
      if (!/^\d+$/.test(String(type.id))) {
        throw new RangeError(`Subscription type ids are numeric in HubSpot (v4 sends integers): ${type.id}`)
      }
    }
    this.subscriptions = new SubscriptionStore(options.subscriptionTypes, options.clock.now())
    this.registry = Properties.make(
      options.customProperties,
      this.subscriptions.types().map((t) => t.id)
    )
    this.contacts = new ContactStore({ firstId: options.firstContactId, searchLagMs: options.searchLagMs })
    this.gdpr = options.gdpr
  }

  /** Whether a GDPR delete blocked this e-mail. */
  isBlocklisted(email: string): boolean {
    return this.#blocklist.has(Properties.normalizeEmail(email))
  }

  /** Rejects an e-mail that is blocklisted or held by another live contact. */
  assertEmailUsable(email: string, self?: Contact): void {
    if (this.isBlocklisted(email)) {
      throw validation(`Email address ${email} is blocklisted after a GDPR delete and cannot be used`, {
        errors: [{ message: `Email address ${email} is blocklisted`, code: "BLOCKED_EMAIL" }]
      })
    }
    const holder = this.contacts.byEmail(email)
    if (holder !== undefined && holder !== self) throw contactExists(holder.id)
  }

  /** Creates a contact from normalized values, deriving its opt-out flags from existing subscription statuses. */
  createContact(values: Readonly<Record<string, string>>, at: number, source: Source, id?: string): Contact {
    const email = values["email"]
    const derived = email === undefined ? {} : this.#optOutValues(this.subscriptions.statuses(email))
    return this.contacts.create({ ...derived, ...values }, at, source, id)
  }

  /** Records a subscription change; a real change also updates the contact's opt-out flag and modification date. */
  setStatus(
    email: string,
    subscriptionId: string,
    change: StatusChange
  ): { record: StatusRecord; reason: ChangeReason } {
    const result = this.subscriptions.set(email, subscriptionId, change)
    const contact = this.contacts.byEmail(email)
    if (contact !== undefined && result.reason !== "NO_STATUS_CHANGE") {
      const flag = change.status === "UNSUBSCRIBED" ? "true" : change.status === "SUBSCRIBED" ? "false" : ""
      // The status keeps its own (possibly backdated) time; the contact changed now, and a
      // modification date that went backwards would hide the change from incremental pulls.
      const at = Math.max(change.at, this.clock.now())
      this.contacts.write(contact, { [Properties.optOutProperty(subscriptionId)]: flag }, at, "API")
    }
    return result
  }

  /** Removes a contact, its history and its subscription statuses for good. */
  purge(contact: Contact): void {
    const email = contact.properties.get("email")
    if (email !== undefined) this.subscriptions.purge(email)
    this.contacts.purge(contact)
  }

  /** GDPR delete by e-mail: purges the live or archived contact, or blocklists an unknown address. */
  purgeByEmail(email: string): void {
    const contact = this.contacts.byEmail(email) ?? this.contacts.archivedByEmail(email)[0]
    if (contact === undefined) {
      this.#blocklist.add(Properties.normalizeEmail(email))
      this.subscriptions.purge(email)
      return
    }
    this.purge(contact)
  }

  /** Forgets contacts, statuses and the blocklist. */
  reset(): void {
    this.contacts.reset()
    this.subscriptions.reset()
    this.#blocklist.clear()
  }

  #optOutValues(records: ReadonlyArray<StatusRecord>): Record<string, string> {
    const values: Record<string, string> = {}
    for (const record of records) {
      if (record.status === "NOT_SPECIFIED") continue
      values[Properties.optOutProperty(record.subscriptionId)] =
        record.status === "UNSUBSCRIBED" ? "true" : "false"
    }
    return values
  }
}
