import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ConsentEvent from "../src/ConsentEvent.js"
import * as ConsentDiff from "../src/ConsentDiff.js"
import * as ConsentLedger from "../src/ConsentLedger.js"

type Event = ConsentEvent.ConsentEvent

// Few instants, written in several ways, so that ties are frequent (t1 twice, in two spellings).
const instants = [
  "2025-01-01T00:00:00Z",
  "2025-02-01T00:00:00Z",
  "2025-02-01T01:00:00+01:00",
  "2025-03-01T00:00:00.000Z",
  "2025-04-01"
] as const
const NOW = Date.parse("2025-03-15T00:00:00Z")
const purposes = ["marketing", "analytics"] as const
const channels = ["email", "sms", "any"] as const
const records = [{ source: "shop", id: "1" }, { source: "crm", id: "9" }, undefined] as const

const consentArb: fc.Arbitrary<Event> = fc
  .record({
    purpose: fc.constantFrom(...purposes),
    channel: fc.constantFrom(...channels),
    status: fc.constantFrom(...(["granted", "denied", "withdrawn"] as const)),
    capturedAt: fc.constantFrom(...instants),
    source: fc.constantFrom("crm", "shop", "web"),
    expiresAt: fc.option(fc.constantFrom(...instants), { nil: undefined }),
    doubleOptIn: fc.option(fc.boolean(), { nil: undefined }),
    record: fc.constantFrom(...records),
    // Now and then a source reuses an id for a different event: the ledger must still be a lattice.
    eventId: fc.option(fc.constantFrom("dup-1", "dup-2"), { nil: undefined, freq: 6 })
  })
  .map((r) =>
    ConsentEvent.make({
      purpose: r.purpose,
      channel: r.channel,
      status: r.status,
      legalBasis: "consent",
      capturedAt: r.capturedAt,
      source: r.source,
      ...(r.expiresAt === undefined ? {} : { expiresAt: r.expiresAt }),
      ...(r.doubleOptIn === undefined
        ? {}
        : {
            doubleOptIn: r.doubleOptIn
              ? { requestedAt: r.capturedAt, confirmedAt: r.capturedAt }
              : { requestedAt: r.capturedAt }
          }),
      ...(r.record === undefined ? {} : { record: r.record }),
      ...(r.eventId === undefined ? {} : { eventId: r.eventId })
    })
  )

const flagArb: fc.Arbitrary<Event> = fc
  .record({
    kind: fc.constantFrom(
      ...(["restriction", "objection", "noAutomatedDecisions", "erasureRequested"] as const)
    ),
    purpose: fc.constantFrom(...purposes),
    status: fc.constantFrom(...(["granted", "withdrawn"] as const)),
    capturedAt: fc.constantFrom(...instants),
    source: fc.constantFrom("dsr", "prefcenter")
  })
  .map((r) =>
    ConsentEvent.make({
      kind: r.kind,
      ...(r.kind === "objection" ? { purpose: r.purpose } : {}),
      status: r.status,
      capturedAt: r.capturedAt,
      source: r.source
    })
  )

const eventArb = fc.oneof({ arbitrary: consentArb, weight: 4 }, { arbitrary: flagArb, weight: 1 })
const eventsArb = fc.array(eventArb, { maxLength: 14 })
const ledgerArb = eventsArb.map(ConsentLedger.fromEvents)

/** Everything observable about a ledger, in a comparable form. */
const observe = (l: ConsentLedger.Ledger) => ({
  events: ConsentLedger.events(l).map(ConsentEvent.canonicalJson),
  states: Object.fromEntries([...ConsentLedger.effectiveAll(l, NOW)].sort(([a], [b]) => (a < b ? -1 : 1))),
  flags: ConsentLedger.flags(l)
})

/** The rule, written the slow and obvious way. */
const oracle = (events: ReadonlyArray<Event>, key: ConsentLedger.ConsentKey, now: number) => {
  const candidates = events.filter(
    (e) =>
      e.kind === "consent" &&
      e.purpose === key.purpose &&
      (e.channel === key.channel || (key.channel !== "any" && e.channel === "any"))
  )
  const restrictive = (e: Event) => (e.status === "granted" ? 0 : 1)
  candidates.sort(
    (a, b) =>
      ConsentEvent.toMillis(b.capturedAt) - ConsentEvent.toMillis(a.capturedAt) ||
      restrictive(b) - restrictive(a) ||
      (a.source < b.source ? -1 : a.source > b.source ? 1 : 0) ||
      (a.eventId < b.eventId ? -1 : 1)
  )
  const w = candidates[0]
  if (w === undefined) return undefined
  let status: ConsentLedger.EffectiveStatus = w.status
  if (w.status === "granted" && w.expiresAt !== undefined && ConsentEvent.toMillis(w.expiresAt) <= now) {
    status = "expired"
  } else if (
    w.status === "granted" &&
    w.doubleOptIn !== undefined &&
    w.doubleOptIn.confirmedAt === undefined
  ) {
    status = "pending"
  }
  return { status, eventId: w.eventId }
}

