/**
 * Consent diffs: what a downstream system (a target) must change so that it holds the profile's
 * effective consent, and the way back: a change pulled from a target becomes a consent event.
 *
 * A target holds `granted` and `denied` (subscribed / unsubscribed). `withdrawn`, `expired` and
 * `pending` map to `denied` unless the mapping declares (in `holds`) that the target can hold them:
 * a target that cannot tell "not granted" apart must not be left thinking it may send.
 *
 * Known state is what the target last acknowledged or what was last pulled from it. A key the
 * profile has no event for produces no change: the profile knows nothing the target does not.
 * A change whose effective event came from the target itself is never sent back to it (no echo).
 */
import { Data, Either, Schema } from "effect"
import {
  Channel,
  type ConsentEvent,
  type ConsentEventError,
  decode as decodeEvent,
  type Status,
  toMillis
} from "./ConsentEvent.js"
import {
  add,
  type Effective,
  type EffectiveStatus,
  effective,
  type Ledger,
  millisOf,
  type Now
} from "./ConsentLedger.js"

/** Statuses beyond granted / denied that a target may declare it can hold. */
export const HeldStatus = Schema.Literal("withdrawn", "expired", "pending")
/** A status beyond granted / denied. */
export type HeldStatus = typeof HeldStatus.Type

/** One key a target holds and the target-side name of its field. */
export const MappedKey = Schema.Struct({
  purpose: Schema.String.pipe(Schema.minLength(1)),
  channel: Channel,
  /** Target-side name, e.g. `ContactPointTypeConsent:Marketing:Email` or `HubSpot subscription 123`. */
  field: Schema.String.pipe(Schema.minLength(1)),
  /** Overrides the mapping's `holds` for this field. */
  holds: Schema.optionalWith(Schema.Array(HeldStatus), { exact: true })
})

/** Schema of a target's declaration: which keys it holds, under which field names (unique). */
export const TargetMapping = Schema.Struct({
  target: Schema.String.pipe(Schema.minLength(1)),
  keys: Schema.Array(MappedKey),
  /** Statuses beyond granted / denied the target can hold; the others read as denied. */
  holds: Schema.optionalWith(Schema.Array(HeldStatus), { exact: true })
}).pipe(
  Schema.filter((m) => new Set(m.keys.map((k) => k.field)).size === m.keys.length, {
    message: () => "field names must be unique within a target"
  })
)

/** A target's declaration. */
export type TargetMapping = Schema.Schema.Type<typeof TargetMapping>

/** What a target holds for a field, as it last acknowledged it or as it was last pulled. */
export interface KnownState {
  readonly status: EffectiveStatus
  /** When the target last changed or acknowledged it (ISO-8601). */
  readonly at?: string
  /** The profile event it reflects, when it was set from the profile. */
  readonly eventId?: string
}

/** One change for a target: set `field` from `from` (null: never known) to `to`, because of an event. */
export interface Change {
  /** `purpose/channel`. */
  readonly key: string
  readonly field: string
  readonly from: EffectiveStatus | null
  readonly to: EffectiveStatus
  /** The profile's effective state that asks for the change (its status before mapping). */
  readonly because: Effective
}

/** The changes one target needs for one profile; `changes` is empty when nothing differs. */
export interface ConsentDiff {
  readonly profileId: string
  readonly target: string
  readonly changes: Array<Change>
}

/** A mapping that is not valid, or a pulled change it cannot place. */
export class MappingError extends Data.TaggedError("MappingError")<{
  readonly target: string
  readonly field?: string | undefined
  readonly problem: string
}> {
  override get message(): string {
    return `target ${this.target}${this.field === undefined ? "" : `, field "${this.field}"`}: ${this.problem}`
  }
}

/** Decodes a target mapping from configuration. */
export const decodeMapping = (input: unknown): Either.Either<TargetMapping, MappingError> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(TargetMapping, { onExcessProperty: "error" })(input),
    () =>
      new MappingError({
        target:
          typeof input === "object" &&
          input !== null &&
          typeof (input as { target?: unknown }).target === "string"
            ? (input as { target: string }).target
            : "(unnamed)",
        problem:
          "is not a valid mapping: it needs a target, keys of { purpose, channel, field } and unique fields"
      })
  )

type Table = Readonly<Record<EffectiveStatus, EffectiveStatus>>

interface CompiledKey {
  readonly key: string
  /** `purpose/any`, undefined for an `any` key (it reads only `any` events). */
  readonly anyKey: string | undefined
  readonly field: string
  readonly purpose: string
  readonly channel: Channel
  readonly table: Table
}

interface Compiled {
  readonly target: string
  readonly keys: ReadonlyArray<CompiledKey>
}

const tableOf = (holds: ReadonlyArray<HeldStatus> | undefined): Table => ({
  granted: "granted",
  denied: "denied",
  withdrawn: holds?.includes("withdrawn") ? "withdrawn" : "denied",
  expired: holds?.includes("expired") ? "expired" : "denied",
  pending: holds?.includes("pending") ? "pending" : "denied"
})

// Mappings are configuration: compile each once, not per profile.
const cache = new WeakMap<TargetMapping, Compiled>()

const compile = (mapping: TargetMapping): Compiled => {
  const hit = cache.get(mapping)
  if (hit !== undefined) return hit
  const fields = new Set<string>()
  const keys: Array<CompiledKey> = []
  for (const k of mapping.keys) {
    if (fields.has(k.field)) {
      throw new MappingError({ target: mapping.target, field: k.field, problem: "is mapped twice" })
    }
    fields.add(k.field)
    keys.push({
      key: `${k.purpose}/${k.channel}`,
      anyKey: k.channel === "any" ? undefined : `${k.purpose}/any`,
      field: k.field,
      purpose: k.purpose,
      channel: k.channel,
      table: tableOf(k.holds ?? mapping.holds)
    })
  }
  const compiled: Compiled = { target: mapping.target, keys }
  cache.set(mapping, compiled)
  return compiled
}

