/**
 * HubSpot as a consent target, built with core's `ConsentTarget.make` from primitives:
 *
 * - **push** (`pushBatch`, 100 diffs per call): finds the contacts (batch read by id, or by e-mail
 *   for refs without an externalId, creating missing ones by an upsert on e-mail), then writes each
 *   change as a v4 subscription status with the legal basis of the ledger's event, 100 statuses
 *   per `batch/write`. A 207 is reported item by item.
 * - **pull**: the contact feed (keyset search on `lastmodifieddate`, see internal/ContactFeed.ts),
 *   then the current v4 statuses of the page's e-mails. A status change in HubSpot updates the
 *   contact's opt-out property and so its `lastmodifieddate`, which is how the feed sees it.
 * - **read**: batch read of the contacts, then v4 batch status read.
 * - **erase**: GDPR delete by record id (HubSpot removes the contact and its statuses for good).
 *
 * Persons are contacts: externalId is the record id, the identifier type is `email`. HubSpot keeps
 * subscriptions per e-mail address, so a contact without one cannot hold consent here.
 */
import { AdapterError, ConsentTarget } from "@living-profile/core"
import { Effect, Either, Option } from "effect"
import type { HubSpotClient } from "./Client.js"
import { mappingOf, type Resolved, type ResolvedSubscription } from "./HubSpotConfig.js"
import * as Api from "./internal/Api.js"
import * as ContactFeed from "./internal/ContactFeed.js"
import * as Cursor from "./internal/Cursor.js"
import type { WriteInput } from "./internal/Wire.js"
import {
  attributeMap,
  emailKey,
  emailOf,
  type HubSpotContact,
  looksLikeEmail,
  modifiedAtOf,
  propertiesToRead,
  toSourceRecord
} from "./mappers/Contact.js"
import { toHeldPerson, toPulledChanges, toWriteInput } from "./mappers/SubscriptionStatus.js"

// HubSpot record ids are numeric: anything else names no contact, and is not sent in a request.
const RECORD_ID = /^\d{1,20}$/

/** The e-mails a ref names a person by, in order. */
const refEmails = (ref: ConsentTarget.PersonRef): Array<string> =>
  (ref.identifiers?.["email"] ?? []).filter((e) => e.trim() !== "")

/** The contacts that refs name: by record id when they have one (no fall back), else by e-mail. */
interface Located {
  readonly byId: ReadonlyMap<string, HubSpotContact>
  readonly byEmail: ReadonlyMap<string, HubSpotContact>
}

const locate = (
  api: Api.Api,
  operation: "push" | "read" | "erase",
  refs: ReadonlyArray<ConsentTarget.PersonRef>,
  properties: ReadonlyArray<string>
): Effect.Effect<Located, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const ids: Array<string> = []
    const emails: Array<string> = []
    for (const ref of refs) {
      if (ref.externalId !== undefined) {
        if (RECORD_ID.test(ref.externalId)) ids.push(ref.externalId)
      } else for (const e of refEmails(ref)) if (looksLikeEmail(e)) emails.push(e)
    }
    const byId = new Map<string, HubSpotContact>()
    const byEmail = new Map<string, HubSpotContact>()
    if (ids.length > 0)
      for (const c of yield* Api.readContacts(api, operation, "id", ids, properties)) byId.set(c.id, c)
    if (emails.length > 0)
      for (const c of yield* Api.readContacts(api, operation, "email", emails, properties)) {
        const e = emailOf(c)
        if (e !== undefined) byEmail.set(emailKey(e), c)
      }
    return { byId, byEmail }
  })

/** The contact a ref names, among those located. */
const contactOf = (located: Located, ref: ConsentTarget.PersonRef): HubSpotContact | undefined => {
  if (ref.externalId !== undefined) return located.byId.get(ref.externalId)
  for (const e of refEmails(ref)) {
    const c = located.byEmail.get(emailKey(e))
    if (c !== undefined) return c
  }
  return undefined
}

