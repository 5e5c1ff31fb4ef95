/**
 * Salesforce as a record source: Contacts and Leads as identity records, pulled incrementally by
 * SystemModstamp with deletions (and converted Leads) as `deleted` records. For deployments that
 * resolve identities from Salesforce without syncing consent to it; the consent target's pull
 * carries the same records.
 */
import { ConsentTarget } from "@living-profile/core"
import { Effect } from "effect"
import type { SalesforceClient } from "./Client.js"
import * as Pull from "./internal/Pull.js"

/** The record source over a client (its name is the adapter name, as for the target's records). */
export const make = (client: SalesforceClient): Effect.Effect<ConsentTarget.RecordSource> =>
  Effect.sync(() =>
    ConsentTarget.makeRecordSource({ name: client.name, pullPage: Pull.recordPage(client, Pull.locators()) })
  )
