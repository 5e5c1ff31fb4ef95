/**
 * The HubSpot endpoints the adapter uses, as Effects over the client: contacts through the typed
 * SDK, subscription statuses through `apiRequest` (v4 has no SDK client). Batches are cut to the
 * configured size here, so callers pass any number of inputs. Endpoint names in errors are path
 * templates: no e-mail ever appears in a path the adapter calls.
 */
import type { FilterOperatorEnum } from "@hubspot/api-client/lib/codegen/crm/contacts/models/Filter.js"
import { AdapterError } from "@living-profile/core"
import { Effect, Either, type Schema } from "effect"
import type { HubSpotClient } from "../Client.js"
import * as Errors from "../Errors.js"
import type { Resolved } from "../HubSpotConfig.js"
import { emailKey, type HubSpotContact } from "../mappers/Contact.js"
import * as Wire from "./Wire.js"

/** Endpoint names, for requests and error details. */
export const endpoints = {
  batchRead: "POST /crm/v3/objects/contacts/batch/read",
  batchUpsert: "POST /crm/v3/objects/contacts/batch/upsert",
  search: "POST /crm/v3/objects/contacts/search",
  gdprDelete: "POST /crm/v3/objects/contacts/gdpr-delete",
  statusesRead: "/communication-preferences/v4/statuses/batch/read",
  statusesWrite: "/communication-preferences/v4/statuses/batch/write"
} as const

/** Splits items into batches of at most `size`. */
export const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** What the endpoints need. */
export interface Api {
  readonly client: HubSpotClient
  readonly config: Resolved
}

/** Live contacts by record id or by e-mail, in any order; ids and e-mails nobody has are left out. */
export const readContacts = (
  api: Api,
  operation: AdapterError.Operation,
  by: "id" | "email",
  values: ReadonlyArray<string>,
  properties: ReadonlyArray<string>
): Effect.Effect<Array<HubSpotContact>, AdapterError.AdapterError> =>
  Effect.map(
    Effect.forEach(
      chunksOf([...new Set(values)], api.config.batchSize),
      (chunk) =>
        api.client.call(operation, "standard", endpoints.batchRead, (c) =>
          // A 207 (some ids unknown) comes back as a normal answer: the missing ones are simply absent.
          c.batch.read({
            inputs: chunk.map((id) => ({ id })),
            properties: [...properties],
            propertiesWithHistory: [],
            ...(by === "email" ? { idProperty: "email" } : {})
          })
        ),
      { concurrency: api.config.concurrency }
    ),
    (answers) => answers.flatMap((a) => a.results)
  ).pipe(Effect.flatMap((results) => resultsOf(api, operation, endpoints.batchRead, results)))

/** What creating a contact for an e-mail gave: the contact, or why it failed. */
export type Created = Either.Either<HubSpotContact, AdapterError.AdapterError>

/**
 * The contacts of these e-mails, created where missing: an upsert by e-mail finds the contact a
 * concurrent writer made instead of creating a second one. A batch that HubSpot refuses as a whole
 * (one unusable address fails every input) is retried one address at a time, so that one bad
 * address does not hold the others back. Keyed by `emailKey`.
 */
export const upsertByEmail = (
  api: Api,
  operation: AdapterError.Operation,
  emails: ReadonlyArray<string>
): Effect.Effect<Map<string, Created>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const out = new Map<string, Created>()
    const unique = [...new Map(emails.map((e) => [emailKey(e), e] as const)).values()]
    const send = (chunk: ReadonlyArray<string>) =>
      api.client.call(operation, "standard", endpoints.batchUpsert, (c) =>
        c.batch.upsert({
          inputs: chunk.map((email) => ({ id: email, idProperty: "email", properties: { email } }))
        })
      )
    const record = (results: ReadonlyArray<HubSpotContact>) => {
      for (const r of results) {
        const email = r.properties["email"]
        if (typeof email === "string") out.set(emailKey(email), Either.right(r))
      }
    }
    for (const chunk of chunksOf(unique, api.config.batchSize)) {
      const answer = yield* Effect.either(send(chunk))
      if (Either.isRight(answer)) record(answer.right.results)
      else if (answer.left.reason === "Invalid" && chunk.length > 1) {
        for (const email of chunk) {
          const one = yield* Effect.either(send([email]))
          if (Either.isRight(one)) record(one.right.results)
          else if (one.left.isTargetWide) return yield* Effect.fail(one.left)
          else out.set(emailKey(email), Either.left(one.left))
        }
      } else return yield* Effect.fail(answer.left)
    }
    for (const email of unique) {
      const key = emailKey(email)
      if (!out.has(key))
        out.set(
          key,
          Either.left(
            AdapterError.unknown(api.config.name, `${endpoints.batchUpsert}: no result for an input`, {
              operation,
              code: "MISSING_RESULT"
            })
          )
        )
    }
    return out
  })

