/**
 * Pulling: each object is read as a stream ordered by `SystemModstamp, Id` from its position in
 * the cursor, at most `pageSize` rows per page; deletions of Contacts and Leads come both from
 * `queryAll` (records in the recycle bin show `IsDeleted`, to the second) and from getDeleted
 * (which also reports records purged from the recycle bin, but only up to the current minute).
 *
 * Streams of the consent target: ContactPointTypeConsent (consent records), Individual (opt-out
 * flags, when mapped), Contact and Lead (identity records and opt-out checkboxes). The record
 * source reads only Contact and Lead. A page goes on with `nextRecordsUrl` (queryMore) when rows
 * it already delivered fill a batch, and keeps the locator of a page cut at a batch boundary so
 * that the next pull continues the same query instead of starting a new one (a locator is used
 * once and only within a few minutes; otherwise the query is run again from the cursor).
 *
 * None of these reads depends on another, so they travel together: one Composite request carries
 * the first page of every stream (query operations, four at most) and the getDeleted calls (which
 * are not), and later pages and retries follow in the next ones. A pull with nothing new is one
 * API call and one round trip instead of six. What a page's changes need next (the persons linked
 * to the Individuals that changed, the consent records behind set checkboxes) depends only on
 * those answers and goes in one more request.
 */
import { AdapterError, type ConsentTarget, type SourceRecord } from "@living-profile/core"
import { Clock, Effect, Either, Option } from "effect"
import type { SalesforceClient } from "../Client.js"
import { agreesWithOptOut } from "../mappers/consentStatus.js"
import { choiceTimeOf, currentRecords, recordKey, statusOfRow } from "../mappers/toHeldPerson.js"
import { fromConsentRecord, fromOptOut, type PulledPerson } from "../mappers/toPulledChange.js"
import { deletedRecord, identifiersOf, isGone, toSourceRecord } from "../mappers/toSourceRecord.js"
import {
  type DeletedPage,
  flag,
  idOf,
  instant,
  parent,
  type QueryPage,
  type Row,
  text
} from "../mappers/wire.js"
import { fieldOf, type PersonObject } from "../SalesforceConfig.js"
import {
  chunksWithin,
  datetime,
  IN_COMPOSITE,
  IN_COMPOSITE_CHARS,
  id15,
  inList,
  isoOf,
  millisOf,
  quote
} from "../Soql.js"
import * as Api from "./Api.js"
import * as PullCursor from "./PullCursor.js"
import { CONSENT_FIELDS, consentReads } from "./Read.js"

const DAY = 24 * 3600 * 1000
/** getDeleted refuses starts older than 30 days. */
const DELETED_HORIZON = 29 * DAY
/** Salesforce keeps deleted records in the recycle bin for 15 days. */
const RECYCLE_BIN = 14 * DAY
/** Query locators expire after 15 minutes of disuse. */
const LOCATOR_TTL = 10 * 60 * 1000
/** Composite requests of one pull in flight at once (a pull rarely needs more than one). */
const CONCURRENCY = 2

/** Query locators of pages cut at a batch boundary, by stream and position. */
export type Locators = Map<string, { readonly url: string; readonly at: number }>

/** An empty locator cache. */
export const locators = (): Locators => new Map()

interface Spec {
  readonly key: string
  readonly object: string
  readonly fields: string
  /** queryAll: records in the recycle bin too. */
  readonly all: boolean
}

interface Fetched {
  readonly rows: Array<Row>
  readonly position: PullCursor.Position | undefined
  readonly more: boolean
}

const locatorKey = (spec: Spec, p: PullCursor.Position | undefined) =>
  p?.id === undefined ? undefined : `${spec.key}\u001f${p.t}\u001f${p.id}`

/**
 * The read of up to `limit` rows of a stream after `from`, as the first step of a drain: a fresh
 * query, or the held locator of the page a previous pull cut; `done` gets the rows and position.
 */