const allKeys = purposes.flatMap((purpose) =>
  [...channels, "web" as const].map((channel) => ({ purpose, channel }))
)

describe("ConsentLedger.merge (properties)", () => {
  it("is commutative", () => {
    fc.assert(
      fc.property(ledgerArb, ledgerArb, (a, b) => {
        expect(observe(ConsentLedger.merge(a, b))).toEqual(observe(ConsentLedger.merge(b, a)))
      })
    )
  })

  it("is associative", () => {
    fc.assert(
      fc.property(ledgerArb, ledgerArb, ledgerArb, (a, b, c) => {
        expect(observe(ConsentLedger.merge(ConsentLedger.merge(a, b), c))).toEqual(
          observe(ConsentLedger.merge(a, ConsentLedger.merge(b, c)))
        )
      })
    )
  })

  it("is idempotent", () => {
    fc.assert(
      fc.property(ledgerArb, ledgerArb, (a, b) => {
        expect(observe(ConsentLedger.merge(a, a))).toEqual(observe(a))
        const ab = ConsentLedger.merge(a, b)
        expect(observe(ConsentLedger.merge(ab, b))).toEqual(observe(ab))
      })
    )
  })

  it("keeps the event-id set a set union", () => {
    fc.assert(
      fc.property(ledgerArb, ledgerArb, (a, b) => {
        const ids = (l: ConsentLedger.Ledger) => ConsentLedger.events(l).map((e) => e.eventId)
        expect(ids(ConsentLedger.merge(a, b))).toEqual([...new Set([...ids(a), ...ids(b)])].sort())
      })
    )
  })
})

describe("ConsentLedger.effective (properties)", () => {
  it("does not depend on the order events arrive in", () => {
    fc.assert(
      fc.property(
        eventsArb.chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length }))),
        ([events, shuffled]) => {
          const once = ConsentLedger.fromEvents(events)
          const oneByOne = shuffled.reduce(ConsentLedger.add, ConsentLedger.empty)
          const bySingletons = shuffled
            .map((e) => ConsentLedger.fromEvents([e]))
            .reduce(ConsentLedger.merge, ConsentLedger.empty)
          expect(observe(oneByOne)).toEqual(observe(once))
          expect(observe(bySingletons)).toEqual(observe(once))
        }
      )
    )
  })

  it("follows the rule for every key, occurring or not", () => {
    fc.assert(
      fc.property(ledgerArb, fc.constantFrom(...instants).map(Date.parse), (ledger, now) => {
        const events = ConsentLedger.events(ledger)
        const states = ConsentLedger.effectiveAll(ledger, now)
        for (const key of allKeys) {
          const expected = oracle(events, key, now)
          const one = ConsentLedger.effective(ledger, key, now)
          expect(one === undefined ? undefined : { status: one.status, eventId: one.eventId }).toEqual(
            expected
          )
          expect(ConsentLedger.lookup(states, key)).toEqual(one)
        }
        expect([...states.keys()].sort()).toEqual(ConsentLedger.keysOf(ledger).map(ConsentLedger.keyString))
      })
    )
  })
})

const ev = (fields: Partial<ConsentEvent.ConsentEventInput> & { capturedAt: string }): Event =>
  ConsentEvent.make({
    purpose: "marketing",
    channel: "email",
    status: "granted",
    legalBasis: "consent",
    source: "shop",
    ...fields
  })

const statusOf = (
  events: ReadonlyArray<Event>,
  key: ConsentLedger.ConsentKey,
  now: ConsentLedger.Now = NOW
) => ConsentLedger.effective(ConsentLedger.fromEvents(events), key, now)?.status

const email = { purpose: "marketing", channel: "email" } as const
const sms = { purpose: "marketing", channel: "sms" } as const
const any = { purpose: "marketing", channel: "any" } as const