/** One filter of a contacts search. */
export interface SearchFilter {
  readonly propertyName: string
  readonly operator: "EQ" | "GT" | "LT"
  readonly value: string
}

/** One page of a contacts search, from offset 0: results, and whether more matched than it holds. */
export const searchContacts = (
  api: Api,
  operation: AdapterError.Operation,
  query: {
    readonly filters: ReadonlyArray<SearchFilter>
    readonly sort: string
    readonly properties: ReadonlyArray<string>
    readonly limit: number
  }
): Effect.Effect<
  { readonly results: Array<HubSpotContact>; readonly more: boolean },
  AdapterError.AdapterError
> =>
  Effect.map(
    api.client.call(operation, "search", endpoints.search, (c) =>
      c.search.doSearch({
        // No filter at all is no group at all: an empty group is not something HubSpot documents.
        filterGroups:
          query.filters.length === 0
            ? []
            : [
                {
                  filters: query.filters.map((f) => ({
                    propertyName: f.propertyName,
                    operator: f.operator as FilterOperatorEnum,
                    value: f.value
                  }))
                }
              ],
        sorts: [query.sort],
        properties: [...query.properties],
        limit: query.limit,
        after: "0"
      })
    ),
    (answer) => answer
  ).pipe(
    Effect.flatMap((answer) =>
      Effect.map(resultsOf(api, operation, endpoints.search, answer?.results), (results) => ({
        results,
        more: answer.paging?.next !== undefined
      }))
    )
  )

/** GDPR delete of a contact by record id: HubSpot removes it and everything attached for good. */
export const gdprDelete = (
  api: Api,
  operation: AdapterError.Operation,
  id: string
): Effect.Effect<void, AdapterError.AdapterError> =>
  api.client.call(operation, "standard", endpoints.gdprDelete, (c) => c.basic.purge({ objectId: id }))

/** The v4 statuses of e-mails, keyed by `emailKey`; e-mails HubSpot does not answer for are absent. */
export const readStatuses = (
  api: Api,
  operation: AdapterError.Operation,
  emails: ReadonlyArray<string>
): Effect.Effect<Map<string, ReadonlyArray<Wire.PublicStatus>>, AdapterError.AdapterError> =>
  Effect.map(
    Effect.forEach(
      chunksOf([...new Set(emails)], api.config.batchSize),
      (chunk) =>
        Effect.flatMap(
          api.client.request(operation, "standard", {
            method: "POST",
            path: endpoints.statusesRead,
            qs: { channel: "EMAIL" },
            body: { inputs: chunk }
          }),
          (answer) =>
            decoded(api, operation, `POST ${endpoints.statusesRead}`, Wire.BatchReadResponse, answer.body)
        ),
      { concurrency: api.config.concurrency }
    ),
    (answers) => {
      const out = new Map<string, ReadonlyArray<Wire.PublicStatus>>()
      for (const a of answers) for (const r of a.results) out.set(emailKey(r.subscriberIdString), r.statuses)
      return out
    }
  )

/** What became of one status write. */
export type WriteOutcome =
  | { readonly _tag: "Written"; readonly timestamp: string | undefined }
  | { readonly _tag: "Refused"; readonly error: AdapterError.AdapterError }

/** The key a write is matched back by: the e-mail and the subscription type. */
export const writeKey = (email: string, subscriptionId: string | number): string =>
  `${emailKey(email)}\u001f${String(subscriptionId)}`

/**
 * Writes one batch of at most `batchSize` statuses (the caller cuts batches, to decide what a
 * failed batch means). A 207 reports refused items in `errors`; each is matched back to its input
 * by the e-mail and subscription id in its context, and an item HubSpot answered for in neither
 * list is reported as unknown rather than assumed written.
 */
