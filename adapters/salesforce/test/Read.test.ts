import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Effect, Option } from "effect"
import { make } from "../src/index.js"
import { emulator, optionsFor, person } from "./support/Emulator.js"

const SOLICIT = "Individual.HasOptedOutSolicit"
const PROCESSING = "Individual.HasOptedOutProcessing"
const PROFILING = "Individual.HasOptedOutProfiling"
const TRACKING = "Individual.HasOptedOutTracking"

const grant = (externalId: string, field: string) =>
  ConsentTarget.address(
    {
      profileId: "p-1",
      target: "salesforce",
      changes: [
        {
          key: "processing/any",
          field,
          from: "denied",
          to: "granted",
          because: {
            status: "granted",
            capturedAt: "2026-01-07T00:00:00Z",
            source: "web-form",
            eventId: "e-1",
            legalBasis: "consent"
          }
        }
      ]
    },
    { externalId }
  )

/** The Individual flag fields of a held person or of pulled changes: field to [status, modifiedAt]. */
const flags = (entries: Iterable<readonly [string, { status: string; modifiedAt?: string | undefined }]>) =>
  new Map(
    [...entries].filter(([f]) => f.startsWith("Individual.")).map(([f, v]) => [f, [v.status, v.modifiedAt]])
  )

describe("read", () => {
  it.scopedLive(
    "read and pull report the same for Individual flags: a set flag is denied, a cleared one is nothing",
    () =>
      Effect.gen(function* () {
        const em = yield* emulator()
        const { target } = yield* make(optionsFor(em))
        const p = person(em)
        const individual = p.individualId!
        // Don't Market set; Don't Profile set and cleared again by a person; Don't Process set, then
        // cleared by a push of `granted`; Don't Track never set.
        em.backdoor.update("Individual", individual, {
          HasOptedOutSolicit: true,
          HasOptedOutProfiling: true,
          HasOptedOutProcessing: true,
          LastModifiedDate: "2026-01-05T00:00:00Z"
        })
        em.backdoor.update("Individual", individual, {
          HasOptedOutProfiling: false,
          LastModifiedDate: "2026-01-06T00:00:00Z"
        })
        expect(yield* target.push([grant(p.contactId, PROCESSING)])).toEqual([
          ConsentTarget.applied(p.contactId)
        ])
        expect(em.backdoor.get("Individual", individual)).toMatchObject({
          HasOptedOutSolicit: true,
          HasOptedOutProfiling: false,
          HasOptedOutProcessing: false,
          HasOptedOutTracking: false
        })

        const [held] = yield* target.read([{ externalId: p.contactId }])
        if (held === undefined || Option.isNone(held)) throw new Error("the person was not read")
        const read = flags(held.value.fields)
        const { changes } = yield* ConsentTarget.pullAll(target, Option.none())
        const pulled = flags(
          changes.filter((c) => c.externalId === p.contactId).map((c) => [c.field, c] as const)
        )

        expect(read).toEqual(pulled)
        expect([...read.keys()]).toEqual([SOLICIT])
        expect(read.get(SOLICIT)?.[0]).toBe("denied")
        for (const cleared of [PROFILING, PROCESSING, TRACKING]) {
          expect(held.value.fields.has(cleared), cleared).toBe(false)
          expect(pulled.has(cleared), cleared).toBe(false)
        }
      })
  )
})
