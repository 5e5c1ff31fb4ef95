/**
 * Data-subject requests (GDPR Art. 15-22) on the living profile: access and portability,
 * rectification, erasure that re-ingestion does not undo, preference choices, and the
 * restriction / objection / no-automated-decisions flags. Every request goes to the audit log
 * with ids and codes only.
 */
import { Effect, Option } from "effect"
import * as Audit from "./Audit.js"
import * as ConsentEvent from "./ConsentEvent.js"
import * as ConsentLedger from "./ConsentLedger.js"
import { ledgerOf, ProfileNotFound, view } from "./IdentityResolver.js"
import * as ProfileStore from "./ProfileStore.js"
import type { SourceRecord } from "./SourceRecord.js"
import type * as Survivorship from "./Survivorship.js"

/** The identifier of the export format, bumped on incompatible changes. */
export const exportSchema = "living-profile.profile-export/1"

/** Everything held about a person (Art. 15 access, Art. 20 portability), as one JSON document. */
export interface ProfileExport {
  readonly schema: typeof exportSchema
  readonly exportedAt: string
  readonly profileId: string
  /** Surviving attribute values with their provenance. */
  readonly attributes: Record<string, Survivorship.SurvivingValue>
  readonly identifiers: Record<string, ReadonlyArray<Survivorship.IdentifierValue>>
  /** Every source record as received. */
  readonly records: ReadonlyArray<SourceRecord>
  readonly rectifications: ReadonlyArray<ProfileStore.Rectification>
  readonly consent: {
    /** Effective consent per `purpose/channel`. */
    readonly state: Record<string, ConsentLedger.Effective>
    readonly flags: ConsentLedger.Flags
    /** Every consent event, record-level and profile-level, oldest first. */
    readonly history: ReadonlyArray<ConsentEvent.ConsentEvent>
  }
  /** Which systems hold the person's records, and under which ids. */
  readonly systems: ReadonlyArray<{ readonly system: string; readonly records: ReadonlyArray<string> }>
}

/** Who asks, and when (defaults to now). */
export interface Requester {
  readonly actor: string
  readonly at?: string
}

const nowIso = (r: Requester) => r.at ?? new Date().toISOString()

const load = (profileId: string) =>
  Effect.flatMap(ProfileStore.ProfileStore, (store) =>
    Effect.flatMap(store.profile(profileId), (p) =>
      Option.isNone(p)
        ? Effect.fail(new ProfileNotFound({ profileId }))
        : Effect.succeed({ store, stored: p.value })
    )
  )

const systemsOf = (records: ReadonlyArray<SourceRecord>) => {
  const bySystem = new Map<string, Array<string>>()
  for (const r of records) {
    const ids = bySystem.get(r.source)
    if (ids === undefined) bySystem.set(r.source, [r.id])
    else ids.push(r.id)
  }
  return [...bySystem.keys()].sort().map((system) => ({ system, records: bySystem.get(system)!.sort() }))
}

const auditRequest = (
  store: ProfileStore.ProfileStore["Type"],
  profileId: string,
  requester: Requester,
  detail: Audit.Json
) =>
  store.appendAudit({
    at: nowIso(requester),
    kind: "request",
    profileId,
    actor: requester.actor,
    source: "data-subject-request",
    detail
  })

/** Access and portability: the whole profile as a documented JSON document. */
export const access = (profileId: string, requester: Requester) =>
  Effect.gen(function* () {
    const { store, stored } = yield* load(profileId)
    const at = nowIso(requester)
    const profile = view(stored, store.config, at)
    const ledger = ledgerOf(stored.records, stored.profileEvents)
    const state = Object.fromEntries(ConsentLedger.effectiveAll(ledger, at))
    const history = ConsentLedger.events(ledger).sort((a, b) =>
      a.capturedAt < b.capturedAt ? -1 : a.capturedAt > b.capturedAt ? 1 : a.eventId < b.eventId ? -1 : 1
    )
    yield* auditRequest(store, stored.profileId, requester, {
      type: "access",
      records: stored.records.length
    })
    return {
      schema: exportSchema,
      exportedAt: at,
      profileId: stored.profileId,
      attributes: profile.attributes,
      identifiers: profile.identifiers,
      records: stored.records,
      rectifications: stored.rectifications,
      consent: { state, flags: ConsentLedger.flags(ledger, at), history },
      systems: systemsOf(stored.records)
    } satisfies ProfileExport
  })

/** An update a source system must apply after a rectification. */
export interface RectificationUpdate {
  readonly system: string
  readonly record: string
  readonly attribute: string
}

