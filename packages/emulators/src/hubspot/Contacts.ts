import { toIso } from "./Clock.js"
import { normalizeEmail } from "./Properties.js"

/** One past value of a property, as `propertiesWithHistory` reports it. */
export interface HistoryEntry {
  readonly value: string
  readonly timestamp: number
  readonly sourceType: string
}

/** A contact's properties and dates at one moment: what search sees while its index lags. */
export interface ContactVersion {
  readonly properties: ReadonlyMap<string, string>
  readonly createdAt: number
  readonly updatedAt: number
}

/** A stored contact. Only the store mutates it. */
export interface Contact extends ContactVersion {
  readonly id: string
  readonly properties: Map<string, string>
  readonly history: Map<string, Array<HistoryEntry>>
  createdAt: number
  updatedAt: number
  archivedAt: number | undefined
  /** The last version the search index has caught up with, while a newer write is still lagging. */
  indexed: ContactVersion | undefined
}

/** Options of the contact store. */
export interface StoreOptions {
  /** The id given to the first contact; later ones count up from it. */
  readonly firstId: number
  /** How long a write takes to become visible to search (HubSpot's search is eventually consistent). */
  readonly searchLagMs: number
}

/** Where a write comes from, recorded as the history's `sourceType`. */
export type Source = "API" | "CRM_UI" | "INTEGRATION" | "EMAIL"

/** The contacts of the emulated portal, indexed by id and by e-mail. */
export class ContactStore {
  readonly #byId = new Map<string, Contact>()
  // Only live (not archived) contacts hold their e-mail, so an archived contact's address can be reused.
  readonly #byEmail = new Map<string, string>()
  readonly #options: StoreOptions
  #nextId: number

  constructor(options: StoreOptions) {
    this.#options = options
    this.#nextId = options.firstId
  }

  /** The contact with this id, archived or not. */
  get(id: string): Contact | undefined {
    return this.#byId.get(id)
  }

  /** The live contact holding this e-mail. */
  byEmail(email: string): Contact | undefined {
    const id = this.#byEmail.get(normalizeEmail(email))
    return id === undefined ? undefined : this.#byId.get(id)
  }

  /** The archived contacts that held this e-mail, newest first. */
  archivedByEmail(email: string): ReadonlyArray<Contact> {
    const wanted = normalizeEmail(email)
    return [...this.#byId.values()]
      .filter((c) => c.archivedAt !== undefined && c.properties.get("email") === wanted)
      .sort((a, b) => (b.archivedAt ?? 0) - (a.archivedAt ?? 0))
  }

  /** Every contact, archived ones included, in id order. */
  all(): ReadonlyArray<Contact> {
    return [...this.#byId.values()].sort((a, b) => Number(a.id) - Number(b.id))
  }

  /** How many contacts are stored, archived ones included. */
  get size(): number {
    return this.#byId.size
  }

  /** Creates a contact with normalized `values` at `at`; the caller has checked e-mail uniqueness. */
  create(values: Readonly<Record<string, string>>, at: number, source: Source, id?: string): Contact {
    const contactId = id ?? this.#allocateId()
    const contact: Contact = {
      id: contactId,
      properties: new Map(),
      history: new Map(),
      createdAt: at,
      updatedAt: at,
      archivedAt: undefined,
      indexed: undefined
    }
    this.#byId.set(contactId, contact)
    this.#set(contact, "hs_object_id", contactId, at, source)
    this.#set(contact, "createdate", toIso(at), at, source)
    this.write(contact, values, at, source)
    return contact
  }

  /** Applies normalized `values` to a contact at `at`; "" clears a value. Bumps the modification dates. */
  write(contact: Contact, values: Readonly<Record<string, string>>, at: number, source: Source): void {
    if (this.#options.searchLagMs > 0 && at >= contact.updatedAt + this.#options.searchLagMs) {
      contact.indexed = snapshot(contact)
    }
    for (const [name, value] of Object.entries(values)) {
      if (name === "email") this.#reindexEmail(contact, value)
      if (name === "createdate" && value !== "") contact.createdAt = Date.parse(value)
      this.#set(contact, name, value, at, source)
    }
    contact.updatedAt = at
    this.#set(contact, "lastmodifieddate", toIso(at), at, source)
    this.#set(contact, "hs_lastmodifieddate", toIso(at), at, source)
  }

  /** Archives a contact (restorable in HubSpot for 90 days; not modelled) and frees its e-mail. */
  archive(contact: Contact, at: number): void {
    if (contact.archivedAt !== undefined) return
    contact.archivedAt = at
    const email = contact.properties.get("email")
    if (email !== undefined && this.#byEmail.get(email) === contact.id) this.#byEmail.delete(email)
  }

  /** Removes a contact and its history for good. */
  purge(contact: Contact): void {
    const email = contact.properties.get("email")
    if (email !== undefined && this.#byEmail.get(email) === contact.id) this.#byEmail.delete(email)
    this.#byId.delete(contact.id)
  }

  /** What search sees of a contact at `now`: the newest version once the index has caught up, else the last indexed one. */
  searchable(contact: Contact, now: number): ContactVersion | undefined {
    if (contact.archivedAt !== undefined) return undefined
    const lag = this.#options.searchLagMs
    if (lag <= 0 || now >= contact.updatedAt + lag) return contact
    return contact.indexed
  }

  /** Forgets every contact and restarts ids. */
  reset(): void {
    this.#byId.clear()
    this.#byEmail.clear()
    this.#nextId = this.#options.firstId
  }

  #allocateId(): string {
    while (this.#byId.has(String(this.#nextId))) this.#nextId += 1
    const id = String(this.#nextId)
    this.#nextId += 1
    return id
  }

  #reindexEmail(contact: Contact, email: string): void {
    const previous = contact.properties.get("email")
    if (previous !== undefined && this.#byEmail.get(previous) === contact.id) this.#byEmail.delete(previous)
    if (email !== "" && contact.archivedAt === undefined) this.#byEmail.set(email, contact.id)
  }

  #set(contact: Contact, name: string, value: string, at: number, source: Source): void {
    if (value === "") contact.properties.delete(name)
    else contact.properties.set(name, value)
    const entries = contact.history.get(name) ?? []
    entries.unshift({ value, timestamp: at, sourceType: source })
    contact.history.set(name, entries)
  }
}

const snapshot = (contact: Contact): ContactVersion => ({
  properties: new Map(contact.properties),
  createdAt: contact.createdAt,
  updatedAt: contact.updatedAt
})
