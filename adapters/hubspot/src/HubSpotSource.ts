/**
 * HubSpot contacts as a record source: identity records (e-mails, phones, names, address) pulled
 * incrementally by the same keyset feed as the target's pull, without the subscription reads. For
 * deployments that take identities from HubSpot; the target's pages carry the same records.
 *
 * Deletions: HubSpot has no feed of GDPR-deleted contacts, and search does not return archived
 * ones, so this source reports no `deleted` records. Erasure goes the other way (the profile's
 * erasure erases the contact through the target), which is where it matters.
 */
import { AdapterError, ConsentTarget } from "@living-profile/core"
import { Effect, Option } from "effect"
import type { HubSpotClient } from "./Client.js"
import type { Resolved } from "./HubSpotConfig.js"
import * as ContactFeed from "./internal/ContactFeed.js"
import * as Cursor from "./internal/Cursor.js"
import { attributeMap, propertiesToRead, toSourceRecord } from "./mappers/Contact.js"

/** The record source over a client; its `name` is the adapter name, the `source` of its records. */
export const make = (client: HubSpotClient, config: Resolved): ConsentTarget.RecordSource => {
  const attributes = attributeMap(config.attributes)
  const properties = propertiesToRead(attributes)
  return ConsentTarget.makeRecordSource({
    name: config.name,
    pullPage: (cursor) =>
      Effect.gen(function* () {
        const from = Option.isNone(cursor) ? Cursor.start : Cursor.decode(cursor.value)
        if (from === undefined)
          return yield* Effect.fail(
            AdapterError.invalid(config.name, "the cursor was not issued by this adapter", {
              operation: "pull",
              code: "BAD_CURSOR"
            })
          )
        const page = yield* ContactFeed.next({ client, config }, "pull", from, properties)
        return {
          records: page.contacts.map((c) => toSourceRecord(config.name, c, attributes)),
          cursor: Cursor.encode(page.next),
          hasMore: page.hasMore
        }
      })
  })
}