/**
 * Rectification: records the corrected value on the profile (it outranks every source from now
 * on) and returns the updates for every system whose records hold that attribute.
 */
export const rectify = (
  profileId: string,
  correction: { readonly attribute: string; readonly value: string | number | boolean },
  requester: Requester
) =>
  Effect.gen(function* () {
    const { store, stored } = yield* load(profileId)
    const at = nowIso(requester)
    yield* store.addRectification(stored.profileId, { ...correction, at, by: requester.actor })
    const updates: Array<RectificationUpdate> = stored.records
      .filter((r) => r.attributes?.[correction.attribute] !== undefined)
      .map((r) => ({ system: r.source, record: r.id, attribute: correction.attribute }))
      .sort((a, b) => (a.system === b.system ? (a.record < b.record ? -1 : 1) : a.system < b.system ? -1 : 1))
    yield* auditRequest(store, stored.profileId, requester, {
      type: "rectification",
      attribute: correction.attribute,
      systems: [...new Set(updates.map((u) => u.system))].sort()
    })
    return { profileId: stored.profileId, updates }
  })

/** What an erasure did, and what every system holding the person's records must now erase. */
export interface ErasureResult {
  readonly profileId: string
  readonly tasks: ReadonlyArray<{ readonly system: string; readonly records: ReadonlyArray<string> }>
  readonly tombstones: number
}

/**
 * Erasure (Art. 17): removes the person's records and everything attached to the profile, leaves
 * suppression tombstones (keyed hashes of record keys and identifiers, never the values) so that
 * re-ingesting the records does not bring the person back, and returns an erasure task per system.
 */
export const erase = (profileId: string, requester: Requester) =>
  Effect.gen(function* () {
    const { store, stored } = yield* load(profileId)
    const tasks = systemsOf(stored.records)
    const erased = yield* store.erase(stored.profileId)
    if (Option.isNone(erased)) return yield* Effect.fail(new ProfileNotFound({ profileId }))
    yield* auditRequest(store, stored.profileId, requester, {
      type: "erasure",
      records: erased.value.records.length,
      systems: tasks.map((t) => t.system)
    })
    return { profileId: stored.profileId, tasks, tombstones: erased.value.tombstones } satisfies ErasureResult
  })

/** A consent choice made on the profile itself (a preference center): the event and its consent receipt. */
export const choose = (
  profileId: string,
  choice: Omit<ConsentEvent.ConsentEventInput, "record" | "capturedAt" | "source"> & {
    readonly source?: string
  },
  requester: Requester
) =>
  Effect.map(
    recordEvent(
      profileId,
      { ...choice, capturedAt: nowIso(requester), source: choice.source ?? "preference-center" },
      requester
    ),
    ({ event, profileId: id }) => ({ event, receipt: Audit.receipt(event, id) })
  )

/**
 * A GDPR flag on the profile: restriction of processing (Art. 18), objection to a purpose
 * (Art. 21), no automated decisions or profiling (Art. 22). `set: false` lifts it.
 */
export const flag = (
  profileId: string,
  request: {
    readonly kind: "restriction" | "objection" | "noAutomatedDecisions"
    readonly purpose?: string
    readonly set: boolean
    readonly policyVersion?: string
  },
  requester: Requester
) =>
  recordEvent(
    profileId,
    {
      kind: request.kind,
      ...(request.purpose === undefined ? {} : { purpose: request.purpose }),
      ...(request.policyVersion === undefined ? {} : { policyVersion: request.policyVersion }),
      status: request.set ? "granted" : "withdrawn",
      capturedAt: nowIso(requester),
      source: "data-subject-request"
    },
    requester
  )

const recordEvent = (profileId: string, input: ConsentEvent.ConsentEventInput, requester: Requester) =>
  Effect.gen(function* () {
    const { store, stored } = yield* load(profileId)
    const event = yield* ConsentEvent.decode(input)
    yield* store.addProfileEvents(stored.profileId, [event])
    yield* store.appendAudit({
      at: nowIso(requester),
      kind: "consent",
      profileId: stored.profileId,
      actor: requester.actor,
      source: event.source,
      ...(event.policyVersion === undefined ? {} : { policyVersion: event.policyVersion }),
      detail: {
        eventId: event.eventId,
        kind: event.kind,
        purpose: event.purpose,
        channel: event.channel,
        status: event.status,
        legalBasis: event.legalBasis
      }
    })
    return { event, profileId: stored.profileId }
  })