describe("ConsentLedger tie rule", () => {
  const t = "2025-02-01T00:00:00Z"

  it("lets the more restrictive event win a tie, whatever its source", () => {
    const granted = ev({ capturedAt: t, source: "aaa" })
    const denied = ev({ capturedAt: "2025-02-01T01:00:00+01:00", source: "zzz", status: "denied" })
    expect(statusOf([granted, denied], email)).toBe("denied")
    expect(statusOf([denied, granted], email)).toBe("denied")
    const withdrawn = ev({ capturedAt: t, source: "zzz", status: "withdrawn" })
    expect(statusOf([granted, withdrawn], email)).toBe("withdrawn")
  })

  it("then takes the smaller source, then the smaller event id", () => {
    const fromB = ev({ capturedAt: t, source: "b", policyVersion: "from-b" })
    const fromA = ev({ capturedAt: t, source: "a", policyVersion: "from-a" })
    expect(ConsentLedger.effective(ConsentLedger.fromEvents([fromB, fromA]), email, NOW)?.source).toBe("a")
    const e2 = ev({ capturedAt: t, status: "denied", eventId: "e2" })
    const e1 = ev({ capturedAt: t, status: "withdrawn", eventId: "e1" })
    const w = ConsentLedger.effective(ConsentLedger.fromEvents([e2, e1]), email, NOW)
    expect(w).toMatchObject({ eventId: "e1", status: "withdrawn" })
  })

  it("prefers newer over stricter", () => {
    const denied = ev({ capturedAt: "2025-01-01T00:00:00Z", status: "denied" })
    const granted = ev({ capturedAt: "2025-01-01T00:00:00.001Z" })
    expect(statusOf([denied, granted], email)).toBe("granted")
  })
})

describe("ConsentLedger `any`", () => {
  it("covers every channel of its purpose when it is newest", () => {
    const events = [
      ev({ capturedAt: "2025-01-01T00:00:00Z", status: "granted" }),
      ev({ capturedAt: "2025-02-01T00:00:00Z", channel: "any", status: "withdrawn" })
    ]
    expect(statusOf(events, email)).toBe("withdrawn")
    expect(statusOf(events, sms)).toBe("withdrawn")
    expect(statusOf(events, { purpose: "analytics", channel: "email" })).toBeUndefined()
  })

  it("gives way to a newer channel event, and an `any` key reads only `any` events", () => {
    const events = [
      ev({ capturedAt: "2025-01-01T00:00:00Z", channel: "any", status: "denied" }),
      ev({ capturedAt: "2025-02-01T00:00:00Z", status: "granted" })
    ]
    expect(statusOf(events, email)).toBe("granted")
    expect(statusOf(events, sms)).toBe("denied")
    expect(statusOf(events, any)).toBe("denied")
    expect(statusOf([ev({ capturedAt: "2025-02-01T00:00:00Z" })], any)).toBeUndefined()
  })

  it("lists only keys that occur", () => {
    const ledger = ConsentLedger.fromEvents([
      ev({ capturedAt: "2025-01-01T00:00:00Z", channel: "any" }),
      ev({ capturedAt: "2025-01-01T00:00:00Z", purpose: "analytics", channel: "web" })
    ])
    expect(ConsentLedger.keysOf(ledger)).toEqual([
      { purpose: "analytics", channel: "web" },
      { purpose: "marketing", channel: "any" }
    ])
    const states = ConsentLedger.effectiveAll(ledger, NOW)
    expect([...states.keys()].sort()).toEqual(["analytics/web", "marketing/any"])
    expect(ConsentLedger.lookup(states, sms)?.status).toBe("granted")
  })
})

