/**
 * Finding the persons refs name. A person of this target is a Contact or Lead; its externalId is
 * the record id (`003…` Contact, `00Q…` Lead: Salesforce's fixed key prefixes). A ref with only
 * identifiers names the oldest live Contact with that e-mail, else the oldest unconverted Lead
 * (find first: the same identifier never makes a second person).
 */
import type { AdapterError, ConsentTarget } from "@living-profile/core"
import { Effect } from "effect"
import type { SalesforceClient } from "../Client.js"
import { text, type Row } from "../mappers/wire.js"
import type { PersonObject, Resolved } from "../SalesforceConfig.js"
import {
  chunks,
  chunksWithin,
  IN_CHUNK,
  IN_COMPOSITE,
  IN_COMPOSITE_CHARS,
  id15,
  inList,
  isId
} from "../Soql.js"
import * as Api from "./Api.js"

/** A Contact or Lead row and which of the two it is. */
export interface Person {
  readonly object: PersonObject
  readonly row: Row
  readonly id: string
}

/** The object of a person id, by its key prefix; undefined for anything else. */
export const objectOfId = (id: string, objects: ReadonlyArray<PersonObject>): PersonObject | undefined => {
  if (!isId(id)) return undefined
  const prefix = id.slice(0, 3)
  const object = prefix === "003" ? "Contact" : prefix === "00Q" ? "Lead" : undefined
  return object !== undefined && objects.includes(object) ? object : undefined
}

/**
 * The fields every person query selects: identity, the Individual link with the Individual's mapped
 * flags (one level up the lookup), the mapped checkboxes, and the times.
 */
export const personFields = (config: Resolved, object: PersonObject): string => {
  const fields = new Set(["Id", "Email", "Phone", "MobilePhone", "FirstName", "LastName", "IndividualId"])
  fields.add("LastModifiedDate")
  fields.add("SystemModstamp")
  if (object === "Lead") fields.add("IsConverted")
  for (const k of config.consent) {
    if (k.kind === "ContactPointTypeConsent" && k.checkbox !== undefined) fields.add(k.checkbox)
    if (k.kind === "Individual") {
      fields.add(`Individual.${k.flag}`)
      fields.add("Individual.LastModifiedDate")
    }
  }
  return [...fields].join(", ")
}

const live = (object: PersonObject) => (object === "Lead" ? " AND IsConverted = false" : "")

/** The persons with these ids (live ones only), by 15-character id. */
export const byIds = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  ids: ReadonlyArray<string>
): Effect.Effect<Map<string, Person>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const config = client.config
    const out = new Map<string, Person>()
    for (const object of config.objects) {
      const mine = [...new Set(ids.filter((id) => objectOfId(id, config.objects) === object))]
      for (const chunk of chunks(mine, IN_CHUNK)) {
        const rows = yield* Api.queryAll(
          client,
          operation,
          `find ${object} by id`,
          `SELECT ${personFields(config, object)} FROM ${object} WHERE Id IN ${inList(chunk)}${live(object)}`
        )
        for (const row of rows) {
          const id = text(row, "Id")
          if (id !== undefined) out.set(id15(id), { object, row, id })
        }
      }
    }
    return out
  })

/** The person holding each e-mail address (lower-cased key): oldest Contact first, then oldest Lead. */
export const byEmails = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  emails: ReadonlyArray<string>
): Effect.Effect<Map<string, Person>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const config = client.config
    const out = new Map<string, Person>()
    let missing = [...new Set(emails)]
    for (const object of config.objects) {
      if (missing.length === 0) break
      for (const chunk of chunks(missing, IN_CHUNK)) {
        const rows = yield* Api.queryAll(
          client,
          operation,
          `find ${object} by e-mail`,
          `SELECT ${personFields(config, object)} FROM ${object} WHERE Email IN ${inList(chunk)}${live(object)} ORDER BY CreatedDate, Id`
        )
        for (const row of rows) {
          const id = text(row, "Id")
          const email = text(row, "Email")?.toLowerCase()
          if (id !== undefined && email !== undefined && !out.has(email)) out.set(email, { object, row, id })
        }
      }
      missing = missing.filter((e) => !out.has(e.toLowerCase()))
    }
    return out
  })

/** The e-mail addresses of a ref, in its order. */
export const emailsOf = (ref: ConsentTarget.PersonRef): ReadonlyArray<string> =>
  ref.identifiers?.["email"] ?? []

