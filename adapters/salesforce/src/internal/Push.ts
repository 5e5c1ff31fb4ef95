/**
 * Pushing diffs: at most `maxBatchSize` diffs per call of the primitive, read and written through
 * Composite requests that carry up to five queries or sObject Collections each (one API call for
 * up to 1,000 records), in the order that keeps a failure from leaving half-linked records behind:
 *
 * 1. resolve the DataUsePurposes (cached; created when missing and allowed);
 * 2. read the persons (Contacts / Leads by id, or by e-mail) and, in the same requests, the
 *    current ContactPointTypeConsent records of the Individuals they link to (a semi-join on the
 *    persons' `IndividualId`, so neither read waits for the other);
 * 3. create an Individual for each person that needs one (flags set on creation);
 * 4. create the Contacts of persons known only by e-mail (linked, checkboxes set), and link
 *    existing persons to their new Individual;
 * 5. create the missing consent records and, alongside, update what persons without a new record
 *    need updated (consent records, Individual flags, checkboxes);
 * 6. then update the flags and checkboxes of persons whose new consent records were written (a
 *    person whose record could not be written keeps their checkboxes and flags too).
 *
 * Nothing is rewritten that already holds: a repeated diff writes nothing and moves no
 * SystemModstamp. Steps 3, 4 and 6 cost a request only when some person needs them, so a batch
 * of persons who have Individuals costs one read and one write request per 1,000 records written.
 *
 * A person that fails in one step is left out of the later ones and its diffs are `Failed` with
 * the per-record error; the others go on. A request (or a subrequest) that fails as a whole fails
 * the call. Several diffs for one person in a batch are merged, the later change of a field winning.
 */
import { AdapterError, ConsentEvent, ConsentTarget } from "@living-profile/core"
import { Effect } from "effect"
import type { SalesforceClient } from "../Client.js"
import { optedOut, toPrivacyConsentStatus } from "../mappers/consentStatus.js"
import { currentRecords, recordKey, statusOfRow } from "../mappers/toHeldPerson.js"
import { flag, millis, parent, text } from "../mappers/wire.js"
import type { ConsentKey, ContactPointTypeConsentKey } from "../SalesforceConfig.js"
import { id15, inList } from "../Soql.js"
import * as Api from "./Api.js"
import * as Persons from "./Persons.js"
import { missingPurpose, type Purposes } from "./Purposes.js"

interface Wanted {
  readonly key: ConsentKey
  readonly change: ConsentTarget.TargetDiff["changes"][number]
}

/** Everything one person's diffs ask for, and how far it got. */
interface Subject {
  person: Persons.Person | undefined
  /** For a person to create: the e-mail address that names them. */
  readonly email: string | undefined
  readonly owners: Array<number>
  /** Field to the change that wins for it. */
  readonly wanted: Map<string, Wanted>
  individualId: string | undefined
  /** The Individual was created in this call (it holds no consent records yet). */
  newIndividual: boolean
  failure: AdapterError.AdapterError | undefined
}

const CONSENT_FIELDS =
  "Id, PartyId, DataUsePurposeId, DataUsePurpose.Name, ContactPointType, PrivacyConsentStatus, CaptureDate, LastModifiedDate, SystemModstamp"

const capturedAt = (w: Wanted): string =>
  new Date(ConsentEvent.toMillis(w.change.because.capturedAt)).toISOString()

const seconds = (ms: number): number => Math.floor(ms / 1000)

