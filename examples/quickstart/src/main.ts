/**
 * The quickstart: the bundled multi-source sample resolved into living profiles in memory, one
 * merge and one household explained, a preference-center withdrawal recorded, its diffs for
 * Salesforce and HubSpot computed, pushed to both emulators through the adapters and read back
 * through the real SDKs. `npm start` runs it; the test calls `run` in-process.
 */
// First: it clears HTTP(S)_PROXY before the Salesforce imports below load jsforce.
import "./noProxy.js"
import { realpathSync } from "node:fs"
import { pathToFileURL } from "node:url"
import {
  ConsentDiff,
  ConsentLedger,
  ConsentTarget,
  DataSubject,
  IdentityResolver,
  ProfileStore,
  type SourceRecord
} from "@living-profile/core"
import { Chunk, Effect, Option, Stream } from "effect"
import * as Report from "./report.js"
import { loadSample } from "./sample.js"
import * as Systems from "./systems.js"

/** Ayşe Yılmaz's CRM record: the profile the example explains and changes. */
export const AYSE: SourceRecord.RecordRef = { source: "crm", id: "C-1001" }
/** Mehmet and Zeynep Demir's CRM records: one family e-mail and address, two people. */
export const MEHMET: SourceRecord.RecordRef = { source: "crm", id: "C-1007" }
export const ZEYNEP: SourceRecord.RecordRef = { source: "crm", id: "C-1008" }

/** The privacy notice the preference center showed when Ayşe made her choice. */
export const POLICY_VERSION = "privacy-notice-2025-06"

/** Options of `run`. */
export interface RunOptions {
  /**
   * Called after the read-back, while both emulators still run (they close when `run` ends): the
   * test checks their state through the backdoors here.
   */
  readonly inspect?: (emulators: Systems.Emulators, person: Systems.Person) => void | Promise<void>
}

/** What the run found, for callers that check rather than read. */
export interface Summary {
  readonly records: number
  readonly profiles: number
  readonly merged: IdentityResolver.ProfileExplanation
  readonly household: IdentityResolver.PairExplanation
  readonly withdrawalEventId: string
  readonly diffs: { readonly salesforce: ConsentDiff.ConsentDiff; readonly hubspot: ConsentDiff.ConsentDiff }
  /** Whether the real SDKs read back every change of each diff. */
  readonly arrived: { readonly salesforce: boolean; readonly hubspot: boolean }
}