/** The person each ref names, from persons found by id (15-character key) and by e-mail (lower-cased key). */
const pick = (
  refs: ReadonlyArray<ConsentTarget.PersonRef>,
  found: ReadonlyMap<string, Person>,
  byEmail: ReadonlyMap<string, Person>
): Array<Person | undefined> =>
  refs.map((r) => {
    if (r.externalId !== undefined) return isId(r.externalId) ? found.get(id15(r.externalId)) : undefined
    for (const e of emailsOf(r)) {
      const p = byEmail.get(e.toLowerCase())
      if (p !== undefined) return p
    }
    return undefined
  })

/**
 * The person each ref names, in input order (undefined: nobody). An externalId is never looked
 * up by identifiers instead: the person may have been erased on purpose.
 */
export const resolve = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  refs: ReadonlyArray<ConsentTarget.PersonRef>
): Effect.Effect<Array<Person | undefined>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const ids = refs.flatMap((r) => (r.externalId === undefined ? [] : [r.externalId]))
    const found = ids.length === 0 ? new Map<string, Person>() : yield* byIds(client, operation, ids)
    const emails = refs.flatMap((r) => (r.externalId === undefined ? emailsOf(r) : []))
    const byEmail =
      emails.length === 0 ? new Map<string, Person>() : yield* byEmails(client, operation, emails)
    return pick(refs, found, byEmail)
  })

/** One query that finds persons: records of one object by id, or by e-mail address. */
export interface Lookup {
  readonly object: PersonObject
  readonly by: "Id" | "Email"
  readonly values: ReadonlyArray<string>
}

/**
 * The lookups that find the persons refs name, for queries sent inside a Composite request (long
 * IN lists): ids by the object their prefix names, e-mail addresses on every object at once (the
 * Contact rows then win over the Lead rows, as `resolve` has it).
 */
export const lookups = (config: Resolved, refs: ReadonlyArray<ConsentTarget.PersonRef>): Array<Lookup> => {
  const out: Array<Lookup> = []
  const ids = refs.flatMap((r) => (r.externalId === undefined ? [] : [r.externalId]))
  const emails = [...new Set(refs.flatMap((r) => (r.externalId === undefined ? emailsOf(r) : [])))]
  for (const object of config.objects) {
    const mine = [...new Set(ids.filter((id) => objectOfId(id, config.objects) === object))]
    for (const values of chunksWithin(mine, IN_COMPOSITE, IN_COMPOSITE_CHARS))
      out.push({ object, by: "Id", values })
  }
  for (const object of config.objects)
    for (const values of chunksWithin(emails, IN_COMPOSITE, IN_COMPOSITE_CHARS))
      out.push({ object, by: "Email", values })
  return out
}

/** The SOQL of a lookup: live persons only; by e-mail, oldest first. */
export const lookupSoql = (config: Resolved, l: Lookup): string =>
  `SELECT ${personFields(config, l.object)} FROM ${l.object} WHERE ${l.by} IN ${inList(l.values)}${live(l.object)}` +
  (l.by === "Email" ? " ORDER BY CreatedDate, Id" : "")

/** A semi-join subquery on the Individuals the lookup's records link to (`PartyId IN ...`). */
export const individualsOf = (l: Lookup): string =>
  `(SELECT IndividualId FROM ${l.object} WHERE ${l.by} IN ${inList(l.values)})`

/** What the error of a lookup's query calls it. */
export const lookupName = (l: Lookup): string => `find ${l.object} by ${l.by === "Id" ? "id" : "e-mail"}`

/** The person each ref names, in input order, from the rows of the lookups (`rows[k]` answers `lookups[k]`). */
export const matched = (
  config: Resolved,
  refs: ReadonlyArray<ConsentTarget.PersonRef>,
  found: ReadonlyArray<Lookup>,
  rows: ReadonlyArray<ReadonlyArray<Row>>
): Array<Person | undefined> => {
  const byId = new Map<string, Person>()
  const byEmail = new Map<string, Person>()
  // Objects in the configured order (Contact first), each object's rows oldest first.
  for (const object of config.objects)
    found.forEach((l, k) => {
      if (l.object !== object) return
      for (const row of rows[k] ?? []) {
        const id = text(row, "Id")
        if (id === undefined) continue
        if (l.by === "Id") byId.set(id15(id), { object, row, id })
        else {
          const email = text(row, "Email")?.toLowerCase()
          if (email !== undefined && !byEmail.has(email)) byEmail.set(email, { object, row, id })
        }
      }
    })
  return pick(refs, byId, byEmail)
}