/** The consent target over a client. */
export const make = (client: HubSpotClient, config: Resolved): ConsentTarget.ConsentTarget => {
  const api: Api.Api = { client, config }
  const name = config.name
  const attributes = attributeMap(config.attributes)
  const properties = propertiesToRead(attributes)
  const subscriptionOf = new Map<string, ResolvedSubscription>(config.subscriptions.map((s) => [s.field, s]))
  const emailsOf = (contacts: Iterable<HubSpotContact>) => {
    const out: Array<string> = []
    for (const c of contacts) {
      const e = emailOf(c)
      if (e !== undefined) out.push(e)
    }
    return out
  }

  const pushBatch: ConsentTarget.PushBatch = (diffs) =>
    Effect.gen(function* () {
      const results: Array<ConsentTarget.PushResult | undefined> = new Array(diffs.length)
      for (let i = 0; i < diffs.length; i++) {
        const ref = diffs[i]!.ref
        if (ref.externalId !== undefined && !RECORD_ID.test(ref.externalId))
          results[i] = ConsentTarget.failed(
            AdapterError.notFound(name, "no HubSpot contact has this externalId (record ids are numeric)", {
              operation: "push",
              code: "OBJECT_NOT_FOUND"
            })
          )
        else if (ref.externalId === undefined && !refEmails(ref).some(looksLikeEmail))
          results[i] = ConsentTarget.rejected(
            "the ref's e-mail identifiers are not addresses HubSpot accepts"
          )
      }
      const pending = diffs.flatMap((_, i) => (results[i] === undefined ? [i] : []))
      // Only the e-mail is needed: statuses are kept under it.
      const located = yield* locate(
        api,
        "push",
        pending.map((i) => diffs[i]!.ref),
        ["email"]
      )

      // Persons named by e-mail whom nobody has yet are created, under their first usable address.
      const toCreate: Array<string> = []
      for (const i of pending) {
        const ref = diffs[i]!.ref
        if (ref.externalId === undefined && contactOf(located, ref) === undefined)
          toCreate.push(refEmails(ref).find(looksLikeEmail)!)
      }
      const created =
        toCreate.length === 0
          ? new Map<string, Api.Created>()
          : yield* Api.upsertByEmail(api, "push", toCreate)

      // One status write per (e-mail, subscription type); a later diff for the same one wins.
      const writes = new Map<string, WriteInput>()
      const keysOf = new Map<number, { readonly contact: HubSpotContact; readonly keys: Array<string> }>()
      for (const i of pending) {
        const d = diffs[i]!
        let contact = contactOf(located, d.ref)
        if (contact === undefined && d.ref.externalId === undefined) {
          const made = created.get(emailKey(refEmails(d.ref).find(looksLikeEmail)!))
          if (made !== undefined && Either.isLeft(made)) {
            results[i] = ConsentTarget.failed(made.left)
            continue
          }
          contact = made?.right
        }
        if (contact === undefined) {
          results[i] = ConsentTarget.failed(
            AdapterError.notFound(name, "no HubSpot contact has this externalId", {
              operation: "push",
              code: "OBJECT_NOT_FOUND"
            })
          )
          continue
        }
        const email = emailOf(contact)
        if (email === undefined) {
          results[i] = ConsentTarget.failed(
            AdapterError.invalid(
              name,
              "the HubSpot contact has no e-mail address; HubSpot keeps subscriptions per address",
              {
                operation: "push",
                code: "NO_EMAIL"
              }
            )
          )
          continue
        }
        const keys: Array<string> = []
        for (const change of d.changes) {
          // make checked the field against the declared fields before calling.
          const subscription = subscriptionOf.get(change.field)!
          const key = Api.writeKey(email, subscription.subscriptionId)
          writes.delete(key)
          writes.set(key, toWriteInput(config, email, subscription, change))
          keys.push(key)
        }
        keysOf.set(i, { contact, keys })
      }

      // Batches go one after another: after a batch fails, the rest are not attempted.
      const outcomes = new Map<string, Api.WriteOutcome>()
      let written = false
      let stop: AdapterError.AdapterError | undefined
      for (const batch of Api.chunksOf([...writes.values()], config.batchSize)) {
        if (stop !== undefined) {
          for (const w of batch)
            outcomes.set(Api.writeKey(w.subscriberIdString, w.subscriptionId), {
              _tag: "Refused",
              error: stop
            })
          continue
        }
        const answer = yield* Effect.either(Api.writeStatuses(api, "push", batch))
        if (Either.isLeft(answer)) {
          // Nothing reached HubSpot yet (contacts created on the way are harmless): the call fails whole.
          if (!written) return yield* Effect.fail(answer.left)
          stop = answer.left
          for (const w of batch)
            outcomes.set(Api.writeKey(w.subscriberIdString, w.subscriptionId), {
              _tag: "Refused",
              error: stop
            })
          continue
        }
        written = true
        batch.forEach((w, k) => {
          outcomes.set(Api.writeKey(w.subscriberIdString, w.subscriptionId), answer.right[k]!)
        })
      }

      for (const [i, { contact, keys }] of keysOf) {
        let latest: string | undefined
        let refused: AdapterError.AdapterError | undefined
        for (const key of keys) {
          const o = outcomes.get(key)
          if (o === undefined) continue
          if (o._tag === "Refused") refused ??= o.error
          else if (
            o.timestamp !== undefined &&
            (latest === undefined || Date.parse(o.timestamp) > Date.parse(latest))
          )
            latest = o.timestamp
        }
        const at =
          latest === undefined || Number.isNaN(Date.parse(latest))
            ? undefined
            : new Date(Date.parse(latest)).toISOString()
        results[i] =
          refused !== undefined ? ConsentTarget.failed(refused) : ConsentTarget.applied(contact.id, at)
      }
      return results.map(
        (r) =>
          r ??
          ConsentTarget.failed(
            AdapterError.unknown(name, "push left an item without a result", { operation: "push" })
          )
      )
    })

  const pullPage = (cursor: Option.Option<string>) =>
    Effect.gen(function* () {
      const from = Option.isNone(cursor) ? Cursor.start : Cursor.decode(cursor.value)
      if (from === undefined)
        return yield* Effect.fail(
          AdapterError.invalid(name, "the cursor was not issued by this adapter", {
            operation: "pull",
            code: "BAD_CURSOR"
          })
        )
      const page = yield* ContactFeed.next(api, "pull", from, properties)
      const statuses = yield* Api.readStatuses(api, "pull", emailsOf(page.contacts))
      const changes: Array<ConsentTarget.PulledChange> = []
      for (const c of page.contacts) {
        const e = emailOf(c)
        if (e === undefined) continue
        const at = new Date(modifiedAtOf(c)).toISOString()
        for (const change of toPulledChanges(config.subscriptions, c, statuses.get(emailKey(e)) ?? [], at))
          changes.push(change)
      }
      return {
        changes,
        records: page.contacts.map((c) => toSourceRecord(name, c, attributes)),
        cursor: Cursor.encode(page.next),
        hasMore: page.hasMore
      }
    })

  const readBatch = (refs: ReadonlyArray<ConsentTarget.PersonRef>) =>
    Effect.gen(function* () {
      const located = yield* locate(api, "read", refs, properties)
      const found = refs.map((ref) => contactOf(located, ref))
      const statuses = yield* Api.readStatuses(
        api,
        "read",
        emailsOf(found.filter((c): c is HubSpotContact => c !== undefined))
      )
      return found.map((c) => {
        if (c === undefined) return Option.none<ConsentTarget.HeldPerson>()
        const e = emailOf(c)
        return Option.some(
          toHeldPerson(config.subscriptions, c, e === undefined ? [] : (statuses.get(emailKey(e)) ?? []))
        )
      })
    })

  const eraseOne = (ref: ConsentTarget.PersonRef) =>
    Effect.gen(function* () {
      let id = ref.externalId
      if (id === undefined) {
        // By e-mail: find the contact first. A GDPR delete by e-mail of an unknown address would
        // blocklist it in HubSpot for good, which erasing a person HubSpot never had must not do.
        const located = yield* locate(api, "erase", [ref], ["email"])
        id = contactOf(located, ref)?.id
      }
      if (id === undefined || !RECORD_ID.test(id)) return ConsentTarget.absent
      // A 404 fails with NotFound, which make reads as Absent.
      yield* Api.gdprDelete(api, "erase", id)
      return ConsentTarget.erased
    })

  return ConsentTarget.make({
    name,
    mapping: mappingOf(config),
    capabilities: {
      holds: [],
      fields: config.subscriptions.map((s) => s.field),
      identifiers: ["email"],
      // Pages carry the changed contacts as records, but HubSpot offers no feed of GDPR-deleted
      // contacts, so deletions cannot be reported as the `records` capability promises.
      records: false,
      policyVersion: false,
      maxBatchSize: config.batchSize
    },
    pushBatch,
    pullPage,
    readBatch,
    eraseOne
  })
}
