/**
 * The consent ledger of a profile: the set of its consent events (keyed by event id) and the one
 * rule that reads an effective state out of it. Because the ledger is a set and the rule looks only
 * at the events' own fields, merging is commutative, associative and idempotent, and the state
 * never depends on the order events arrived in or on which profile id survived a merge.
 *
 * Effective consent of a key (purpose, channel): the newest event by `capturedAt` among the events
 * for (purpose, channel) and for (purpose, any); a (purpose, any) key reads only `any` events. On a
 * tie (same millisecond) the more restrictive event wins (denied or withdrawn over granted), then
 * the smaller source, then the smaller event id. The winner is then read at `now`: a grant whose
 * `expiresAt` <= now is `expired`; a grant with an unconfirmed double opt-in is `pending` (expiry
 * first: an unconfirmed grant that has lapsed is no longer waiting for anything). `now` changes
 * nothing else: events dated after it still count, since source clocks drift.
 *
 * GDPR flags follow the same newest-wins rule; on a tie the set flag wins (the protective reading).
 *
 * Hot functions (effectiveAll, effective) work on plain arrays of entries precomputed when an event
 * enters the ledger: no Schema, no Effect, no closures.
 */
import { type Channel, type ConsentEvent, canonicalJson, type LegalBasis, toMillis } from "./ConsentEvent.js"
import type { RecordRef } from "./SourceRecord.js"

/** A consent key: a purpose on a channel. */
export interface ConsentKey {
  readonly purpose: string
  readonly channel: Channel
}

/** The string form of a key, `purpose/channel` (channels never contain a slash, purposes may). */
export const keyString = (key: ConsentKey): string => `${key.purpose}/${key.channel}`

/** Splits a key string at its last slash. */
export const parseKey = (key: string): ConsentKey => {
  const i = key.lastIndexOf("/")
  return { purpose: key.slice(0, i), channel: key.slice(i + 1) as Channel }
}

/** The state of a key: what the person said, or `expired` / `pending` for grants that do not count. */
export type EffectiveStatus = "granted" | "denied" | "withdrawn" | "expired" | "pending"

/** The effective consent of one key and the event it comes from. */
export interface Effective {
  readonly status: EffectiveStatus
  readonly capturedAt: string
  readonly source: string
  readonly eventId: string
  readonly legalBasis: LegalBasis
  readonly policyVersion?: string
}

/**
 * An event with what the rule reads from it, copied and computed once when it enters the ledger:
 * events come in many shapes (optional fields), entries in one, which keeps the hot loops monomorphic.
 */
export interface LedgerEntry {
  readonly event: ConsentEvent
  readonly id: string
  readonly kind: ConsentEvent["kind"]
  readonly purpose: string
  readonly channel: Channel
  readonly status: ConsentEvent["status"]
  readonly source: string
  /** `capturedAt` in epoch milliseconds. */
  readonly t: number
  /** `expiresAt` of a grant in epoch milliseconds, +Infinity when it does not expire. */
  readonly expires: number
  /** A grant with a double opt-in that was never confirmed. */
  readonly pending: boolean
  /** 1 when the entry wins ties: a consent that is not granted, a flag that is set. */
  readonly strict: number
}

/** A consent ledger: entries sorted by event id, one per id. Treat as opaque; build it with this module. */
export interface Ledger {
  readonly entries: ReadonlyArray<LedgerEntry>
}

/** An instant: epoch milliseconds, a Date, or an ISO-8601 string. */
export type Now = number | Date | string

/** Epoch milliseconds of an instant given in any of the accepted forms. */
export const millisOf = (now: Now): number =>
  typeof now === "number" ? now : typeof now === "string" ? toMillis(now) : now.getTime()

interface Entry extends LedgerEntry {
  // Built on first use and shared by every call after: `purpose/channel`, and the two possible
  // readings of the entry.
  key: string | undefined
  current: Effective | undefined
  lapsed: Effective | undefined
}