const fetch = (
  client: SalesforceClient,
  cache: Locators,
  spec: Spec,
  from: PullCursor.Position | undefined,
  now: number,
  done: (fetched: Fetched) => void
): Api.Step => {
  const limit = client.config.pageSize
  const what = `pull ${spec.object}`
  const where =
    from === undefined
      ? ""
      : from.id !== undefined
        ? ` WHERE (SystemModstamp > ${datetime(from.t)} OR (SystemModstamp = ${datetime(from.t)} AND Id > ${quote(from.id)}))`
        : ` WHERE SystemModstamp >= ${datetime(from.t)}`
  const soql = `SELECT ${spec.fields} FROM ${spec.object}${where} ORDER BY SystemModstamp, Id`
  const rows: Array<Row> = []
  const onPage = (page: QueryPage): ReadonlyArray<Api.Step> => {
    let cut = false
    for (const row of page.records) {
      if (PullCursor.delivered(from, row)) continue
      if (rows.length === limit) {
        cut = true
        break
      }
      rows.push(row)
    }
    const further = !page.done && page.nextRecordsUrl !== undefined
    if (!cut && further && rows.length < limit) return [pageStep(Api.nextSub(what, page.nextRecordsUrl!))]
    const more = cut || further
    const position = PullCursor.advance(from, rows)
    const next = locatorKey(spec, position)
    if (more && !cut && next !== undefined && page.nextRecordsUrl !== undefined)
      cache.set(next, { url: page.nextRecordsUrl, at: now })
    done({ rows, position, more })
    return []
  }
  const pageStep = (sub: Api.Subrequest): Api.Step => ({
    sub,
    onAnswer: (answer) =>
      Either.match(answer, {
        onLeft: Effect.fail,
        onRight: (body) => Effect.map(Api.pageOf(client, "pull", what, body), onPage)
      })
  })
  const fresh = pageStep(Api.querySub(what, soql, { all: spec.all, batchSize: limit }))
  const held = locatorKey(spec, from)
  const locator = held === undefined ? undefined : cache.get(held)
  if (held !== undefined) cache.delete(held)
  if (locator === undefined || now - locator.at >= LOCATOR_TTL) return fresh
  const resumed = pageStep(Api.nextSub(what, locator.url))
  return {
    sub: resumed.sub,
    // An expired or unknown locator: run the query again from the cursor.
    onAnswer: (answer) =>
      Either.isLeft(answer) && (answer.left.reason === "Invalid" || answer.left.reason === "NotFound")
        ? Effect.succeed([fresh])
        : resumed.onAnswer(answer)
  }
}

/** The queries of the live Contacts and Leads linked to these Individuals. */
const linkedReads = (client: SalesforceClient, individualIds: ReadonlyArray<string>): Array<Api.Read> => {
  const full = new Map(individualIds.map((id) => [id15(id), id]))
  const ids = [...full.values()]
  return client.config.objects.flatMap((object) =>
    chunksWithin(ids, IN_COMPOSITE, IN_COMPOSITE_CHARS).map((chunk) => ({
      what: `find ${object} of Individuals`,
      soql: `SELECT Id, Email, Phone, MobilePhone, IndividualId FROM ${object} WHERE IndividualId IN ${inList(
        chunk
      )}${object === "Lead" ? " AND IsConverted = false" : ""}`
    }))
  )
}

/** The persons of `linkedReads`' rows, by 15-character Individual id. */
const linkedPersons = (rows: ReadonlyArray<ReadonlyArray<Row>>): Map<string, Array<PulledPerson>> => {
  const out = new Map<string, Array<PulledPerson>>()
  for (const row of rows.flat()) {
    const id = idOf(row)
    const individual = text(row, "IndividualId")
    if (id === undefined || individual === undefined) continue
    const list = out.get(id15(individual)) ?? []
    list.push({ externalId: id, identifiers: identifiersOf(row) })
    out.set(id15(individual), list)
  }
  return out
}

const personStream = (client: SalesforceClient, object: PersonObject): Spec => {
  const config = client.config
  const checkboxes = config.consent.flatMap((k) =>
    k.kind === "ContactPointTypeConsent" && k.checkbox !== undefined ? [k.checkbox] : []
  )
  const fields = new Set([
    "Id",
    "IsDeleted",
    "Email",
    "Phone",
    "MobilePhone",
    "IndividualId",
    "LastModifiedDate",
    "SystemModstamp",
    ...(object === "Lead" ? ["IsConverted"] : []),
    ...checkboxes,
    ...Object.values(config.attributes[object])
  ])
  return { key: object, object, fields: [...fields].join(", "), all: true }
}

interface Streamed {
  readonly rows: ReadonlyMap<string, Array<Row>>
  readonly cursor: PullCursor.Cursor
  readonly more: boolean
  /** Deletions getDeleted reported, as identity records. */
  readonly deletions: Array<SourceRecord.SourceRecord>
}

/**
 * The reads of one page that depend on nothing but the cursor, sent together: a page of every
 * stream, and getDeleted for each person object from the cursor's windows (whose new ends the
 * returned cursor carries).
 */
