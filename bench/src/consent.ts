/**
 * Scenario `consent`: effective consent plus diffs against two targets, per profile, on seeded
 * synthetic ledgers held in memory. Two lines: `consent` reads ledgers built beforehand (as an
 * in-memory store holds them), `consent-build` rebuilds each ledger from its events every time (as
 * a store that keeps only the events would).
 */
import { ConsentDiff, ConsentEvent, ConsentLedger } from "@living-profile/core"
import { Either } from "effect"
import { type BenchResult, median, peakRssMb, round, time } from "./stats.js"

/** Options of one consent measurement. */
export interface ConsentOptions {
  /** Number of profiles. */
  readonly records: number
  readonly runs: number
  readonly seed?: number
}

// mulberry32: small, fast and good enough for test data; Math.random cannot be seeded.
class Rng {
  #s: number
  constructor(seed: number) {
    // Scrambled so that neighbouring seeds start far apart in the sequence.
    this.#s = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0
    let t = this.#s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

interface Weighted<T> {
  readonly value: T
  readonly weight: number
}

const draw = <T>(rng: Rng, xs: ReadonlyArray<Weighted<T>>, total: number): T => {
  let u = rng.next() * total
  for (const x of xs) {
    u -= x.weight
    if (u < 0) return x.value
  }
  return xs[xs.length - 1]!.value
}

const totalOf = <T>(xs: ReadonlyArray<Weighted<T>>): number => xs.reduce((s, x) => s + x.weight, 0)

// Keys a profile may have events for, weighted by how often profiles carry them: marketing e-mail
// almost always, the rest less often; `any` keys cover every channel of their purpose.
const KEYS: ReadonlyArray<Weighted<ConsentLedger.ConsentKey>> = [
  { value: { purpose: "marketing", channel: "email" }, weight: 9 },
  { value: { purpose: "marketing", channel: "sms" }, weight: 4 },
  { value: { purpose: "marketing", channel: "phone" }, weight: 2.5 },
  { value: { purpose: "marketing", channel: "any" }, weight: 3 },
  { value: { purpose: "marketing", channel: "post" }, weight: 1 },
  { value: { purpose: "profiling", channel: "any" }, weight: 3.5 },
  { value: { purpose: "newsletter", channel: "email" }, weight: 4 },
  { value: { purpose: "productUpdates", channel: "email" }, weight: 3 },
  { value: { purpose: "analytics", channel: "any" }, weight: 3 },
  { value: { purpose: "personalisation", channel: "web" }, weight: 2 },
  { value: { purpose: "thirdPartySharing", channel: "any" }, weight: 1.5 }
]
const KEYS_TOTAL = totalOf(KEYS)

// The two targets appear as sources too: choices pulled from them are events of theirs.
const SOURCES: ReadonlyArray<Weighted<string>> = [
  { value: "web", weight: 30 },
  { value: "shop", weight: 20 },
  { value: "crm", weight: 15 },
  { value: "preference-center", weight: 15 },
  { value: "Salesforce", weight: 10 },
  { value: "HubSpot", weight: 10 }
]
const SOURCES_TOTAL = totalOf(SOURCES)
const TARGETS = new Set(["Salesforce", "HubSpot"])

const DAY = 86_400_000
const FROM = ConsentEvent.toMillis("2022-01-01T00:00:00Z")
/** The instant the ledgers are read at: fixed, so that every run does the same work. */
const NOW = ConsentEvent.toMillis("2025-06-01T00:00:00Z")
const SPAN_DAYS = Math.floor((NOW - FROM) / DAY)

// Privacy notices in force from a date on; an event names the one it was captured under.
const POLICIES: ReadonlyArray<readonly [number, string]> = [
  [ConsentEvent.toMillis("2024-11-01T00:00:00Z"), "2024-11"],
  [ConsentEvent.toMillis("2023-09-01T00:00:00Z"), "2023-09"],
  [FROM, "2022-06"]
]

const policyAt = (t: number): string => {
  for (const [from, version] of POLICIES) if (t >= from) return version
  return POLICIES[POLICIES.length - 1]![1]
}

const iso = (t: number): string => new Date(t).toISOString()

/** A Salesforce-like target: consent per contact point type, and the Individual's profiling opt-out. */
const salesforce: ConsentDiff.TargetMapping = {
  target: "Salesforce",
  keys: [
    { purpose: "marketing", channel: "email", field: "ContactPointTypeConsent:Marketing:Email" },
    { purpose: "marketing", channel: "sms", field: "ContactPointTypeConsent:Marketing:SMS" },
    { purpose: "marketing", channel: "phone", field: "ContactPointTypeConsent:Marketing:Phone" },
    { purpose: "profiling", channel: "any", field: "Individual:HasOptedOutProfiling" }
  ]
}

/** A HubSpot-like target: one e-mail subscription type per purpose. */
const hubspot: ConsentDiff.TargetMapping = {
  target: "HubSpot",
  keys: [
    { purpose: "marketing", channel: "email", field: "HubSpot subscription 1001 (Marketing Information)" },
    { purpose: "newsletter", channel: "email", field: "HubSpot subscription 1002 (Newsletter)" },
    { purpose: "productUpdates", channel: "email", field: "HubSpot subscription 1003 (Product Updates)" }
  ]
}

const legalBasisOf = (rng: Rng, purpose: string): ConsentEvent.LegalBasis => {
  if (purpose === "analytics" || purpose === "personalisation")
    return rng.chance(0.5) ? "legitimate_interests" : "consent"
  if (purpose === "productUpdates" && rng.chance(0.3)) return "contract"
  return "consent"
}

const decoded = (input: ConsentEvent.ConsentEventInput): ConsentEvent.ConsentEvent => {
  const r = ConsentEvent.decode(input)
  if (Either.isLeft(r)) throw new Error(`generated an invalid event: ${r.left.message}`)
  return r.right
}

/** ~10 events (8 to 12) over ~5 keys (4 to 6) of one profile, decoded as a store would hold them. */
const profileEvents = (rng: Rng, profile: number): Array<ConsentEvent.ConsentEvent> => {
  const keys: Array<ConsentLedger.ConsentKey> = []
  const keyCount = 4 + rng.int(3)
  while (keys.length < keyCount) {
    const k = draw(rng, KEYS, KEYS_TOTAL)
    if (!keys.includes(k)) keys.push(k)
  }
  const eventCount = 8 + rng.int(5)
  const times: Array<number> = []
  const out: Array<ConsentEvent.ConsentEvent> = []
  for (let j = 0; j < eventCount; j++) {
    // Every chosen key gets an event, then the rest fall on keys at random.
    const key = j < keys.length ? keys[j]! : keys[rng.int(keys.length)]!
    const source = draw(rng, SOURCES, SOURCES_TOTAL)
    // Whole seconds, as most sources send them; now and then the same instant as another event, so
    // that ties (broken by strictness, then source, then id) occur.
    const t =
      times.length > 0 && rng.chance(0.03)
        ? times[rng.int(times.length)]!
        : FROM + rng.int(SPAN_DAYS) * DAY + rng.int(86_400) * 1000
    times.push(t)
    const u = rng.next()
    const status: ConsentEvent.Status = u < 0.6 ? "granted" : u < 0.85 ? "withdrawn" : "denied"
    const grant = status === "granted"
    const pulled = TARGETS.has(source)
    const expires = grant && rng.chance(0.1) ? t + [182, 365, 730][rng.int(3)]! * DAY : undefined
    const dooi = grant && !pulled ? rng.next() : 1
    const input: ConsentEvent.ConsentEventInput = {
      purpose: key.purpose,
      channel: key.channel,
      status,
      // A pulled change is recorded as the target gives it (ConsentDiff.fromPulled): basis consent.
      legalBasis: pulled ? "consent" : legalBasisOf(rng, key.purpose),
      capturedAt: iso(t),
      source,
      ...(!pulled && rng.chance(0.7) ? { policyVersion: policyAt(t) } : {}),
      ...(expires === undefined ? {} : { expiresAt: iso(expires) }),
      // ~10% of all grants (pulled ones carry none) wait for a confirmation that never came, ~20%
      // were confirmed.
      ...(dooi < 0.125
        ? { doubleOptIn: { requestedAt: iso(t) } }
        : dooi < 0.375
          ? { doubleOptIn: { requestedAt: iso(t), confirmedAt: iso(t + (1 + rng.int(48)) * 3_600_000) } }
          : {}),
      ...((source === "web" || source === "preference-center") && rng.chance(0.5)
        ? { proof: { formId: `form-${1 + rng.int(5)}` } }
        : {}),
      // Most events come with the record that carried them; pulled and preference-center choices
      // are profile-level.
      ...(!pulled && source !== "preference-center" && rng.chance(0.8)
        ? { record: { source, id: `${source}-${profile}-${j}` } }
        : {})
    }
    out.push(decoded(input))
    // At-least-once delivery: ~1% of events arrive twice (same fields, so the same id).
    if (rng.chance(0.01)) out.push(decoded(input))
  }
  return out
}

/** What a target last acknowledged per field: ~25% never known, otherwise granted or denied. */
const knownFor = (rng: Rng, mapping: ConsentDiff.TargetMapping): Map<string, ConsentDiff.KnownState> => {
  const known = new Map<string, ConsentDiff.KnownState>()
  for (const k of mapping.keys) {
    const u = rng.next()
    if (u < 0.25) continue
    known.set(k.field, {
      status: u < 0.6 ? "granted" : "denied",
      at: iso(FROM + rng.int(SPAN_DAYS) * DAY)
    })
  }
  return known
}

interface Profiles {
  readonly ids: ReadonlyArray<string>
  readonly events: ReadonlyArray<ReadonlyArray<ConsentEvent.ConsentEvent>>
  readonly sfKnown: ReadonlyArray<ReadonlyMap<string, ConsentDiff.KnownState>>
  readonly hsKnown: ReadonlyArray<ReadonlyMap<string, ConsentDiff.KnownState>>
}

const generate = (n: number, seed: number): Profiles => {
  const rng = new Rng(seed)
  const ids: Array<string> = new Array(n)
  const events: Array<Array<ConsentEvent.ConsentEvent>> = new Array(n)
  const sfKnown: Array<Map<string, ConsentDiff.KnownState>> = new Array(n)
  const hsKnown: Array<Map<string, ConsentDiff.KnownState>> = new Array(n)
  for (let i = 0; i < n; i++) {
    ids[i] = `p${i}`
    events[i] = profileEvents(rng, i)
    sfKnown[i] = knownFor(rng, salesforce)
    hsKnown[i] = knownFor(rng, hubspot)
  }
  return { ids, events, sfKnown, hsKnown }
}

const diffBoth = (p: Profiles, i: number, ledger: ConsentLedger.Ledger): number => {
  const states = ConsentLedger.effectiveAll(ledger, NOW)
  const id = p.ids[i]!
  return (
    ConsentDiff.diff(id, states, p.sfKnown[i]!, salesforce).changes.length +
    ConsentDiff.diff(id, states, p.hsKnown[i]!, hubspot).changes.length
  )
}

/** Runs the scenario and returns its result lines (ledgers held, then ledgers rebuilt). */
export const runConsent = (o: ConsentOptions): Array<BenchResult> => {
  const n = o.records
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(o.runs) && o.runs >= 1))
    throw new Error("consent: --records and --runs must be positive integers")
  const p = generate(n, o.seed ?? 7)
  let events = 0
  let keys = 0
  for (const es of p.events) {
    events += es.length
    keys += new Set(es.map((e) => `${e.purpose}/${e.channel}`)).size
  }