const program = (out: Report.Out, options: RunOptions) =>
  Effect.gen(function* () {
    const resolver = yield* IdentityResolver.IdentityResolver
    const store = yield* ProfileStore.ProfileStore

    // 1. Resolve.
    const records = loadSample()
    yield* resolver.ingest(records)
    const profiles = Chunk.toReadonlyArray(yield* Stream.runCollect(resolver.profiles))
    const sources = [...new Set(records.map((r) => r.source))].sort()
    Report.heading(
      out,
      `1. Living profiles: ${records.length} records from ${sources.length} sources (${sources.join(", ")}) -> ${profiles.length} profiles`
    )
    out("Each attribute shows the surviving value, the record it comes from and the policy that chose it.")
    for (const p of profiles) Report.profile(out, p)

    // 2. Explain.
    const ayseId = yield* resolver.profileIdOf(AYSE)
    Report.heading(out, `2. Why Ayşe Yılmaz's records are one profile: explain(${ayseId})`)
    const merged = yield* resolver.explain(ayseId)
    Report.explanation(out, merged)

    Report.heading(
      out,
      `2b. Why the Demir household stays two people: explainPair(${Report.ref(MEHMET)}, ${Report.ref(ZEYNEP)})`
    )
    const household = yield* resolver.explainPair(MEHMET, ZEYNEP)
    Report.pair(out, household)

    // 3. A consent change.
    Report.heading(out, "3. A consent change: Ayşe withdraws marketing e-mail in the preference center")
    const before = yield* resolver.profile(ayseId)
    const { event, receipt } = yield* DataSubject.choose(
      ayseId,
      {
        purpose: "marketing",
        channel: "email",
        status: "withdrawn",
        legalBasis: "consent",
        policyVersion: POLICY_VERSION
      },
      { actor: "customer via preference center" }
    )
    out(
      `DataSubject.choose(${ayseId}): marketing/email withdrawn at ${event.capturedAt}, policy ${POLICY_VERSION}`
    )
    out(
      `  event ${event.eventId.slice(0, 12)}... (source ${event.source}, attached to the profile, not to a record)`
    )
    out(
      `  consent receipt ${receipt.receiptId.slice(0, 12)}... (${receipt.version}, names the person by profile id only)`
    )
    const after = yield* resolver.profile(ayseId)
    for (const [key, c] of Object.entries(after.consent)) {
      const was = before.consent[key]
      const change =
        was === undefined || was.status === c.status ? "" : `   (was ${was.status}, ${was.source})`
      out(`  now ${key}: ${c.status} (${c.source})${change}`)
    }

    // 4. Diffs against what each system holds.
    Report.heading(out, "4. Consent diffs for Salesforce and HubSpot")
    const grant = before.consent["marketing/email"]
    const crm = Option.getOrUndefined(yield* store.record(AYSE))
    const email = crm?.identifiers?.["email"]?.[0]
    const firstName = before.attributes["firstName"]?.value
    const lastName = before.attributes["lastName"]?.value
    if (
      grant === undefined ||
      email === undefined ||
      typeof firstName !== "string" ||
      typeof lastName !== "string"
    )
      return yield* Effect.dieMessage("the sample no longer has Ayşe's CRM e-mail, name and e-mail grant")
    const person: Systems.Person = {
      email: email.toLowerCase(),
      firstName,
      lastName,
      grantedAt: grant.capturedAt
    }
    const em = yield* Systems.startEmulators
    Systems.seedSalesforce(em.salesforce, person)
    Systems.seedHubSpot(em.hubspot, person)
    out(
      `Salesforce emulator ${em.salesforce.url} and HubSpot emulator ${em.hubspot.url} started in this process;`
    )
    out(
      `both already hold Ayşe (by her CRM e-mail) as subscribed to marketing e-mail since ${grant.capturedAt}.`
    )
    const targets = yield* Systems.adapters(em)
    const stored = Option.getOrUndefined(yield* store.profile(ayseId))
    if (stored === undefined) return yield* Effect.dieMessage(`profile ${ayseId} vanished`)
    const desired = ConsentLedger.effectiveAll(
      IdentityResolver.ledgerOf(stored.records, stored.profileEvents),
      new Date()
    )
    const ref: ConsentTarget.PersonRef = { identifiers: { email: [person.email] } }
    const planFor = (target: ConsentTarget.ConsentTarget) =>
      Effect.gen(function* () {
        const [held] = yield* target.read([ref])
        if (held === undefined || Option.isNone(held))
          return yield* Effect.dieMessage(`${target.name} does not know the person`)
        const known = Systems.knownState(held.value)
        const holds = [...known].map(([field, k]) => `${field} ${k.status}`).join(", ") || "nothing"
        out("")
        out(`${target.name} holds (read through the adapter, person ${held.value.externalId}): ${holds}`)
        const d = ConsentDiff.diff(ayseId, desired, known, target.mapping)
        Report.diff(out, d, target.name === "hubspot" ? Systems.hubSpotFieldNames : {})
        return { target, externalId: held.value.externalId, diff: d }
      })
    const sf = yield* planFor(targets.salesforce)
    const hs = yield* planFor(targets.hubspot)

    // 5. Push, then read back around the adapters.
    Report.heading(out, "5. Pushed through the adapters, read back through the real SDKs")
    for (const p of [sf, hs]) {
      const [result] = yield* p.target.push([ConsentTarget.address(p.diff, { externalId: p.externalId })])
      out(`${p.target.name}: push of ${p.diff.changes.length} change(s) -> ${result?._tag ?? "no result"}`)
    }

    const sfBack = yield* Effect.promise(() => Systems.readSalesforce(em.salesforce, sf.externalId))
    out("")
    out("jsforce, SOQL on Contact and ContactPointTypeConsent:")
    out(`  Contact ${sfBack.contact.Id}: HasOptedOutOfEmail = ${sfBack.contact.HasOptedOutOfEmail}`)
    for (const r of sfBack.consents)
      out(
        `  ContactPointTypeConsent "${r.Name}" (${r.DataUsePurpose?.Name ?? "no purpose"}, ${r.ContactPointType}): ` +
          `${r.PrivacyConsentStatus}, captured ${r.CaptureDate} from ${r.CaptureSource}`
      )
    const sfArrived = Systems.salesforceHolds(sf.diff, sfBack)

    const hsBack = yield* Effect.promise(() => Systems.readHubSpot(em.hubspot, person.email))
    out("")
    out("@hubspot/api-client, GET /communication-preferences/v4/statuses/{email} via client.apiRequest:")
    for (const s of hsBack)
      out(
        `  ${s.subscriptionId} ${s.subscriptionName}: ${s.status} (${s.source}, ${s.timestamp}` +
          `${s.legalBasis === undefined ? "" : `, ${s.legalBasis}`})`
      )
    const hsArrived = Systems.hubSpotHolds(hs.diff, hsBack)

    out("")
    out(`Salesforce: ${sfArrived ? "every change arrived" : "NOT every change arrived"}`)
    out(`HubSpot: ${hsArrived ? "every change arrived" : "NOT every change arrived"}`)

    const inspect = options.inspect
    if (inspect !== undefined) yield* Effect.promise(async () => inspect(em, person))

    return {
      records: records.length,
      profiles: profiles.length,
      merged,
      household,
      withdrawalEventId: event.eventId,
      diffs: { salesforce: sf.diff, hubspot: hs.diff },
      arrived: { salesforce: sfArrived, hubspot: hsArrived }
    } satisfies Summary
  })

/**
 * Runs the quickstart on the in-memory store, writing the report line by line to `out`. The
 * emulators are closed (and the Salesforce token revoked) before the promise settles.
 */
export const run = (out: Report.Out, options: RunOptions = {}): Promise<Summary> =>
  Effect.runPromise(program(out, options).pipe(Effect.scoped, Effect.provide(IdentityResolver.layerMemory())))

// `node dist/main.js` runs the report; importing the module (the test does) does not.
const invokedDirectly = (): boolean => {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url
  } catch {
    return false
  }
}

if (invokedDirectly()) {
  run((line) => process.stdout.write(`${line}\n`)).then(
    (summary) => {
      // The report says what did not arrive; the exit code lets scripts and CI see it too.
      if (!summary.arrived.salesforce || !summary.arrived.hubspot) process.exitCode = 1
    },
    (error: unknown) => {
      process.stderr.write(`quickstart failed: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 1
    }
  )
}