const entryOf = (event: ConsentEvent): Entry => {
  const grant = event.status === "granted"
  const doubleOptIn = event.doubleOptIn
  const expiresAt = event.expiresAt
  return {
    event,
    id: event.eventId,
    kind: event.kind,
    purpose: event.purpose,
    channel: event.channel,
    status: event.status,
    source: event.source,
    t: toMillis(event.capturedAt),
    expires: grant && expiresAt !== undefined ? toMillis(expiresAt) : Number.POSITIVE_INFINITY,
    pending: grant && doubleOptIn !== undefined && doubleOptIn.confirmedAt === undefined,
    strict: (event.kind === "consent" ? !grant : grant) ? 1 : 0,
    key: undefined,
    current: undefined,
    lapsed: undefined
  }
}

// One reading is shared by every call that returns it (readonly by type; not frozen, which costs
// a tenth of a ledger's first reading).
const view = (e: Entry, status: EffectiveStatus): Effective => {
  const ev = e.event
  return ev.policyVersion === undefined
    ? { status, capturedAt: ev.capturedAt, source: e.source, eventId: e.id, legalBasis: ev.legalBasis }
    : {
        status,
        capturedAt: ev.capturedAt,
        source: e.source,
        eventId: e.id,
        legalBasis: ev.legalBasis,
        policyVersion: ev.policyVersion
      }
}

const keyOf = (e: Entry): string => (e.key ??= `${e.purpose}/${e.channel}`)

/** The reading of a winning entry at `now`. */
const read = (e: Entry, now: number): Effective => {
  if (e.expires <= now) return (e.lapsed ??= view(e, "expired"))
  return (e.current ??= view(e, e.pending ? "pending" : e.status))
}

/** Whether `a` beats `b` under the rule: newer, then stricter, then smaller source, then smaller id. */
const wins = (a: LedgerEntry, b: LedgerEntry): boolean => {
  if (a.t !== b.t) return a.t > b.t
  if (a.strict !== b.strict) return a.strict > b.strict
  if (a.source !== b.source) return a.source < b.source
  return a.id < b.id
}

/** Two different events under one id (a source reusing ids): keep the canonically smaller, whatever the order. */
const pick = (a: LedgerEntry, b: LedgerEntry): LedgerEntry => {
  if (a.event === b.event) return a
  const ca = canonicalJson(a.event)
  const cb = canonicalJson(b.event)
  return cb < ca ? b : a
}

/** The empty ledger. */
export const empty: Ledger = { entries: [] }

/** A ledger of the given events (an event id given twice keeps one event, chosen independently of order). */
export const fromEvents = (events: ReadonlyArray<ConsentEvent>): Ledger => {
  // Insertion sort by id into a presized array: ledgers hold a handful of events, and this avoids
  // both the comparator calls of sort() and the array growing step by step.
  const out: Array<LedgerEntry> = new Array(events.length)
  let n = 0
  for (let i = 0; i < events.length; i++) {
    const e = entryOf(events[i]!)
    const id = e.id
    let j = n
    while (j > 0 && out[j - 1]!.id > id) j--
    const prev = j > 0 ? out[j - 1]! : undefined
    if (prev !== undefined && prev.id === id) {
      out[j - 1] = pick(prev, e)
      continue
    }
    for (let m = n; m > j; m--) out[m] = out[m - 1]!
    out[j] = e
    n++
  }
  if (n < out.length) out.length = n
  return { entries: out }
}

/** The ledger with one more event (the same ledger when the event is already in it). */
export const add = (ledger: Ledger, event: ConsentEvent): Ledger => {
  const entries = ledger.entries
  const id = event.eventId
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (entries[mid]!.id < id) lo = mid + 1
    else hi = mid
  }
  const found = entries[lo]
  if (found !== undefined && found.id === id) {
    const kept = pick(found, entryOf(event))
    if (kept === found) return ledger
    const out = entries.slice()
    out[lo] = kept
    return { entries: out }
  }
  const out = entries.slice()
  out.splice(lo, 0, entryOf(event))
  return { entries: out }
}