const readStreams = (
  client: SalesforceClient,
  cache: Locators,
  specs: ReadonlyArray<Spec>,
  from: PullCursor.Cursor
): Effect.Effect<Streamed, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const rows = new Map<string, Array<Row>>()
    const streams: Record<string, PullCursor.Position> = { ...from.streams }
    let more = false
    const steps: Array<Api.Step> = specs.map((spec) =>
      fetch(client, cache, spec, from.streams[spec.key], now, (got) => {
        rows.set(spec.key, got.rows)
        if (got.position !== undefined) streams[spec.key] = got.position
        more ||= got.more
      })
    )
    const pages = new Map<string, DeletedPage>()
    for (const object of client.config.objects)
      steps.push(
        deletedStep(client, object, from.deleted[object] ?? 0, now, (page) => pages.set(object, page))
      )
    yield* Api.drain(client, "pull", steps, { concurrency: CONCURRENCY })

    const deletions: Array<SourceRecord.SourceRecord> = []
    const deleted: Record<string, number> = { ...from.deleted }
    for (const object of client.config.objects) {
      const page = pages.get(object)
      if (page === undefined) continue
      for (const d of page.deletedRecords)
        deletions.push(deletedRecord(client.name, d.id, isoOf(d.deletedDate)))
      const covered = millisOf(page.latestDateCovered)
      if (!Number.isNaN(covered)) deleted[object] = Math.max(covered, from.deleted[object] ?? 0)
    }
    // A stream that delivered nothing keeps its position; a window moves to what getDeleted covered.
    return { rows, cursor: { ...from, streams, deleted }, more, deletions }
  })

/** getDeleted of one person object from the end of the window covered (`since`). */
const deletedStep = (
  client: SalesforceClient,
  object: string,
  since: number,
  now: number,
  done: (page: DeletedPage) => void
): Api.Step => {
  const start = Math.max(since, now - DELETED_HORIZON)
  const end = new Date(Math.max(now, start) + DAY)
  const refused = (e: AdapterError.AdapterError) => e.code === "INVALID_REPLICATION_DATE"
  const read = (from: number, onRefused: () => ReadonlyArray<Api.Step>): Api.Step => {
    const sub = Api.deletedSub(object, new Date(from), end)
    return {
      sub,
      onAnswer: (answer) =>
        Either.match(answer, {
          onLeft: (e) => (refused(e) ? Effect.succeed(onRefused()) : Effect.fail(e)),
          onRight: (body) =>
            Effect.map(Api.deletedOf(client, "pull", sub.what, body), (page) => {
              done(page)
              return []
            })
        })
    }
  }
  // The window start fell out of what the org still reports (records purged): read what it has.
  // Still refused (our clock is far from the org's): queryAll keeps reporting deletions still in
  // the recycle bin; the window stays where it was and is tried again next page.
  return read(start, () => [read(Math.max(start, now - RECYCLE_BIN), () => [])])
}

const decodeCursor = (
  client: SalesforceClient,
  cursor: Option.Option<string>,
  kind: PullCursor.Cursor["kind"]
): Effect.Effect<PullCursor.Cursor, AdapterError.AdapterError> =>
  Option.match(cursor, {
    onNone: () => Effect.succeed(PullCursor.start(kind)),
    onSome: (text) =>
      Either.match(PullCursor.decode(text, kind), {
        onLeft: (problem) =>
          Effect.fail(AdapterError.invalid(client.name, problem, { operation: "pull", code: "CURSOR" })),
        onRight: Effect.succeed
      })
  })

const identityRecords = (client: SalesforceClient, streamed: Streamed): Array<SourceRecord.SourceRecord> => {
  const out = new Map<string, SourceRecord.SourceRecord>()
  for (const object of client.config.objects)
    for (const row of streamed.rows.get(object) ?? []) {
      const r = toSourceRecord(client.name, object, row, client.config.attributes[object])
      if (r !== undefined) out.set(r.id, r)
    }
  // A deletion getDeleted reports is final; it replaces a live row only for a record that is gone.
  for (const d of streamed.deletions) if (!out.has(d.id) || out.get(d.id)?.deleted === true) out.set(d.id, d)
  return [...out.values()]
}

