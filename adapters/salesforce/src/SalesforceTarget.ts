/**
 * The Salesforce consent target, built from primitives with core's `ConsentTarget.make` (which
 * derives batching, per-item results, the prechecks and the error discipline).
 *
 * A person is a Contact or Lead (externalId: its record id); their consent lives on the linked
 * Individual (ContactPointTypeConsent records and opt-out flags) and in the Contact / Lead opt-out
 * checkboxes the mapping mirrors. See README.md for the mapping table.
 */
import { ConsentTarget } from "@living-profile/core"
import { Effect } from "effect"
import type { SalesforceClient } from "./Client.js"
import * as Erase from "./internal/Erase.js"
import * as Pull from "./internal/Pull.js"
import * as Purposes from "./internal/Purposes.js"
import * as Push from "./internal/Push.js"
import * as Read from "./internal/Read.js"

/** The longest value the target writes and keeps intact: `Contact.Email` (80 characters). */
export const MAX_VALUE_LENGTH = 80

/** The capabilities the target declares for its options. */
export const capabilities = (client: SalesforceClient): ConsentTarget.DeclaredCapabilities => ({
  // OptInPending (API 58.0+); withdrawn and expired read as OptOut, so the diff sends `denied`.
  holds: ["pending"],
  fields: [...client.config.keysByField.keys()],
  identifiers: ["email"],
  records: true,
  policyVersion: false,
  maxBatchSize: client.config.maxBatchSize,
  maxValueLength: MAX_VALUE_LENGTH
})

/** The consent target over a client. */
export const make = (client: SalesforceClient): Effect.Effect<ConsentTarget.ConsentTarget> =>
  Effect.map(Purposes.make(client), (purposes) =>
    ConsentTarget.make({
      name: client.name,
      mapping: client.config.mapping,
      capabilities: capabilities(client),
      pushBatch: Push.pushBatch(client, purposes),
      pullPage: Pull.pullPage(client, Pull.locators()),
      readBatch: Read.readBatch(client),
      eraseBatch: Erase.eraseBatch(client)
    })
  )