/** The union of two ledgers: commutative, associative and idempotent. */
export const merge = (a: Ledger, b: Ledger): Ledger => {
  if (a === b || b.entries.length === 0) return a
  if (a.entries.length === 0) return b
  const xs = a.entries
  const ys = b.entries
  const out: Array<LedgerEntry> = []
  let i = 0
  let j = 0
  while (i < xs.length && j < ys.length) {
    const x = xs[i]!
    const y = ys[j]!
    if (x.id < y.id) {
      out.push(x)
      i++
    } else if (y.id < x.id) {
      out.push(y)
      j++
    } else {
      out.push(pick(x, y))
      i++
      j++
    }
  }
  while (i < xs.length) out.push(xs[i++]!)
  while (j < ys.length) out.push(ys[j++]!)
  return { entries: out }
}

/** The events of a ledger, by event id. */
export const events = (ledger: Ledger): Array<ConsentEvent> => ledger.entries.map((e) => e.event)

/** How many events the ledger holds. */
export const size = (ledger: Ledger): number => ledger.entries.length

/**
 * The ledger of one part of a split profile: the events of its own records, plus the profile-level
 * events (those without `record`) when this part keeps the profile id. Events of records in no part
 * (records withdrawn) leave with their records.
 */
export const split = (
  ledger: Ledger,
  part: { readonly records: ReadonlyArray<RecordRef>; readonly keepsProfileId: boolean }
): Ledger => {
  const keys = new Set<string>()
  for (const r of part.records) keys.add(`${r.source}\u001f${r.id}`)
  const out: Array<LedgerEntry> = []
  for (const e of ledger.entries) {
    const r = e.event.record
    if (r === undefined ? part.keepsProfileId : keys.has(`${r.source}\u001f${r.id}`)) out.push(e)
  }
  return { entries: out }
}

/** The effective consent of one key at `now`; undefined when no event speaks to it. */
export const effective = (ledger: Ledger, key: ConsentKey, now: Now): Effective | undefined => {
  const nowMs = millisOf(now)
  const entries = ledger.entries
  const purpose = key.purpose
  const channel = key.channel
  let best: LedgerEntry | undefined
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    if (e.kind !== "consent" || e.purpose !== purpose) continue
    if (e.channel !== channel && e.channel !== "any") continue
    if (best === undefined || wins(e, best)) best = e
  }
  return best === undefined ? undefined : read(best as Entry, nowMs)
}

const scratch: Array<LedgerEntry | undefined> = []

/**
 * The effective consent at `now` of every key that occurs in the ledger, keyed `purpose/channel`.
 * A key that does not occur reads as its `purpose/any` entry (or nothing): `lookup` does that.
 */
export const effectiveAll = (ledger: Ledger, now: Now): Map<string, Effective> => {
  const nowMs = millisOf(now)
  const entries = ledger.entries
  // The newest entry per exact key. Profiles have a handful of keys: a linear search in a reused
  // array beats a Map here (effectiveAll never calls out, so sharing the array is safe).
  const best = scratch
  let count = 0
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    if (e.kind !== "consent") continue
    const purpose = e.purpose
    const channel = e.channel
    let j = 0
    while (j < count && (best[j]!.channel !== channel || best[j]!.purpose !== purpose)) j++
    if (j === count) best[count++] = e
    else if (wins(e, best[j]!)) best[j] = e
  }
  const out = new Map<string, Effective>()
  for (let j = 0; j < count; j++) {
    const own = best[j]!
    let w = own
    if (own.channel !== "any") {
      const purpose = own.purpose
      for (let m = 0; m < count; m++) {
        const a = best[m]!
        if (a.channel === "any" && a.purpose === purpose) {
          if (wins(a, own)) w = a
          break
        }
      }
    }
    out.set(keyOf(own as Entry), read(w as Entry, nowMs))
  }
  for (let j = 0; j < count; j++) best[j] = undefined
  return out
}

/** The effective consent of a key in the result of `effectiveAll`, including keys covered only by `any`. */
export const lookup = (states: ReadonlyMap<string, Effective>, key: ConsentKey): Effective | undefined =>
  states.get(keyString(key)) ?? (key.channel === "any" ? undefined : states.get(`${key.purpose}/any`))

/** Every consent key that occurs in the ledger, sorted by key string. */
export const keysOf = (ledger: Ledger): Array<ConsentKey> => {
  const seen = new Set<string>()
  for (const e of ledger.entries) if (e.kind === "consent") seen.add(keyOf(e as Entry))
  return [...seen].sort().map(parseKey)
}

