/**
 * Erasing persons (GDPR Art. 17). For each person: every Contact and Lead linked to their
 * Individual is theirs too; the Individual gets `ShouldForget` (Salesforce's own signal to the
 * org's downstream jobs; setting it deletes nothing) and, when kept, loses its name and birth
 * date; then the configured objects go to the recycle bin: consent records, contact points,
 * Contacts and Leads, the Individual last. Deleting a record that is already deleted counts as
 * done, so erasing again is harmless; a person nobody finds is `Absent`.
 */
import { type AdapterError, ConsentTarget } from "@living-profile/core"
import { Effect } from "effect"
import type { SalesforceClient } from "../Client.js"
import { text } from "../mappers/wire.js"
import type { ErasableObject, PersonObject } from "../SalesforceConfig.js"
import { chunks, IN_CHUNK, id15, inList } from "../Soql.js"
import * as Api from "./Api.js"
import * as Persons from "./Persons.js"

interface Erasure {
  readonly owners: Array<number>
  readonly individualId: string | undefined
  readonly records: Array<{ type: ErasableObject; id: string }>
  failure: AdapterError.AdapterError | undefined
}

/** An erase primitive over a client. */
export const eraseBatch =
  (client: SalesforceClient) =>
  (
    refs: ReadonlyArray<ConsentTarget.PersonRef>
  ): Effect.Effect<ReadonlyArray<ConsentTarget.EraseResult>, AdapterError.AdapterError> =>
    Effect.gen(function* () {
      const config = client.config
      const deletes = config.erasure.delete
      const persons = yield* Persons.resolve(client, "erase", refs)
      const results: Array<ConsentTarget.EraseResult> = persons.map(() => ConsentTarget.absent)

      // One erasure per Individual (or per person without one).
      const erasures = new Map<string, Erasure>()
      persons.forEach((p, i) => {
        if (p === undefined) return
        const individualId = text(p.row, "IndividualId")
        const key = individualId === undefined ? `p:${id15(p.id)}` : `i:${id15(individualId)}`
        let e = erasures.get(key)
        if (e === undefined) {
          e = { owners: [], individualId, records: [], failure: undefined }
          erasures.set(key, e)
        }
        e.owners.push(i)
        if (deletes.has(p.object) && !e.records.some((r) => r.id === p.id))
          e.records.push({ type: p.object, id: p.id })
      })
      const list = [...erasures.values()]
      const byIndividual = new Map<string, Erasure>()
      for (const e of list) if (e.individualId !== undefined) byIndividual.set(id15(e.individualId), e)
      const individualIds = [...byIndividual.keys()]

      // Everything else that hangs off the Individuals.
      const related = (object: ErasableObject | PersonObject, link: string, extra = "") =>
        Effect.gen(function* () {
          if (!deletes.has(object) || individualIds.length === 0) return
          for (const chunk of chunks(individualIds, IN_CHUNK)) {
            const rows = yield* Api.queryAll(
              client,
              "erase",
              `find ${object} of the Individuals`,
              `SELECT Id, ${link} FROM ${object} WHERE ${link} IN ${inList(chunk)}${extra}`
            )
            for (const row of rows) {
              const id = text(row, "Id")
              const owner = text(row, link)
              const e = owner === undefined ? undefined : byIndividual.get(id15(owner))
              if (id !== undefined && e !== undefined && !e.records.some((r) => r.id === id))
                e.records.push({ type: object, id })
            }
          }
        })
      yield* related("ContactPointTypeConsent", "PartyId")
      yield* related("ContactPointEmail", "ParentId")
      yield* related("ContactPointPhone", "ParentId")
      for (const object of config.objects) yield* related(object, "IndividualId")

      // ShouldForget (and scrubbing) before deleting: if the deletion fails half-way, the flag
      // already tells the org's own jobs what the person asked for.
      const flagged = list.filter((e) => e.individualId !== undefined)
      const scrub = config.erasure.scrubIndividual && !deletes.has("Individual")
      if (config.erasure.shouldForget || scrub) {
        const outcomes = yield* Api.update(
          client,
          "erase",
          flagged.map((e) => ({
            type: "Individual",
            id: e.individualId!,
            fields: {
              ...(config.erasure.shouldForget ? { ShouldForget: true } : {}),
              ...(scrub ? { LastName: "Forgotten", FirstName: null, Salutation: null, BirthDate: null } : {})
            }
          }))
        )
        flagged.forEach((e, k) => {
          const o = outcomes[k]!
          // An Individual deleted meanwhile has nothing left to flag.
          if (!o.ok && o.error.reason !== "NotFound") e.failure = o.error
        })
      }
      for (const e of flagged)
        if (deletes.has("Individual")) e.records.push({ type: "Individual", id: e.individualId! })

      // Dependents before their parents, in one pass of collection deletes.
      const order: ReadonlyArray<ErasableObject> = [
        "ContactPointTypeConsent",
        "ContactPointEmail",
        "ContactPointPhone",
        "Contact",
        "Lead",
        "Individual"
      ]
      const doomed = list
        .filter((e) => e.failure === undefined)
        .flatMap((e) => e.records.map((r) => ({ erasure: e, record: r })))
        .sort((a, b) => order.indexOf(a.record.type) - order.indexOf(b.record.type))
      const outcomes = yield* Api.destroy(
        client,
        "erase",
        doomed.map((d) => d.record)
      )
      doomed.forEach((d, k) => {
        const o = outcomes[k]!
        if (!o.ok && o.error.reason !== "NotFound") d.erasure.failure ??= o.error
      })
      for (const e of list)
        for (const i of e.owners)
          results[i] = e.failure === undefined ? ConsentTarget.erased : ConsentTarget.failed(e.failure)
      return results
    })