describe("ConsentLedger expiry and double opt-in", () => {
  const grant = ev({ capturedAt: "2025-01-01T00:00:00Z", expiresAt: "2025-06-01T00:00:00Z" })

  it("reads a grant as expired from its expiry on", () => {
    expect(statusOf([grant], email, "2025-05-31T23:59:59.999Z")).toBe("granted")
    expect(statusOf([grant], email, "2025-06-01T00:00:00Z")).toBe("expired")
    expect(statusOf([grant], email, new Date("2026-01-01T00:00:00Z"))).toBe("expired")
    expect(statusOf([grant], email, Date.parse("2025-06-01T00:00:00Z"))).toBe("expired")
  })

  it("does not fall back to an older grant when the newest has expired", () => {
    const old = ev({ capturedAt: "2024-01-01T00:00:00Z" })
    expect(statusOf([old, grant], email, "2025-07-01T00:00:00Z")).toBe("expired")
    const renewed = ev({ capturedAt: "2025-06-15T00:00:00Z" })
    expect(statusOf([renewed, grant], email, "2025-07-01T00:00:00Z")).toBe("granted")
  })

  it("reads an unconfirmed double opt-in as pending, a confirmed one as granted", () => {
    const requested = { requestedAt: "2025-01-01T00:00:00Z" }
    const pending = ev({ capturedAt: "2025-01-01T00:00:00Z", doubleOptIn: requested })
    expect(statusOf([pending], email)).toBe("pending")
    const confirmed = ev({
      capturedAt: "2025-01-01T00:00:00Z",
      doubleOptIn: { ...requested, confirmedAt: "2025-01-02T00:00:00Z" }
    })
    expect(statusOf([confirmed], email)).toBe("granted")
    const lapsed = ev({
      capturedAt: "2025-01-01T00:00:00Z",
      doubleOptIn: requested,
      expiresAt: "2025-01-08T00:00:00Z"
    })
    expect(statusOf([lapsed], email)).toBe("expired")
  })

  it("ignores expiry and double opt-in on refusals", () => {
    const denied = ev({
      capturedAt: "2025-01-01T00:00:00Z",
      status: "denied",
      expiresAt: "2025-01-02T00:00:00Z",
      doubleOptIn: { requestedAt: "2025-01-01T00:00:00Z" }
    })
    expect(statusOf([denied], email)).toBe("denied")
  })
})

describe("ConsentLedger.flags", () => {
  const flag = (
    kind: ConsentEvent.Kind,
    status: "granted" | "withdrawn",
    capturedAt: string,
    purpose?: string
  ) =>
    ConsentEvent.make({
      kind,
      status,
      capturedAt,
      source: "dsr",
      ...(purpose === undefined ? {} : { purpose })
    })

  it("takes the newest event of each flag", () => {
    const ledger = ConsentLedger.fromEvents([
      flag("restriction", "granted", "2025-01-01T00:00:00Z"),
      flag("restriction", "withdrawn", "2025-02-01T00:00:00Z"),
      flag("erasureRequested", "granted", "2025-02-01T00:00:00Z"),
      flag("noAutomatedDecisions", "withdrawn", "2025-01-01T00:00:00Z"),
      flag("noAutomatedDecisions", "granted", "2025-03-01T00:00:00Z"),
      flag("objection", "granted", "2025-01-01T00:00:00Z", "profiling"),
      flag("objection", "granted", "2025-01-01T00:00:00Z", "marketing"),
      flag("objection", "withdrawn", "2025-02-01T00:00:00Z", "marketing")
    ])
    expect(ConsentLedger.flags(ledger, NOW)).toEqual({
      restricted: false,
      objections: ["profiling"],
      noAutomatedDecisions: true,
      erasureRequested: true
    })
    expect(ConsentLedger.flags(ConsentLedger.empty)).toEqual({
      restricted: false,
      objections: [],
      noAutomatedDecisions: false,
      erasureRequested: false
    })
  })

  it("lets the set flag win a tie, and keeps flags out of consent keys", () => {
    const ledger = ConsentLedger.fromEvents([
      flag("restriction", "withdrawn", "2025-01-01T00:00:00Z"),
      flag("restriction", "granted", "2025-01-01T00:00:00Z")
    ])
    expect(ConsentLedger.flags(ledger).restricted).toBe(true)
    expect(ConsentLedger.keysOf(ledger)).toEqual([])
    expect(ConsentLedger.consentObject(ledger, NOW)).toEqual({})
  })
})