/** The consent of a profile as the CLI writes it: every key that occurs, keyed `purpose/channel`, sorted. */
export const consentObject = (
  ledger: Ledger,
  now: Now
): Record<
  string,
  { readonly status: EffectiveStatus; readonly capturedAt: string; readonly source: string }
> => {
  const states = effectiveAll(ledger, now)
  const out: Record<string, { status: EffectiveStatus; capturedAt: string; source: string }> = {}
  for (const k of [...states.keys()].sort()) {
    const s = states.get(k)!
    out[k] = { status: s.status, capturedAt: s.capturedAt, source: s.source }
  }
  return out
}

/** The GDPR flags of a profile. */
export interface Flags {
  /** Restriction of processing (Art. 18). */
  readonly restricted: boolean
  /** Purposes objected to (Art. 21), sorted; `"*"` objects to every purpose. */
  readonly objections: ReadonlyArray<string>
  /** No automated decisions or profiling (Art. 22). */
  readonly noAutomatedDecisions: boolean
  /** Erasure requested (Art. 17). */
  readonly erasureRequested: boolean
}

/** The newest event of each GDPR flag (by the same rule as consent), whether set or lifted. */
const flagWinners = (ledger: Ledger) => {
  let restriction: LedgerEntry | undefined
  let automated: LedgerEntry | undefined
  let erasure: LedgerEntry | undefined
  const objections = new Map<string, LedgerEntry>()
  for (const e of ledger.entries) {
    switch (e.kind) {
      case "consent":
        break
      case "restriction":
        if (restriction === undefined || wins(e, restriction)) restriction = e
        break
      case "noAutomatedDecisions":
        if (automated === undefined || wins(e, automated)) automated = e
        break
      case "erasureRequested":
        if (erasure === undefined || wins(e, erasure)) erasure = e
        break
      case "objection": {
        const seen = objections.get(e.purpose)
        if (seen === undefined || wins(e, seen)) objections.set(e.purpose, e)
        break
      }
    }
  }
  return { restriction, automated, erasure, objections }
}

/**
 * The GDPR flags: for each flag (and each objected purpose), the newest event says whether it is
 * set. Flags do not expire; `now` is accepted for symmetry with `effectiveAll` and not read.
 */
export const flags = (ledger: Ledger, _now?: Now): Flags => {
  const w = flagWinners(ledger)
  const objected: Array<string> = []
  for (const [purpose, e] of w.objections) if (e.status === "granted") objected.push(purpose)
  return {
    restricted: w.restriction?.status === "granted",
    objections: objected.sort(),
    noAutomatedDecisions: w.automated?.status === "granted",
    erasureRequested: w.erasure?.status === "granted"
  }
}

/**
 * What targets should hold: the effective consent with the GDPR flags in force applied as denials.
 * Restriction of processing (Art. 18) denies the purpose `processing`, an objection (Art. 21)
 * denies its purpose (`*`: every purpose that occurs), no automated decisions (Art. 22) denies
 * `profiling`; each on `(purpose, any)` and on every channel key of that purpose that occurs. A
 * lifted flag adds nothing, so the consent underneath applies again.
 */
export const desired = (ledger: Ledger, now: Now): Map<string, Effective> => {
  const states = new Map(effectiveAll(ledger, now))
  const w = flagWinners(ledger)
  const deny = (purpose: string, e: LedgerEntry) => {
    const because: Effective = {
      status: "denied",
      capturedAt: e.event.capturedAt,
      source: e.source,
      eventId: e.id,
      legalBasis: e.event.legalBasis,
      ...(e.event.policyVersion === undefined ? {} : { policyVersion: e.event.policyVersion })
    }
    for (const k of [...states.keys()]) if (k.startsWith(`${purpose}/`)) states.set(k, because)
    states.set(`${purpose}/any`, because)
  }
  if (w.restriction?.status === "granted") deny("processing", w.restriction)
  if (w.automated?.status === "granted") deny("profiling", w.automated)
  for (const [purpose, e] of w.objections) {
    if (e.status !== "granted") continue
    if (purpose !== "*") deny(purpose, e)
    else for (const p of new Set([...states.keys()].map((k) => k.slice(0, k.indexOf("/"))))) deny(p, e)
  }
  return states
}