export const writeStatuses = (
  api: Api,
  operation: AdapterError.Operation,
  inputs: ReadonlyArray<Wire.WriteInput>
): Effect.Effect<Array<WriteOutcome>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const endpoint = `POST ${endpoints.statusesWrite}`
    const answer = yield* api.client.request(operation, "standard", {
      method: "POST",
      path: endpoints.statusesWrite,
      body: { inputs }
    })
    const body = yield* decoded(api, operation, endpoint, Wire.BatchWriteResponse, answer.body)
    const written = new Map<string, string | undefined>()
    for (const r of body.results) written.set(writeKey(r.subscriberIdString, r.subscriptionId), r.timestamp)
    const refused = new Map<string, AdapterError.AdapterError>()
    let unplaced: AdapterError.AdapterError | undefined
    for (const e of body.errors ?? []) {
      const error = itemError(api, operation, endpoint, e.category)
      const emails = e.context?.["subscriberIdString"] ?? e.context?.["emails"] ?? []
      const ids = e.context?.["subscriptionId"] ?? []
      if (emails.length === 0) unplaced ??= error
      for (const email of emails) {
        const matching = inputs.filter(
          (i) =>
            emailKey(i.subscriberIdString) === emailKey(email) &&
            (ids.length === 0 || ids.includes(String(i.subscriptionId)))
        )
        for (const i of matching) refused.set(writeKey(i.subscriberIdString, i.subscriptionId), error)
      }
    }
    return inputs.map((i): WriteOutcome => {
      const key = writeKey(i.subscriberIdString, i.subscriptionId)
      const error = refused.get(key)
      if (error !== undefined) return { _tag: "Refused", error }
      if (written.has(key)) return { _tag: "Written", timestamp: written.get(key) }
      return {
        _tag: "Refused",
        error:
          unplaced ??
          AdapterError.unknown(api.config.name, `${endpoint}: no result for an input`, {
            operation,
            code: "MISSING_RESULT"
          })
      }
    })
  })

/** The error of one refused item of a batch, from HubSpot's category (an HTTP status is not given per item). */
export const itemError = (
  api: Api,
  operation: AdapterError.Operation,
  endpoint: string,
  category: string | undefined
): AdapterError.AdapterError => {
  const code = category !== undefined && /^[A-Z][A-Z0-9_]{0,63}$/.test(category) ? category : undefined
  const detail = `${endpoint}: an item was refused${code === undefined ? "" : ` (${code})`}`
  const extra = { operation, code: code ?? "ITEM_ERROR" }
  switch (code) {
    case "VALIDATION_ERROR":
    case "INVALID_EMAIL":
    case "BAD_REQUEST":
      return AdapterError.invalid(api.config.name, detail, extra)
    case "OBJECT_NOT_FOUND":
      return AdapterError.notFound(api.config.name, detail, extra)
    case "CONFLICT":
      return AdapterError.conflict(api.config.name, detail, extra)
    default:
      return AdapterError.unknown(api.config.name, detail, extra)
  }
}

/**
 * The contacts of a typed answer, checked: the SDK passes a body it cannot model through as it is
 * (a text body becomes a string), so an answer without a list of `{ id, properties }` is refused here.
 */
const resultsOf = (
  api: Api,
  operation: AdapterError.Operation,
  endpoint: string,
  results: unknown
): Effect.Effect<Array<HubSpotContact>, AdapterError.AdapterError> => {
  const ok =
    Array.isArray(results) &&
    results.every(
      (r: unknown) =>
        typeof r === "object" &&
        r !== null &&
        typeof (r as { id?: unknown }).id === "string" &&
        typeof (r as { properties?: unknown }).properties === "object"
    )
  return ok
    ? Effect.succeed(results as Array<HubSpotContact>)
    : Effect.fail(
        Errors.malformed({ target: api.config.name, operation, endpoint, now: 0 }, "no list of contacts")
      )
}

const decoded = <A, I>(
  api: Api,
  operation: AdapterError.Operation,
  endpoint: string,
  schema: Schema.Schema<A, I>,
  body: unknown
): Effect.Effect<A, AdapterError.AdapterError> =>
  Either.match(Wire.decode(schema, body), {
    onLeft: (where) =>
      Effect.fail(Errors.malformed({ target: api.config.name, operation, endpoint, now: 0 }, where)),
    onRight: Effect.succeed
  })
