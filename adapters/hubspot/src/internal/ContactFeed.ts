/**
 * The incremental contact feed both pulls read: contacts in (`lastmodifieddate`, record id) order
 * after a cursor position, by keyset search.
 *
 * HubSpot's search stops at 10,000 results per query (paging past it is a 400), so a feed that
 * pages with `after` offsets through one big query truncates. This one never pages: every request
 * starts at offset 0 with a filter that begins right after the last delivered contact, so the
 * ceiling can never be reached however many contacts changed. Two queries do it:
 *
 * 1. the rest of the cursor's millisecond: `lastmodifieddate = t AND hs_object_id > id`, sorted by
 *    id (so thousands of contacts written in one millisecond, as an import does, still page);
 * 2. what comes after it: `lastmodifieddate > t`, sorted by `lastmodifieddate`. When more match
 *    than a page holds, the page's last millisecond may be cut, and HubSpot does not say in which
 *    order it returns contacts of one millisecond: that millisecond is left for query 1 of the next
 *    page, and only the contacts before it are delivered.
 *
 * Contacts modified within `pullSettle` of now are not delivered yet, because the search index is
 * eventually consistent: a write that becomes searchable late must not land behind a cursor that
 * has already moved past its timestamp.
 */
import type { AdapterError } from "@living-profile/core"
import { Clock, Duration, Effect } from "effect"
import * as Errors from "../Errors.js"
import { type HubSpotContact, modifiedAtOf } from "../mappers/Contact.js"
import { type Api, endpoints, type SearchFilter, searchContacts } from "./Api.js"
import type { Position } from "./Cursor.js"

/** One page of the feed. */
export interface FeedPage {
  /** Changed contacts, in feed order. */
  readonly contacts: ReadonlyArray<HubSpotContact>
  /** The position after this page. */
  readonly next: Position
  /** Whether more contacts were waiting when the page was read. */
  readonly hasMore: boolean
}

const LMD = "lastmodifieddate"

/** The contacts after `from`, at most about one search page of them. */
export const next = (
  api: Api,
  operation: AdapterError.Operation,
  from: Position,
  properties: ReadonlyArray<string>
): Effect.Effect<FeedPage, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const limit = api.config.pullPageSize
    const settle = Duration.toMillis(api.config.pullSettle)
    const horizon: ReadonlyArray<SearchFilter> =
      settle > 0
        ? [{ propertyName: LMD, operator: "LT", value: String((yield* Clock.currentTimeMillis) - settle) }]
        : []
    const at = (c: HubSpotContact) => {
      const t = modifiedAtOf(c)
      return Number.isNaN(t)
        ? Effect.fail(
            Errors.malformed(
              { target: api.config.name, operation, endpoint: endpoints.search, now: 0 },
              "a contact without lastmodifieddate"
            )
          )
        : Effect.succeed(t)
    }
    const out: Array<HubSpotContact> = []
    let pos = from
    // A full page of one millisecond hands that millisecond to query 1: two rounds then suffice.
    for (let round = 0; round < 3; round++) {
      if (pos.t > 0) {
        const tie = yield* searchContacts(api, operation, {
          filters: [
            { propertyName: LMD, operator: "EQ", value: String(pos.t) },
            { propertyName: "hs_object_id", operator: "GT", value: String(pos.id) }
          ],
          sort: "hs_object_id",
          properties,
          limit: limit - out.length
        })
        for (const c of tie.results) {
          out.push(c)
          pos = { t: pos.t, id: Math.max(pos.id, Number(c.id)) }
        }
        if (tie.more || out.length >= limit) return { contacts: out, next: pos, hasMore: true }
      }
      const forward = yield* searchContacts(api, operation, {
        filters: [
          ...(pos.t > 0 ? [{ propertyName: LMD, operator: "GT" as const, value: String(pos.t) }] : []),
          ...horizon
        ],
        sort: LMD,
        properties,
        limit: Math.max(1, limit - out.length)
      })
      const stamped: Array<{ readonly c: HubSpotContact; readonly t: number }> = []
      for (const c of forward.results) stamped.push({ c, t: yield* at(c) })
      if (!forward.more || stamped.length === 0) {
        // Everything up to the horizon came back, so its last millisecond is complete too.
        for (const { c, t } of stamped) {
          out.push(c)
          if (t > pos.t) pos = { t, id: Number(c.id) }
          else if (t === pos.t) pos = { t, id: Math.max(pos.id, Number(c.id)) }
        }
        return { contacts: out, next: pos, hasMore: false }
      }
      const last = Math.max(...stamped.map((s) => s.t))
      for (const { c, t } of stamped) if (t < last) out.push(c)
      // Delivered: everything before `last`; its own millisecond is read by id next.
      pos = { t: last, id: 0 }
      if (out.length > 0) return { contacts: out, next: pos, hasMore: true }
    }
    return { contacts: out, next: pos, hasMore: true }
  })