/** The pull primitive of the consent target. */
export const pullPage =
  (client: SalesforceClient, cache: Locators) =>
  (cursor: Option.Option<string>): Effect.Effect<ConsentTarget.PullPageInput, AdapterError.AdapterError> =>
    Effect.gen(function* () {
      const config = client.config
      const from = yield* decodeCursor(client, cursor, "target")
      const consentKeys = config.consent.flatMap((k) => (k.kind === "ContactPointTypeConsent" ? [k] : []))
      const flagKeys = config.consent.flatMap((k) => (k.kind === "Individual" ? [k] : []))
      const specs: Array<Spec> = []
      if (consentKeys.length > 0)
        specs.push({ key: "consent", object: "ContactPointTypeConsent", fields: CONSENT_FIELDS, all: false })
      if (flagKeys.length > 0)
        specs.push({
          key: "individual",
          object: "Individual",
          fields: ["Id", "LastModifiedDate", "SystemModstamp", ...new Set(flagKeys.map((k) => k.flag))].join(
            ", "
          ),
          all: false
        })
      for (const object of config.objects) specs.push(personStream(client, object))
      const streamed = yield* readStreams(client, cache, specs, from)

      const consentRows = streamed.rows.get("consent") ?? []
      const individualRows = streamed.rows.get("individual") ?? []
      // Checkboxes: a set one speaks for its key unless the consent record already says so.
      const checked = consentKeys.filter((k) => k.checkbox !== undefined)
      const personRows = config.objects.flatMap((object) =>
        (streamed.rows.get(object) ?? []).filter(
          (row) => !isGone(object, row) && checked.some((k) => flag(row, k.checkbox!))
        )
      )
      const individuals = personRows.flatMap((r) => {
        const i = text(r, "IndividualId")
        return i === undefined ? [] : [i]
      })
      // Who the changed consent records and flags belong to, and the consent records behind the
      // set checkboxes: both depend only on the rows above, so they share requests.
      const linking = linkedReads(client, [
        ...consentRows.flatMap((r) => {
          const p = text(r, "PartyId")
          return p === undefined ? [] : [p]
        }),
        ...individualRows.flatMap((r) => {
          const id = idOf(r)
          return id === undefined ? [] : [id]
        })
      ])
      const behind = consentReads(client, individuals)
      const answers =
        linking.length + behind.length === 0
          ? []
          : yield* Api.readMany(client, "pull", [...linking, ...behind], { concurrency: CONCURRENCY })
      const linked = linkedPersons(answers.slice(0, linking.length))
      const changes: Array<ConsentTarget.PulledChange> = []
      const push = (c: ConsentTarget.PulledChange | undefined) => {
        if (c !== undefined) changes.push(c)
      }
      const consentField = new Map(
        consentKeys.map((k) => [`${k.dataUsePurpose}\u001f${k.contactPointType}`, fieldOf(k)])
      )
      for (const row of consentRows) {
        const party = text(row, "PartyId")
        const purpose = parent(row, "DataUsePurpose")
        const purposeName = purpose === undefined ? undefined : text(purpose, "Name")
        const field = consentField.get(`${purposeName}\u001f${text(row, "ContactPointType")}`)
        const status = statusOfRow(row)
        if (party === undefined || field === undefined || status === undefined) continue
        for (const person of linked.get(id15(party)) ?? [])
          push(fromConsentRecord(person, field, status, choiceTimeOf(row)))
      }
      for (const row of individualRows) {
        const id = idOf(row)
        if (id === undefined) continue
        for (const k of flagKeys)
          if (flag(row, k.flag))
            for (const person of linked.get(id15(id)) ?? [])
              push(fromOptOut(person, fieldOf(k), instant(row, "LastModifiedDate")))
      }

      const records = currentRecords(answers.slice(linking.length).flat())
      for (const row of personRows) {
        const id = idOf(row)
        if (id === undefined) continue
        const person = { externalId: id, identifiers: identifiersOf(row) }
        const individual = text(row, "IndividualId")
        for (const k of checked) {
          if (!flag(row, k.checkbox!)) continue
          const record =
            individual === undefined
              ? undefined
              : records.get(recordKey(individual, k.dataUsePurpose, k.contactPointType))
          if (!agreesWithOptOut(statusOfRow(record)))
            push(fromOptOut(person, fieldOf(k), instant(row, "LastModifiedDate")))
        }
      }

      return {
        changes,
        records: identityRecords(client, streamed),
        cursor: PullCursor.encode(streamed.cursor),
        hasMore: streamed.more
      }
    })

/** The pull primitive of the record source: Contacts and Leads, deletions included. */
export const recordPage =
  (client: SalesforceClient, cache: Locators): ConsentTarget.RecordSourcePrimitives["pullPage"] =>
  (cursor) =>
    Effect.gen(function* () {
      const from = yield* decodeCursor(client, cursor, "source")
      const specs = client.config.objects.map((object) => personStream(client, object))
      const streamed = yield* readStreams(client, cache, specs, from)
      return {
        records: identityRecords(client, streamed),
        cursor: PullCursor.encode(streamed.cursor),
        hasMore: streamed.more
      }
    })