/** A push primitive over a client. */
export const pushBatch =
  (client: SalesforceClient, purposes: Purposes) =>
  (
    diffs: ReadonlyArray<ConsentTarget.TargetDiff>
  ): Effect.Effect<ReadonlyArray<ConsentTarget.PushResult>, AdapterError.AdapterError> =>
    Effect.gen(function* () {
      const config = client.config
      const name = client.name
      const results: Array<ConsentTarget.PushResult | undefined> = new Array(diffs.length)

      // What the kind of key can hold; make checked the target-wide vocabulary only.
      const keyed: Array<Array<Wanted> | undefined> = diffs.map((d, i) => {
        const out: Array<Wanted> = []
        for (const change of d.changes) {
          const key = config.keysByField.get(change.field)
          if (key === undefined) {
            results[i] = ConsentTarget.rejected(`field "${change.field}" does not exist in the target`)
            return undefined
          }
          const holds =
            key.kind === "Individual"
              ? change.to === "granted" || change.to === "denied"
              : toPrivacyConsentStatus(change.to) !== undefined
          if (!holds) {
            results[i] = ConsentTarget.rejected(`field "${change.field}" cannot hold ${change.to}`)
            return undefined
          }
          out.push({ key, change })
        }
        return out
      })
      const live = diffs.flatMap((_, i) => (results[i] === undefined ? [i] : []))
      if (live.length === 0) return results as Array<ConsentTarget.PushResult>

      const isConsentKey = (w: Wanted): w is Wanted & { readonly key: ContactPointTypeConsentKey } =>
        w.key.kind === "ContactPointTypeConsent"

      // 1. Purposes (cached for the adapter's life: a steady push asks nothing here).
      const purposeNames = [
        ...new Set(
          live.flatMap((i) => (keyed[i] ?? []).filter(isConsentKey).map((w) => w.key.dataUsePurpose))
        )
      ]
      const purposeIds =
        purposeNames.length === 0 ? new Map<string, string>() : yield* purposes.ids("push", purposeNames)

      // 2. Persons, and the consent records of their Individuals, in the same requests.
      const refs = live.map((i) => diffs[i]!.ref)
      const personLookups = Persons.lookups(config, refs)
      const consentLookups =
        purposeIds.size === 0
          ? []
          : Persons.lookups(
              config,
              live
                .filter((i) =>
                  (keyed[i] ?? []).some((w) => isConsentKey(w) && purposeIds.has(w.key.dataUsePurpose))
                )
                .map((i) => diffs[i]!.ref)
            )
      const purposeList = inList(purposeIds.values())
      const rows = yield* Api.readMany(client, "push", [
        ...personLookups.map((l) => ({ what: Persons.lookupName(l), soql: Persons.lookupSoql(config, l) })),
        ...consentLookups.map((l) => ({
          what: "read ContactPointTypeConsent",
          soql: `SELECT ${CONSENT_FIELDS} FROM ContactPointTypeConsent WHERE PartyId IN ${Persons.individualsOf(l)} AND DataUsePurposeId IN ${purposeList}`
        }))
      ])
      const found = Persons.matched(config, refs, personLookups, rows.slice(0, personLookups.length))
      const current = currentRecords(rows.slice(personLookups.length).flat())

      const subjects = new Map<string, Subject>()
      live.forEach((i, k) => {
        const diff = diffs[i]!
        const person = found[k]
        let subjectKey: string
        let email: string | undefined
        if (person !== undefined) subjectKey = `id:${id15(person.id)}`
        else if (diff.ref.externalId !== undefined) {
          results[i] = ConsentTarget.failed(
            AdapterError.notFound(name, "no live Contact or Lead has this externalId", {
              operation: "push",
              code: "NOT_FOUND"
            })
          )
          return
        } else {
          email = Persons.emailsOf(diff.ref)[0]
          if (email === undefined) {
            results[i] = ConsentTarget.rejected("the ref has no externalId and no e-mail address")
            return
          }
          subjectKey = `new:${email.toLowerCase()}`
        }
        let s = subjects.get(subjectKey)
        if (s === undefined) {
          s = {
            person,
            email,
            owners: [],
            wanted: new Map(),
            individualId: person === undefined ? undefined : text(person.row, "IndividualId"),
            newIndividual: false,
            failure: undefined
          }
          subjects.set(subjectKey, s)
        }
        s.owners.push(i)
        for (const w of keyed[i] ?? []) s.wanted.set(w.change.field, w)
      })
      const all = [...subjects.values()]
      const going = () => all.filter((s) => s.failure === undefined)
      const consentKeys = (s: Subject) => [...s.wanted.values()].filter(isConsentKey)
      for (const s of all)
        for (const w of consentKeys(s))
          if (!purposeIds.has(w.key.dataUsePurpose))
            s.failure ??= missingPurpose(client, "push", w.key.dataUsePurpose)

      // 3. Individuals, with the flags the diff sets.
      const flagsOf = (s: Subject): Record<string, boolean> => {
        const out: Record<string, boolean> = {}
        for (const w of s.wanted.values())
          if (w.key.kind === "Individual") out[w.key.flag] = optedOut(w.change.to)
        return out
      }
      const needIndividual = going().filter((s) => s.individualId === undefined && s.wanted.size > 0)
      const { created: individuals } = yield* Api.write(client, "push", {
        create: needIndividual.map((s) => {
          const row = s.person?.row
          const first = row === undefined ? undefined : text(row, "FirstName")
          return {
            type: "Individual",
            fields: {
              // Salesforce requires a LastName; the Individual is the same person as its Contact.
              LastName: (row === undefined ? undefined : text(row, "LastName")) ?? config.placeholderLastName,
              ...(first === undefined ? {} : { FirstName: first }),
              ...flagsOf(s)
            }
          }
        })
      })
      needIndividual.forEach((s, k) => {
        const o = individuals[k]!
        if (o.ok) {
          s.individualId = o.id
          s.newIndividual = true
        } else s.failure = o.error
      })

      // 4. New Contacts, and links of existing persons to their new Individual.
      const checkboxesOf = (s: Subject): Record<string, boolean> => {
        const out: Record<string, boolean> = {}
        for (const w of consentKeys(s))
          if (w.key.checkbox !== undefined) out[w.key.checkbox] = optedOut(w.change.to)
        return out
      }
      const toCreate = going().filter((s) => s.person === undefined)
      const toLink = going().filter(
        (s) => s.newIndividual && s.person !== undefined && text(s.person.row, "IndividualId") === undefined
      )
      // Different persons: the creates and the links go in one request.
      const { created: contacts, updated: links } = yield* Api.write(client, "push", {
        create: toCreate.map((s) => ({
          type: "Contact",
          fields: {
            LastName: config.placeholderLastName,
            Email: s.email,
            ...(s.individualId === undefined ? {} : { IndividualId: s.individualId }),
            ...checkboxesOf(s)
          }
        })),
        update: toLink.map((s) => ({
          type: s.person!.object,
          id: s.person!.id,
          fields: { IndividualId: s.individualId }
        }))
      })
      toCreate.forEach((s, k) => {
        const o = contacts[k]!
        if (o.ok)
          s.person = { object: "Contact", id: o.id, row: { Id: o.id, IndividualId: s.individualId ?? null } }
        else s.failure = o.error
      })
      toLink.forEach((s, k) => {
        const o = links[k]!
        if (o.ok) s.person = { ...s.person!, row: { ...s.person!.row, IndividualId: s.individualId ?? null } }
        else s.failure = o.error
      })

      // 5. Consent records to create, and everything to update.
      const creates: Array<{ subject: Subject; record: Api.NewRecord }> = []
      const updates: Array<{ subject: Subject; record: Api.RecordUpdate }> = []
      for (const s of going()) {
        const party = s.individualId
        const created = s.person !== undefined && toCreate.includes(s)
        for (const w of consentKeys(s)) {
          if (party === undefined) continue
          const status = toPrivacyConsentStatus(w.change.to)!
          const at = capturedAt(w)
          const capture = {
            PrivacyConsentStatus: status,
            CaptureDate: at,
            EffectiveFrom: at,
            CaptureSource: w.change.because.source.slice(0, 255),
            CaptureContactPointType: config.captureContactPointType
          }
          const held = current.get(recordKey(party, w.key.dataUsePurpose, w.key.contactPointType))
          if (held === undefined)
            creates.push({
              subject: s,
              record: {
                type: "ContactPointTypeConsent",
                fields: {
                  Name: `${w.key.dataUsePurpose} ${w.key.contactPointType}`.slice(0, 255),
                  PartyId: party,
                  DataUsePurposeId: purposeIds.get(w.key.dataUsePurpose),
                  ContactPointType: w.key.contactPointType,
                  ...capture
                }
              }
            })
          else if (
            statusOfRow(held) !== status ||
            seconds(millis(held, "CaptureDate")) !== seconds(ConsentEvent.toMillis(at))
          )
            updates.push({
              subject: s,
              record: { type: "ContactPointTypeConsent", id: text(held, "Id")!, fields: capture }
            })
        }
        if (!s.newIndividual && party !== undefined) {
          const individual = s.person === undefined ? undefined : parent(s.person.row, "Individual")
          const changed = Object.entries(flagsOf(s)).filter(
            ([f, v]) => individual === undefined || flag(individual, f) !== v
          )
          if (changed.length > 0)
            updates.push({
              subject: s,
              record: { type: "Individual", id: party, fields: Object.fromEntries(changed) }
            })
        }
        if (!created && s.person !== undefined) {
          const row = s.person.row
          const changed = Object.entries(checkboxesOf(s)).filter(([f, v]) => flag(row, f) !== v)
          if (changed.length > 0)
            updates.push({
              subject: s,
              record: { type: s.person.object, id: s.person.id, fields: Object.fromEntries(changed) }
            })
        }
      }
      // Consent first: a person whose record could not be written keeps their checkboxes and flags
      // too, so the updates of a person with a new record wait for it (step 6). The others' updates
      // go with the creates.
      const creating = new Set(creates.map((c) => c.subject))
      const alongside = updates.filter((u) => !creating.has(u.subject))
      const { created: createdOutcomes, updated: alongsideOutcomes } = yield* Api.write(client, "push", {
        create: creates.map((c) => c.record),
        update: alongside.map((u) => u.record)
      })
      creates.forEach((c, k) => {
        const o = createdOutcomes[k]!
        if (!o.ok) c.subject.failure ??= o.error
      })
      alongside.forEach((u, k) => {
        const o = alongsideOutcomes[k]!
        if (!o.ok) u.subject.failure ??= o.error
      })

      // 6. The updates of persons whose new consent records were written.
      const after = updates.filter((u) => creating.has(u.subject) && u.subject.failure === undefined)
      const { updated: afterOutcomes } = yield* Api.write(client, "push", {
        update: after.map((u) => u.record)
      })
      after.forEach((u, k) => {
        const o = afterOutcomes[k]!
        if (!o.ok) u.subject.failure ??= o.error
      })

      for (const s of all)
        for (const i of s.owners)
          results[i] =
            s.failure !== undefined
              ? ConsentTarget.failed(s.failure)
              : s.person !== undefined
                ? ConsentTarget.applied(s.person.id)
                : ConsentTarget.failed(
                    AdapterError.unknown(name, "the person was neither found nor created", {
                      operation: "push"
                    })
                  )
      return results.map(
        (r) =>
          r ??
          ConsentTarget.failed(
            AdapterError.unknown(name, "the diff was not processed", { operation: "push" })
          )
      )
    })
