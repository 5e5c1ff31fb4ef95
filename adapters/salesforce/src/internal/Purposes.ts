/**
 * DataUsePurpose ids by name, cached for the life of the adapter (purposes are configuration in an
 * org: created once, rarely renamed). A purpose the mapping names and the org lacks is created when
 * `createMissingPurposes` allows it; otherwise writes of its keys fail as Invalid.
 */
import { AdapterError } from "@living-profile/core"
import { Effect, Ref } from "effect"
import type { SalesforceClient } from "../Client.js"
import { text } from "../mappers/wire.js"
import { inList } from "../Soql.js"
import * as Api from "./Api.js"

/** Resolves purpose names to ids. */
export interface Purposes {
  /** Ids of the named purposes (creating missing ones if allowed); a name missing from the map has none. */
  readonly ids: (
    operation: AdapterError.Operation,
    names: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, string>, AdapterError.AdapterError>
}

/** A cache of purpose ids over a client. */
export const make = (client: SalesforceClient): Effect.Effect<Purposes> =>
  Effect.map(Ref.make(new Map<string, string>()), (cache) => ({
    ids: (operation, names) =>
      Effect.gen(function* () {
        const known = yield* Ref.get(cache)
        const wanted = [...new Set(names)].filter((n) => !known.has(n))
        if (wanted.length === 0) return known
        const found = new Map<string, string>()
        const rows = yield* Api.queryAll(
          client,
          operation,
          "find DataUsePurpose by name",
          `SELECT Id, Name FROM DataUsePurpose WHERE Name IN ${inList(wanted)} ORDER BY CreatedDate, Id`
        )
        for (const row of rows) {
          const id = text(row, "Id")
          const name = text(row, "Name")
          // Names compare case-insensitively in SOQL; keep the configured spelling, first match wins.
          const configured = wanted.find((w) => w.toLowerCase() === name?.toLowerCase())
          if (id !== undefined && configured !== undefined && !found.has(configured))
            found.set(configured, id)
        }
        const missing = wanted.filter((n) => !found.has(n))
        if (missing.length > 0 && client.config.createMissingPurposes) {
          const outcomes = yield* Api.create(
            client,
            operation,
            missing.map((name) => ({
              type: "DataUsePurpose",
              fields: { Name: name, CanDataSubjectOptOut: true, Description: "Created by living-profile" }
            }))
          )
          for (let i = 0; i < missing.length; i++) {
            const o = outcomes[i]
            if (o?.ok === true) found.set(missing[i]!, o.id)
            else if (o !== undefined) return yield* Effect.fail(o.error)
          }
        }
        return yield* Ref.updateAndGet(cache, (m) => new Map([...m, ...found]))
      })
  }))

/** The error of a write whose DataUsePurpose the org lacks. */
export const missingPurpose = (
  client: SalesforceClient,
  operation: AdapterError.Operation,
  name: string
): AdapterError.AdapterError =>
  AdapterError.invalid(client.name, `DataUsePurpose "${name}" does not exist in the org`, {
    operation,
    code: "NOT_FOUND"
  })