/** How a target holds an effective status, under the mapping's declared vocabulary. */
export const asHeld = (mapping: TargetMapping, field: string, status: EffectiveStatus): EffectiveStatus => {
  const c = compile(mapping)
  for (const k of c.keys) if (k.field === field) return k.table[status]
  return tableOf(mapping.holds)[status]
}

/**
 * The changes `mapping.target` needs so that it holds the profile's effective consent.
 * `desired` is the result of ConsentLedger.effectiveAll (a key absent there reads its `purpose/any`
 * entry); `known` maps field names to what the target holds. Throws MappingError for a mapping
 * with a field mapped twice (decodeMapping refuses those).
 */
export const diff = (
  profileId: string,
  desired: ReadonlyMap<string, Effective>,
  known: ReadonlyMap<string, KnownState>,
  mapping: TargetMapping
): ConsentDiff => {
  const c = compile(mapping)
  const target = c.target
  const keys = c.keys
  const changes: Array<Change> = []
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    let want = desired.get(k.key)
    if (want === undefined && k.anyKey !== undefined) want = desired.get(k.anyKey)
    if (want === undefined) continue
    // The target told us this itself: it holds it already (expiry and pending are ours to apply).
    if (want.source === target && want.status !== "expired" && want.status !== "pending") continue
    const to = k.table[want.status]
    const held = known.get(k.field)
    const from = held === undefined ? null : k.table[held.status]
    if (from === to) continue
    changes.push({ key: k.key, field: k.field, from, to, because: want })
  }
  return { profileId, target, changes }
}

/** The known state after the target applied a diff. */
export const apply = (known: ReadonlyMap<string, KnownState>, d: ConsentDiff): Map<string, KnownState> => {
  const out = new Map(known)
  for (const c of d.changes)
    out.set(c.field, { status: c.to, at: c.because.capturedAt, eventId: c.because.eventId })
  return out
}

/**
 * A change pulled from a target as a consent event: source = the target, capturedAt = the target's
 * modification time, legal basis `consent`, attached to the profile (no record). Record the pulled
 * status in the known state too, so that the target's diff stays empty.
 */
export const fromPulled = (
  target: string,
  field: string,
  status: Status,
  modifiedAt: string,
  mapping: TargetMapping
): Either.Either<ConsentEvent, MappingError | ConsentEventError> => {
  if (target !== mapping.target) {
    return Either.left(
      new MappingError({ target, field, problem: `is not in the mapping of ${mapping.target}` })
    )
  }
  let key: CompiledKey | undefined
  for (const k of compile(mapping).keys) if (k.field === field) key = k
  if (key === undefined)
    return Either.left(new MappingError({ target, field, problem: "is not a mapped field" }))
  return decodeEvent({
    purpose: key.purpose,
    channel: key.channel,
    status,
    legalBasis: "consent",
    capturedAt: modifiedAt,
    source: target
  })
}

/** A change made on both sides since the last sync, and which side the rule chose. */
export interface Conflict {
  /** `purpose/channel`. */
  readonly key: string
  readonly target: string
  readonly field?: string
  readonly profileValue: Effective
  readonly targetValue: { readonly status: Status; readonly capturedAt: string; readonly eventId: string }
  readonly winner: "profile" | "target"
}

/** The ledger with a pulled event in it, the key's new effective state, and the conflict if there was one. */
export interface Reconciled {
  readonly ledger: Ledger
  readonly winner: Effective
  readonly conflict?: Conflict
}

/**
 * Takes a pulled event into the ledger. When the profile's effective state of the key also changed
 * since `lastSync` (its event is newer than the last sync and did not come from this target) and
 * the two disagree as the target holds them, that is a conflict: settled by the effective rule
 * (newest wins, then the stricter) and recorded, so it can be audited.
 */
export const reconcile = (
  ledger: Ledger,
  pulled: ConsentEvent,
  mapping: TargetMapping,
  lastSync: Now,
  now: Now
): Reconciled => {
  const key = { purpose: pulled.purpose, channel: pulled.channel }
  const before = effective(ledger, key, now)
  const next = add(ledger, pulled)
  const winner = effective(next, key, now)!
  if (before === undefined || before.eventId === pulled.eventId || before.source === pulled.source) {
    return { ledger: next, winner }
  }
  const since = millisOf(lastSync)
  let mapped: CompiledKey | undefined
  for (const k of compile(mapping).keys)
    if (k.purpose === key.purpose && k.channel === key.channel) mapped = k
  const table = mapped === undefined ? tableOf(mapping.holds) : mapped.table
  const bothChanged = toMillis(before.capturedAt) > since && toMillis(pulled.capturedAt) > since
  if (!bothChanged || table[before.status] === table[pulled.status]) return { ledger: next, winner }
  return {
    ledger: next,
    winner,
    conflict: {
      key: `${key.purpose}/${key.channel}`,
      target: pulled.source,
      ...(mapped === undefined ? {} : { field: mapped.field }),
      profileValue: before,
      targetValue: { status: pulled.status, capturedAt: pulled.capturedAt, eventId: pulled.eventId },
      winner: winner.eventId === pulled.eventId ? "target" : "profile"
    }
  }
}
