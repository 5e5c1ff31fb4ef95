/**
 * Reading what Salesforce holds for persons: their Contact / Lead rows (with the Individual's
 * flags), then the consent records of their Individuals, folded by `toHeldPerson`.
 */
import type { AdapterError, ConsentTarget } from "@living-profile/core"
import { Effect, Option } from "effect"
import type { SalesforceClient } from "../Client.js"
import { currentRecords, toHeldPerson } from "../mappers/toHeldPerson.js"
import { text, type Row } from "../mappers/wire.js"
import { fieldOf } from "../SalesforceConfig.js"
import { chunks, chunksWithin, IN_CHUNK, IN_COMPOSITE, IN_COMPOSITE_CHARS, inList } from "../Soql.js"
import * as Api from "./Api.js"
import * as Persons from "./Persons.js"

/** The fields of a consent record that reading and pulling need. */
export const CONSENT_FIELDS =
  "Id, PartyId, DataUsePurpose.Name, ContactPointType, PrivacyConsentStatus, CaptureDate, LastModifiedDate, SystemModstamp"

/** The queries of every live consent record of these Individuals, for Composite requests (`Api.readMany`). */
export const consentReads = (
  client: SalesforceClient,
  individualIds: ReadonlyArray<string>
): Array<Api.Read> =>
  client.config.consent.some((k) => k.kind === "ContactPointTypeConsent")
    ? chunksWithin([...new Set(individualIds)], IN_COMPOSITE, IN_COMPOSITE_CHARS).map((chunk) => ({
        what: "read ContactPointTypeConsent",
        soql: `SELECT ${CONSENT_FIELDS} FROM ContactPointTypeConsent WHERE PartyId IN ${inList(chunk)}`
      }))
    : []

/** Every live consent record of these Individuals. */
export const consentRecordsOf = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  individualIds: ReadonlyArray<string>
): Effect.Effect<Array<Row>, AdapterError.AdapterError> =>
  Effect.gen(function* () {
    const rows: Array<Row> = []
    if (!client.config.consent.some((k) => k.kind === "ContactPointTypeConsent")) return rows
    for (const chunk of chunks([...new Set(individualIds)], IN_CHUNK))
      rows.push(
        ...(yield* Api.queryAll(
          client,
          operation,
          "read ContactPointTypeConsent",
          `SELECT ${CONSENT_FIELDS} FROM ContactPointTypeConsent WHERE PartyId IN ${inList(chunk)}`
        ))
      )
    return rows
  })

/** A read primitive over a client. */
export const readBatch =
  (client: SalesforceClient) =>
  (
    refs: ReadonlyArray<ConsentTarget.PersonRef>
  ): Effect.Effect<ReadonlyArray<Option.Option<ConsentTarget.HeldPerson>>, AdapterError.AdapterError> =>
    Effect.gen(function* () {
      const persons = yield* Persons.resolve(client, "read", refs)
      const individuals = persons.flatMap((p) => {
        const id = p === undefined ? undefined : text(p.row, "IndividualId")
        return id === undefined ? [] : [id]
      })
      const records = currentRecords(yield* consentRecordsOf(client, "read", individuals))
      return persons.map((p) =>
        p === undefined
          ? Option.none()
          : Option.some(toHeldPerson(p.row, client.config.consent, fieldOf, records))
      )
    })
