import { toIso } from "./Clock.js"
import type { Contact, ContactVersion } from "./Contacts.js"
import { type ErrorContext, objectNotFound, tooManyInputs, validation } from "./Errors.js"
import * as Json from "./Json.js"
import type { Portal } from "./Portal.js"
import { ALWAYS_RETURNED, isEmail, normalizeEmail, selection, validateWrite } from "./Properties.js"
import * as Search from "./Search.js"
import type { Reply, RequestContext, Route } from "./Server.js"

/** Inputs per batch call (HubSpot's contacts guide). */
export const MAX_BATCH_INPUTS = 100
/** Inputs per batch read that asks for property histories. */
export const MAX_HISTORY_INPUTS = 50
/** Largest page of the list endpoint. */
export const MAX_PAGE_LIMIT = 100

const BASE = String.raw`\/crm\/v3\/objects\/(?:contacts|0-1)`
const path = (suffix: string): RegExp => new RegExp(`^${BASE}${suffix}$`)

type IdProperty = "id" | "email"

/** The CRM contacts endpoints the SDK calls. */
export const routes = (portal: Portal): ReadonlyArray<Route> => {
  const api = new ContactsApi(portal)
  const route = (
    method: string,
    suffix: string,
    handle: (c: RequestContext) => Reply,
    kind: Route["kind"] = "standard"
  ) => ({ method, pattern: path(suffix), kind, handle }) satisfies Route
  return [
    route("POST", "/batch/read", (c) => api.batchRead(c)),
    route("POST", "/batch/create", (c) => api.batchCreate(c)),
    route("POST", "/batch/update", (c) => api.batchUpdate(c)),
    route("POST", "/batch/upsert", (c) => api.batchUpsert(c)),
    route("POST", "/batch/archive", (c) => api.batchArchive(c)),
    route("POST", "/search", (c) => api.search(c), "search"),
    route("POST", "/gdpr-delete", (c) => api.gdprDelete(c)),
    route("GET", "", (c) => api.getPage(c)),
    route("POST", "", (c) => api.create(c)),
    route("GET", "/(?<id>[^/]+)", (c) => api.getById(c)),
    route("PATCH", "/(?<id>[^/]+)", (c) => api.update(c)),
    route("DELETE", "/(?<id>[^/]+)", (c) => api.archive(c))
  ]
}

/** A contact as the API returns it (`SimplePublicObject`). */
export const toPublic = (
  id: string,
  version: ContactVersion,
  names: ReadonlyArray<string>,
  extras: {
    readonly archivedAt?: number | undefined
    readonly history?: Contact["history"]
    readonly withHistory?: ReadonlyArray<string>
  } = {}
): Record<string, unknown> => {
  const properties: Record<string, string | null> = {}
  for (const name of names) properties[name] = version.properties.get(name) ?? null
  const withHistory = extras.withHistory ?? []
  return {
    id,
    properties,
    createdAt: toIso(version.createdAt),
    updatedAt: toIso(version.updatedAt),
    archived: extras.archivedAt !== undefined,
    ...(extras.archivedAt === undefined ? {} : { archivedAt: toIso(extras.archivedAt) }),
    ...(withHistory.length === 0 || extras.history === undefined
      ? {}
      : {
          propertiesWithHistory: Object.fromEntries(
            withHistory.map((name) => [
              name,
              (extras.history?.get(name) ?? []).map((h) => ({
                value: h.value,
                timestamp: toIso(h.timestamp),
                sourceType: h.sourceType
              }))
            ])
          )
        })
  }
}

/** The envelope of every batch answer; 207 when any input failed. */
export const batchReply = (
  okStatus: number,
  results: ReadonlyArray<unknown>,
  errors: ReadonlyArray<unknown>,
  at: string
): Reply => ({
  status: errors.length > 0 ? 207 : okStatus,
  body: {
    status: "COMPLETE",
    results,
    ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
    startedAt: at,
    completedAt: at
  }
})

/** The error item of a 207 for records that do not exist. */
const notFoundItem = (ids: ReadonlyArray<string>, traces: ReadonlyArray<string>): Record<string, unknown> => {
  const context: Record<string, ReadonlyArray<string>> = { ids }
  if (traces.length > 0) context["objectWriteTraceId"] = traces
  return {
    status: "error",
    category: "OBJECT_NOT_FOUND",
    message:
      "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
    context: context satisfies ErrorContext,
    errors: []
  }
}

const duplicates = (ids: ReadonlyArray<string>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const repeated = new Set<string>()
  for (const id of ids) (seen.has(id) ? repeated : seen).add(id)
  return [...repeated]
}