describe("ConsentLedger.split and consentObject", () => {
  it("gives each part its records' events and the profile-level events to the part that keeps the id", () => {
    const shop = { source: "shop", id: "1" }
    const crm = { source: "crm", id: "9" }
    const onShop = ev({ capturedAt: "2025-01-01T00:00:00Z", record: shop })
    const onCrm = ev({ capturedAt: "2025-02-01T00:00:00Z", status: "denied", record: crm })
    const profileLevel = ev({ capturedAt: "2025-01-15T00:00:00Z", channel: "sms", source: "prefcenter" })
    const ledger = ConsentLedger.fromEvents([onShop, onCrm, profileLevel])
    const kept = ConsentLedger.split(ledger, { records: [shop], keepsProfileId: true })
    const other = ConsentLedger.split(ledger, { records: [crm], keepsProfileId: false })
    expect(ConsentLedger.events(kept)).toEqual(
      ConsentLedger.events(ConsentLedger.fromEvents([onShop, profileLevel]))
    )
    expect(ConsentLedger.events(other)).toEqual([onCrm])
    expect(statusOf(ConsentLedger.events(kept), email)).toBe("granted")
    expect(statusOf(ConsentLedger.events(ledger), email)).toBe("denied")
  })

  it("writes every key that occurs as { status, capturedAt, source }, sorted", () => {
    const ledger = ConsentLedger.fromEvents([
      ev({ capturedAt: "2025-01-01T00:00:00Z", channel: "sms", source: "crm" }),
      ev({ capturedAt: "2025-02-01T00:00:00Z", channel: "any", status: "withdrawn", source: "prefcenter" }),
      ev({
        capturedAt: "2025-01-01T00:00:00Z",
        purpose: "analytics",
        channel: "web",
        expiresAt: "2025-03-01"
      })
    ])
    const obj = ConsentLedger.consentObject(ledger, NOW)
    expect(Object.keys(obj)).toEqual(["analytics/web", "marketing/any", "marketing/sms"])
    expect(obj).toEqual({
      "analytics/web": { status: "expired", capturedAt: "2025-01-01T00:00:00Z", source: "shop" },
      "marketing/any": { status: "withdrawn", capturedAt: "2025-02-01T00:00:00Z", source: "prefcenter" },
      "marketing/sms": { status: "withdrawn", capturedAt: "2025-02-01T00:00:00Z", source: "prefcenter" }
    })
    expect(JSON.parse(JSON.stringify(obj))).toEqual(obj)
  })

  it("parses and prints keys with slashes in the purpose", () => {
    expect(ConsentLedger.parseKey("research/phd/email")).toEqual({
      purpose: "research/phd",
      channel: "email"
    })
    expect(ConsentLedger.keyString({ purpose: "research/phd", channel: "any" })).toBe("research/phd/any")
  })
})

describe("desired: effective consent with the GDPR flags in force", () => {
  const ev = (x: Record<string, unknown>) =>
    ConsentEvent.make({ legalBasis: "consent", source: "web", ...x } as never)
  const grants = [
    ev({ purpose: "marketing", channel: "email", status: "granted", capturedAt: "2025-01-01T00:00:00Z" }),
    ev({ purpose: "profiling", channel: "any", status: "granted", capturedAt: "2025-01-01T00:00:00Z" })
  ]
  const now = "2025-06-01T00:00:00Z"

  it("an objection denies its purpose on every channel; lifting it lets the consent underneath apply again", () => {
    const objected = ConsentLedger.fromEvents([
      ...grants,
      ev({
        kind: "objection",
        purpose: "marketing",
        status: "granted",
        capturedAt: "2025-02-01T00:00:00Z",
        source: "dsr"
      })
    ])
    const d = ConsentLedger.desired(objected, now)
    expect(d.get("marketing/email")?.status).toBe("denied")
    expect(d.get("marketing/any")?.status).toBe("denied")
    expect(d.get("profiling/any")?.status).toBe("granted")
    // effectiveAll itself is untouched: the overlay is a separate reading.
    expect(ConsentLedger.effectiveAll(objected, now).get("marketing/email")?.status).toBe("granted")
    const lifted = ConsentLedger.add(
      objected,
      ev({
        kind: "objection",
        purpose: "marketing",
        status: "withdrawn",
        capturedAt: "2025-03-01T00:00:00Z",
        source: "dsr"
      })
    )
    expect(ConsentLedger.desired(lifted, now).get("marketing/email")?.status).toBe("granted")
  })

  it("restriction denies processing and the profiling opt-out denies profiling, reaching a target field through a diff", () => {
    const ledger = ConsentLedger.fromEvents([
      ...grants,
      ev({ kind: "restriction", status: "granted", capturedAt: "2025-02-01T00:00:00Z", source: "dsr" }),
      ev({
        kind: "noAutomatedDecisions",
        status: "granted",
        capturedAt: "2025-02-01T00:00:00Z",
        source: "dsr"
      })
    ])
    const d = ConsentLedger.desired(ledger, now)
    expect(d.get("processing/any")?.status).toBe("denied")
    expect(d.get("profiling/any")?.status).toBe("denied")
    const mapping = Either.getOrThrow(
      ConsentDiff.decodeMapping({
        target: "salesforce",
        keys: [
          { purpose: "processing", channel: "any", field: "Individual.HasOptedOutProcessing" },
          { purpose: "profiling", channel: "any", field: "Individual.HasOptedOutProfiling" }
        ]
      })
    )
    const diff = ConsentDiff.diff("p1", d, new Map(), mapping)
    expect(diff.changes.map((c) => [c.field, c.to])).toEqual([
      ["Individual.HasOptedOutProcessing", "denied"],
      ["Individual.HasOptedOutProfiling", "denied"]
    ])
  })
})