  const ledgers: Array<ConsentLedger.Ledger> = new Array(n)
  const buildSeconds = time(() => {
    for (let i = 0; i < n; i++) ledgers[i] = ConsentLedger.fromEvents(p.events[i]!)
  })

  // The work must be the same every run (and in both lines): a figure that changed would mean the
  // timed loop is not measuring what it says.
  const check = (what: string, expected: number, got: number): void => {
    if (expected !== got) throw new Error(`${what}: ${got} changes, expected ${expected}`)
  }

  // The first reading of a ledger builds what its entries then share with every later reading (key
  // strings, effective states); timed apart (with the JIT's first compilations), so that the median
  // compares like with like for any number of runs.
  let changes = 0
  const coldSeconds = time(() => {
    for (let i = 0; i < n; i++) changes += diffBoth(p, i, ledgers[i]!)
  })
  const held: Array<number> = []
  for (let k = 0; k < o.runs; k++) {
    let c = 0
    held.push(
      time(() => {
        for (let i = 0; i < n; i++) c += diffBoth(p, i, ledgers[i]!)
      })
    )
    check("consent", changes, c)
  }

  const rebuilt: Array<number> = []
  for (let k = 0; k < o.runs; k++) {
    let c = 0
    rebuilt.push(
      time(() => {
        for (let i = 0; i < n; i++) c += diffBoth(p, i, ConsentLedger.fromEvents(p.events[i]!))
      })
    )
    check("consent-build", changes, c)
  }

  const rss = peakRssMb()
  const heldMedian = median(held)
  const rebuiltMedian = median(rebuilt)
  // The figures both lines share, after the common ones (in the order resolve writes them).
  const work = {
    peakRssMb: rss,
    changes,
    events,
    eventsPerProfile: round(events / n),
    keysPerProfile: round(keys / n),
    targets: 2
  }
  return [
    {
      scenario: "consent",
      dataset: "synthetic",
      records: n,
      runs: o.runs,
      medianSeconds: round(heldMedian),
      perSecond: Math.round(n / heldMedian),
      ...work,
      coldSeconds: round(coldSeconds),
      coldPerSecond: Math.round(n / coldSeconds),
      buildSeconds: round(buildSeconds)
    },
    {
      scenario: "consent-build",
      dataset: "synthetic",
      records: n,
      runs: o.runs,
      medianSeconds: round(rebuiltMedian),
      perSecond: Math.round(n / rebuiltMedian),
      ...work
    }
  ]
}