const assertBatchSize = (inputs: ReadonlyArray<unknown>): void => {
  if (inputs.length > MAX_BATCH_INPUTS) throw tooManyInputs(MAX_BATCH_INPUTS)
}

const queryList = (query: URLSearchParams, name: string): ReadonlyArray<string> | undefined => {
  const values = query.getAll(name).flatMap((v) => v.split(","))
  return values.length === 0 ? undefined : values.filter((v) => v !== "")
}

class ContactsApi {
  readonly #portal: Portal

  constructor(portal: Portal) {
    this.#portal = portal
  }

  batchRead(c: RequestContext): Reply {
    const body = Json.object(c.body, "body")
    const inputs = Json.array(body["inputs"], "inputs")
    assertBatchSize(inputs)
    const withHistory = Json.optionalStrings(body["propertiesWithHistory"], "propertiesWithHistory") ?? []
    if (withHistory.length > 0 && inputs.length > MAX_HISTORY_INPUTS) {
      throw tooManyInputs(MAX_HISTORY_INPUTS, "a batch request for property histories")
    }
    const idProperty = this.#idProperty(body["idProperty"])
    const archived = c.query.get("archived") === "true"
    const names = selection(this.#portal.registry, Json.optionalStrings(body["properties"], "properties"))
    const ids = [
      ...new Set(
        inputs.map((input, i) => Json.id(Json.object(input, `inputs[${i}]`)["id"], `inputs[${i}].id`))
      )
    ]
    const results: Array<unknown> = []
    const missing: Array<string> = []
    for (const id of ids) {
      const contact = this.#find(id, idProperty, archived)
      if (contact === undefined) missing.push(id)
      else results.push(this.#public(contact, names, withHistory))
    }
    return batchReply(
      200,
      results,
      missing.length > 0 ? [notFoundItem(missing, [])] : [],
      this.#portal.clock.iso()
    )
  }

  batchCreate(c: RequestContext): Reply {
    const inputs = Json.array(Json.object(c.body, "body")["inputs"], "inputs")
    assertBatchSize(inputs)
    const parsed = inputs.map((input, i) => {
      const object = Json.object(input, `inputs[${i}]`)
      return {
        values: validateWrite(
          this.#portal.registry,
          Json.propertyValues(object["properties"], `inputs[${i}].properties`)
        ),
        trace: Json.optionalString(object["objectWriteTraceId"], `inputs[${i}].objectWriteTraceId`)
      }
    })
    const emails = parsed.flatMap((p) => (p.values["email"] ? [p.values["email"]] : []))
    const repeated = duplicates(emails)
    if (repeated.length > 0)
      throw validation(`Duplicate emails found in batch input: [${repeated.join(", ")}]`)
    // HubSpot rejects the whole batch on the first taken e-mail and names only that one.
    for (const email of emails) this.#portal.assertEmailUsable(email)
    const at = this.#portal.clock.now()
    const results = parsed.map((p) => {
      const contact = this.#portal.createContact(p.values, at, "API")
      return {
        ...this.#written(contact, p.values),
        ...(p.trace === undefined ? {} : { objectWriteTraceId: p.trace })
      }
    })
    return batchReply(201, results, [], this.#portal.clock.iso())
  }

  batchUpdate(c: RequestContext): Reply {
    const inputs = Json.array(Json.object(c.body, "body")["inputs"], "inputs")
    assertBatchSize(inputs)
    const parsed = inputs.map((input, i) => {
      const object = Json.object(input, `inputs[${i}]`)
      return {
        id: Json.id(object["id"], `inputs[${i}].id`),
        idProperty: this.#idProperty(object["idProperty"]),
        values: validateWrite(
          this.#portal.registry,
          Json.propertyValues(object["properties"], `inputs[${i}].properties`)
        ),
        trace: Json.optionalString(object["objectWriteTraceId"], `inputs[${i}].objectWriteTraceId`)
      }
    })
    const repeated = duplicates(parsed.map((p) => p.id))
    if (repeated.length > 0) {
      throw validation(`Duplicate IDs found in batch input: [${repeated.join(", ")}]. IDs must be unique`)
    }
    const found = parsed.map((p) => ({ ...p, contact: this.#find(p.id, p.idProperty, false) }))
    for (const f of found) {
      const email = f.values["email"]
      if (f.contact !== undefined && email) this.#portal.assertEmailUsable(email, f.contact)
    }
    const at = this.#portal.clock.now()
    const results: Array<unknown> = []
    const missing = found.filter((f) => f.contact === undefined)
    for (const f of found) {
      if (f.contact === undefined) continue
      this.#portal.contacts.write(f.contact, f.values, at, "API")
      results.push({
        ...this.#written(f.contact, f.values),
        ...(f.trace === undefined ? {} : { objectWriteTraceId: f.trace })
      })
    }
    const errors =
      missing.length === 0
        ? []
        : [
            notFoundItem(
              missing.map((m) => m.id),
              missing.flatMap((m) => (m.trace === undefined ? [] : [m.trace]))
            )
          ]
    return batchReply(200, results, errors, this.#portal.clock.iso())
  }

  batchUpsert(c: RequestContext): Reply {
    const inputs = Json.array(Json.object(c.body, "body")["inputs"], "inputs")
    assertBatchSize(inputs)
    const parsed = inputs.map((input, i) => {
      const object = Json.object(input, `inputs[${i}]`)
      const idProperty = this.#idProperty(object["idProperty"])
      const rawId = Json.id(object["id"], `inputs[${i}].id`)
      const id = idProperty === "email" ? normalizeEmail(rawId) : rawId
      const values = validateWrite(
        this.#portal.registry,
        Json.propertyValues(object["properties"], `inputs[${i}].properties`)
      )
      if (idProperty === "email") {
        if (!isEmail(id)) throw validation(`Email address ${rawId} is invalid`)
        if (values["email"] !== undefined && values["email"] !== id) {
          throw validation(`inputs[${i}]: properties.email (${values["email"]}) differs from the id ${rawId}`)
        }
      }
      return {
        id,
        idProperty,
        values,
        trace: Json.optionalString(object["objectWriteTraceId"], `inputs[${i}].objectWriteTraceId`)
      }
    })
    const repeated = duplicates(parsed.map((p) => p.id))
    if (repeated.length > 0) {
      throw validation(`Duplicate IDs found in batch input: [${repeated.join(", ")}]. IDs must be unique`)
    }
    const found = parsed.map((p) => ({ ...p, contact: this.#find(p.id, p.idProperty, false) }))
    for (const f of found) {
      const email = f.idProperty === "email" ? f.id : f.values["email"]
      if (email && (f.contact !== undefined || f.idProperty === "email"))
        this.#portal.assertEmailUsable(email, f.contact)
    }
    const at = this.#portal.clock.now()
    const results: Array<unknown> = []
    const missing = found.filter((f) => f.contact === undefined && f.idProperty === "id")
    for (const f of found) {
      const trace = f.trace === undefined ? {} : { objectWriteTraceId: f.trace }
      if (f.contact !== undefined) {
        this.#portal.contacts.write(f.contact, f.values, at, "API")
        results.push({ ...this.#written(f.contact, f.values), new: false, ...trace })
      } else if (f.idProperty === "email") {
        const values = { ...f.values, email: f.id }
        const contact = this.#portal.createContact(values, at, "API")
        results.push({ ...this.#written(contact, values), new: true, ...trace })
      }
    }
    const errors =
      missing.length === 0
        ? []
        : [
            notFoundItem(
              missing.map((m) => m.id),
              missing.flatMap((m) => (m.trace === undefined ? [] : [m.trace]))
            )
          ]
    return batchReply(200, results, errors, this.#portal.clock.iso())
  }

  batchArchive(c: RequestContext): Reply {
    const inputs = Json.array(Json.object(c.body, "body")["inputs"], "inputs")
    assertBatchSize(inputs)
    const at = this.#portal.clock.now()
    inputs.forEach((input, i) => {
      const contact = this.#portal.contacts.get(
        Json.id(Json.object(input, `inputs[${i}]`)["id"], `inputs[${i}].id`)
      )
      if (contact !== undefined) this.#portal.contacts.archive(contact, at)
    })
    return { status: 204 }
  }

  search(c: RequestContext): Reply {
    const query = Search.decode(this.#portal.registry, c.body, c.rawBody.length)
    const now = this.#portal.clock.now()
    const candidates: Array<Search.Candidate> = []
    for (const contact of this.#portal.contacts.all()) {
      const version = this.#portal.contacts.searchable(contact, now)
      if (version !== undefined) candidates.push({ id: contact.id, version })
    }
    const page = Search.run(query, candidates)
    return {
      status: 200,
      body: {
        total: page.total,
        results: page.results.map((r) => toPublic(r.id, r.version, query.properties)),
        ...(page.nextAfter === undefined
          ? {}
          : { paging: { next: { after: String(page.nextAfter), link: `?after=${page.nextAfter}` } } })
      }
    }
  }

  gdprDelete(c: RequestContext): Reply {
    const body = Json.object(c.body, "body")
    const objectId = Json.id(body["objectId"], "objectId")
    if (this.#idProperty(body["idProperty"]) === "email") {
      this.#portal.purgeByEmail(objectId)
      return { status: 204 }
    }
    const contact = this.#portal.contacts.get(objectId)
    if (contact === undefined) throw objectNotFound(objectId)
    this.#portal.purge(contact)
    return { status: 204 }
  }

  getPage(c: RequestContext): Reply {
    const limitText = c.query.get("limit")
    const limit = limitText === null ? 10 : Number(limitText)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw validation(`limit must be between 1 and ${MAX_PAGE_LIMIT}, got ${limitText}`)
    }
    const after = Number(c.query.get("after") ?? "0")
    if (!Number.isFinite(after)) throw validation(`after must be a record id, got ${c.query.get("after")}`)
    const archived = c.query.get("archived") === "true"
    const names = selection(this.#portal.registry, queryList(c.query, "properties"))
    const withHistory = queryList(c.query, "propertiesWithHistory") ?? []
    const eligible = this.#portal.contacts
      .all()
      .filter((contact) => (contact.archivedAt !== undefined) === archived && Number(contact.id) > after)
    const page = eligible.slice(0, limit)
    const last = page[page.length - 1]
    return {
      status: 200,
      body: {
        results: page.map((contact) => this.#public(contact, names, withHistory)),
        ...(eligible.length > limit && last !== undefined
          ? { paging: { next: { after: last.id, link: `?after=${last.id}` } } }
          : {})
      }
    }
  }

  create(c: RequestContext): Reply {
    const body = Json.object(c.body, "body")
    const values = validateWrite(this.#portal.registry, Json.propertyValues(body["properties"], "properties"))
    const email = values["email"]
    if (email) this.#portal.assertEmailUsable(email)
    const contact = this.#portal.createContact(values, this.#portal.clock.now(), "API")
    return { status: 201, body: this.#written(contact, values) }
  }

  getById(c: RequestContext): Reply {
    const id = c.params["id"] ?? ""
    const contact = this.#find(
      id,
      this.#idProperty(c.query.get("idProperty") ?? undefined),
      c.query.get("archived") === "true"
    )
    if (contact === undefined) throw objectNotFound(id)
    const names = selection(this.#portal.registry, queryList(c.query, "properties"))
    return {
      status: 200,
      body: this.#public(contact, names, queryList(c.query, "propertiesWithHistory") ?? [])
    }
  }

  update(c: RequestContext): Reply {
    const id = c.params["id"] ?? ""
    const contact = this.#find(id, this.#idProperty(c.query.get("idProperty") ?? undefined), false)
    if (contact === undefined) throw objectNotFound(id)
    const body = Json.object(c.body, "body")
    const values = validateWrite(this.#portal.registry, Json.propertyValues(body["properties"], "properties"))
    const email = values["email"]
    if (email) this.#portal.assertEmailUsable(email, contact)
    this.#portal.contacts.write(contact, values, this.#portal.clock.now(), "API")
    return { status: 200, body: this.#written(contact, values) }
  }

  archive(c: RequestContext): Reply {
    const contact = this.#portal.contacts.get(c.params["id"] ?? "")
    // Archiving a missing or already archived record is not an error in HubSpot.
    if (contact !== undefined) this.#portal.contacts.archive(contact, this.#portal.clock.now())
    return { status: 204 }
  }

  #idProperty(u: unknown): IdProperty {
    const name = Json.optionalString(u, "idProperty")
    if (name === undefined || name === "hs_object_id") return "id"
    if (name === "email") return "email"
    if (this.#portal.registry.get(name) === undefined) {
      throw validation(`Property "${name}" does not exist`, {
        errors: [{ message: `Property "${name}" does not exist`, code: "PROPERTY_DOESNT_EXIST" }]
      })
    }
    throw validation(`${name} is not a unique property; idProperty must name a unique property such as email`)
  }

  #find(id: string, idProperty: IdProperty, archived: boolean): Contact | undefined {
    if (idProperty === "email") {
      return archived ? this.#portal.contacts.archivedByEmail(id)[0] : this.#portal.contacts.byEmail(id)
    }
    const contact = this.#portal.contacts.get(id)
    return contact !== undefined && (contact.archivedAt !== undefined) === archived ? contact : undefined
  }

  #public(
    contact: Contact,
    names: ReadonlyArray<string>,
    withHistory: ReadonlyArray<string>
  ): Record<string, unknown> {
    return toPublic(contact.id, contact, names, {
      archivedAt: contact.archivedAt,
      history: contact.history,
      withHistory
    })
  }

  // Write endpoints echo the properties that were written plus the always-returned ones.
  #written(contact: Contact, values: Readonly<Record<string, string>>): Record<string, unknown> {
    return toPublic(contact.id, contact, [...new Set([...Object.keys(values), ...ALWAYS_RETURNED])])
  }
}
