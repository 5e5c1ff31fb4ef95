import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ConsentDiff from "../src/ConsentDiff.js"
import * as ConsentEvent from "../src/ConsentEvent.js"
import * as ConsentLedger from "../src/ConsentLedger.js"

type Event = ConsentEvent.ConsentEvent

const SF_EMAIL = "ContactPointTypeConsent:Marketing:Email"
const SF_SMS = "ContactPointTypeConsent:Marketing:SMS"
const SF_ANALYTICS = "Individual:Analytics"
const HS_EMAIL = "HubSpot subscription 123"

const salesforce: ConsentDiff.TargetMapping = {
  target: "Salesforce",
  holds: ["withdrawn"],
  keys: [
    { purpose: "marketing", channel: "email", field: SF_EMAIL },
    { purpose: "marketing", channel: "sms", field: SF_SMS },
    { purpose: "analytics", channel: "any", field: SF_ANALYTICS }
  ]
}
const hubspot: ConsentDiff.TargetMapping = {
  target: "HubSpot",
  keys: [{ purpose: "marketing", channel: "email", field: HS_EMAIL }]
}

const NOW = "2025-06-01T00:00:00Z"

const ev = (fields: Partial<ConsentEvent.ConsentEventInput> & { capturedAt: string }): Event =>
  ConsentEvent.make({
    purpose: "marketing",
    channel: "email",
    status: "granted",
    legalBasis: "consent",
    source: "shop",
    ...fields
  })

const right = <A, E>(r: Either.Either<A, E>): A => {
  if (Either.isLeft(r)) throw new Error(`expected a success: ${String(r.left)}`)
  return r.right
}

const stateOf = (events: ReadonlyArray<Event>, now: ConsentLedger.Now = NOW) =>
  ConsentLedger.effectiveAll(ConsentLedger.fromEvents(events), now)

const noKnown = new Map<string, ConsentDiff.KnownState>()

describe("ConsentDiff.diff", () => {
  it("asks for every held key the profile has a state for, and nothing else", () => {
    const states = stateOf([
      ev({ capturedAt: "2025-01-01T00:00:00Z", channel: "any", status: "granted" }),
      ev({ capturedAt: "2025-02-01T00:00:00Z", channel: "sms", status: "withdrawn", source: "crm" })
    ])
    const d = ConsentDiff.diff("p1", states, noKnown, salesforce)
    expect(d.profileId).toBe("p1")
    expect(d.target).toBe("Salesforce")
    expect(d.changes.map((c) => [c.key, c.field, c.from, c.to, c.because.source])).toEqual([
      ["marketing/email", SF_EMAIL, null, "granted", "shop"],
      ["marketing/sms", SF_SMS, null, "withdrawn", "crm"]
    ])
  })

  it("is empty when the target holds the effective state already", () => {
    const states = stateOf([ev({ capturedAt: "2025-01-01T00:00:00Z" })])
    const known = new Map([[HS_EMAIL, { status: "granted" as const, at: "2025-01-02T00:00:00Z" }]])
    expect(ConsentDiff.diff("p1", states, known, hubspot).changes).toEqual([])
  })

  it("maps statuses a target cannot hold to denied", () => {
    const withdrawn = stateOf([ev({ capturedAt: "2025-01-01T00:00:00Z", status: "withdrawn" })])
    expect(ConsentDiff.diff("p", withdrawn, noKnown, hubspot).changes[0]).toMatchObject({
      to: "denied",
      because: { status: "withdrawn" }
    })
    expect(ConsentDiff.diff("p", withdrawn, noKnown, salesforce).changes[0]?.to).toBe("withdrawn")
    const expired = stateOf([ev({ capturedAt: "2025-01-01T00:00:00Z", expiresAt: "2025-03-01T00:00:00Z" })])
    expect(ConsentDiff.diff("p", expired, noKnown, salesforce).changes[0]).toMatchObject({
      to: "denied",
      because: { status: "expired" }
    })
    const pending = stateOf([
      ev({ capturedAt: "2025-01-01T00:00:00Z", doubleOptIn: { requestedAt: "2025-01-01T00:00:00Z" } })
    ])
    expect(ConsentDiff.diff("p", pending, noKnown, hubspot).changes[0]?.to).toBe("denied")
    // A target that last held "withdrawn" under a richer vocabulary holds "denied" under this one.
    const knownWithdrawn = new Map([[HS_EMAIL, { status: "withdrawn" as const }]])
    expect(ConsentDiff.diff("p", pending, knownWithdrawn, hubspot).changes).toEqual([])
    expect(ConsentDiff.asHeld(hubspot, HS_EMAIL, "pending")).toBe("denied")
    expect(
      ConsentDiff.asHeld(
        { ...hubspot, keys: [{ ...hubspot.keys[0]!, holds: ["pending"] }] },
        HS_EMAIL,
        "pending"
      )
    ).toBe("pending")
  })

  it("refuses a mapping with a field mapped twice", () => {
    const twice = {
      target: "T",
      keys: [...hubspot.keys, { purpose: "marketing", channel: "sms", field: HS_EMAIL }]
    }
    expect(Either.isLeft(ConsentDiff.decodeMapping(twice))).toBe(true)
    expect(() => ConsentDiff.diff("p", new Map(), noKnown, twice as ConsentDiff.TargetMapping)).toThrow(
      ConsentDiff.MappingError
    )
    expect(right(ConsentDiff.decodeMapping(salesforce))).toEqual(salesforce)
  })
})

// Random profiles and random known states over the fields of two random-vocabulary targets.
const instants = ["2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"] as const
const eventArb: fc.Arbitrary<Event> = fc
  .record({
    purpose: fc.constantFrom("marketing", "analytics"),
    channel: fc.constantFrom(...(["email", "sms", "any"] as const)),
    status: fc.constantFrom(...(["granted", "denied", "withdrawn"] as const)),
    capturedAt: fc.constantFrom(...instants),
    source: fc.constantFrom("shop", "crm", "Salesforce", "HubSpot"),
    expires: fc.boolean(),
    pending: fc.boolean()
  })
  .map((r) =>
    ev({
      purpose: r.purpose,
      channel: r.channel,
      status: r.status,
      capturedAt: r.capturedAt,
      source: r.source,
      ...(r.expires ? { expiresAt: "2025-04-01T00:00:00Z" } : {}),
      ...(r.pending ? { doubleOptIn: { requestedAt: r.capturedAt } } : {})
    })
  )
const heldArb = fc.subarray(["withdrawn", "expired", "pending"] as const)
const mappingArb = (target: string): fc.Arbitrary<ConsentDiff.TargetMapping> =>
  fc
    .record({
      keys: fc.subarray(
        [
          { purpose: "marketing", channel: "email" as const },
          { purpose: "marketing", channel: "sms" as const },
          { purpose: "marketing", channel: "any" as const },
          { purpose: "analytics", channel: "email" as const },
          { purpose: "analytics", channel: "any" as const }
        ],
        { minLength: 1 }
      ),
      holds: heldArb
    })
    .map(({ keys, holds }) => ({
      target,
      holds,
      keys: keys.map((k) => ({ ...k, field: `${target}:${k.purpose}:${k.channel}` }))
    }))
const statusArb = fc.constantFrom(...(["granted", "denied", "withdrawn", "expired", "pending"] as const))
const knownArb = (mapping: ConsentDiff.TargetMapping) =>
  fc
    .array(fc.tuple(fc.constantFrom(...mapping.keys.map((k) => k.field), "unmapped"), statusArb))
    .map((pairs) => new Map(pairs.map(([field, status]) => [field, { status }])))
const nowArb = fc.constantFrom("2025-03-15T00:00:00Z", "2025-05-01T00:00:00Z")

describe("ConsentDiff (properties)", () => {
  it("is empty after it was applied", () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 12 }),
        nowArb,
        mappingArb("Salesforce").chain((m) => fc.tuple(fc.constant(m), knownArb(m))),
        (events, now, [mapping, known]) => {
          const states = stateOf(events, now)
          const d = ConsentDiff.diff("p", states, known, mapping)
          const after = ConsentDiff.apply(known, d)
          expect(ConsentDiff.diff("p", states, after, mapping).changes).toEqual([])
          // Every change moves a field to the profile's state as the target holds it.
          for (const c of d.changes) {
            expect(c.to).toBe(ConsentDiff.asHeld(mapping, c.field, c.because.status))
            expect(c.from).not.toBe(c.to)
          }
        }
      )
    )
  })

  it("never echoes a pulled change to its origin, and passes it on to the other target", () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 12 }),
        mappingArb("Salesforce"),
        mappingArb("HubSpot"),
        fc.nat(),
        fc.constantFrom(...(["granted", "denied", "withdrawn"] as const)),
        (events, sf, hs, pick, status) => {
          const key = hs.keys[pick % hs.keys.length]!
          // The change is newer than anything in the profile, so it becomes the effective state.
          const pulled = right(
            ConsentDiff.fromPulled("HubSpot", key.field, status, "2025-03-20T00:00:00Z", hs)
          )
          expect(pulled.source).toBe("HubSpot")
          const ledger = ConsentLedger.add(ConsentLedger.fromEvents(events), pulled)
          const states = ConsentLedger.effectiveAll(ledger, "2025-03-21T00:00:00Z")
          // Even with a stale known state (the pull not yet recorded), nothing goes back to HubSpot for it.
          const stale = new Map([
            [key.field, { status: status === "granted" ? ("denied" as const) : ("granted" as const) }]
          ])
          const back = ConsentDiff.diff("p", states, stale, hs)
          expect(back.changes.filter((c) => c.because.eventId === pulled.eventId)).toEqual([])
          // Salesforce gets it wherever it holds a key the pulled event decides.
          const out = ConsentDiff.diff("p", states, new Map(), sf)
          for (const k of sf.keys) {
            const decided =
              k.purpose === key.purpose &&
              (k.channel === key.channel || (key.channel === "any" && k.channel !== "any"))
            if (!decided) continue
            const change = out.changes.find((c) => c.field === k.field)
            expect(change?.because.eventId).toBe(pulled.eventId)
            expect(change?.to).toBe(ConsentDiff.asHeld(sf, k.field, status))
          }
        }
      )
    )
  })
})

describe("ConsentDiff both ways", () => {
  it("turns a pulled change into an event that reaches the other target only", () => {
    const shopGrant = ev({ capturedAt: "2025-01-01T00:00:00Z" })
    let ledger = ConsentLedger.fromEvents([shopGrant])
    let knownSf = ConsentDiff.apply(
      noKnown,
      ConsentDiff.diff("p", ConsentLedger.effectiveAll(ledger, NOW), noKnown, salesforce)
    )
    let knownHs = ConsentDiff.apply(
      noKnown,
      ConsentDiff.diff("p", ConsentLedger.effectiveAll(ledger, NOW), noKnown, hubspot)
    )
    expect(knownSf.get(SF_EMAIL)?.status).toBe("granted")
    expect(knownHs.get(HS_EMAIL)?.status).toBe("granted")

    // The person unsubscribes in HubSpot; the pull records what HubSpot now holds.
    const pulled = right(
      ConsentDiff.fromPulled("HubSpot", HS_EMAIL, "denied", "2025-02-01T09:30:00Z", hubspot)
    )
    expect(pulled).toMatchObject({
      purpose: "marketing",
      channel: "email",
      status: "denied",
      source: "HubSpot",
      capturedAt: "2025-02-01T09:30:00Z",
      legalBasis: "consent"
    })
    expect(pulled.record).toBeUndefined()
    ledger = ConsentLedger.add(ledger, pulled)
    knownHs = new Map([...knownHs, [HS_EMAIL, { status: "denied", at: pulled.capturedAt }]])

    const states = ConsentLedger.effectiveAll(ledger, NOW)
    expect(ConsentDiff.diff("p", states, knownHs, hubspot).changes).toEqual([])
    const toSf = ConsentDiff.diff("p", states, knownSf, salesforce)
    expect(toSf.changes).toEqual([
      {
        key: "marketing/email",
        field: SF_EMAIL,
        from: "granted",
        to: "denied",
        because: states.get("marketing/email")
      }
    ])
    knownSf = ConsentDiff.apply(knownSf, toSf)
    expect(knownSf.get(SF_EMAIL)).toEqual({
      status: "denied",
      at: pulled.capturedAt,
      eventId: pulled.eventId
    })
    expect(ConsentDiff.diff("p", states, knownSf, salesforce).changes).toEqual([])
  })

  it("tells the origin when its own grant has expired since", () => {
    // expired is ours to apply: the target cannot know our expiry rule.
    const own = ev({
      capturedAt: "2025-01-01T00:00:00Z",
      source: "HubSpot",
      expiresAt: "2025-02-01T00:00:00Z"
    })
    const known = new Map([[HS_EMAIL, { status: "granted" as const }]])
    expect(ConsentDiff.diff("p", stateOf([own]), known, hubspot).changes[0]?.to).toBe("denied")
  })

  it("refuses pulled changes it cannot place, with messages free of values", () => {
    const unknownField = ConsentDiff.fromPulled(
      "HubSpot",
      "HubSpot subscription 999",
      "granted",
      NOW,
      hubspot
    )
    expect(Either.isLeft(unknownField) && unknownField.left._tag).toBe("MappingError")
    const wrongTarget = ConsentDiff.fromPulled("Salesforce", HS_EMAIL, "granted", NOW, hubspot)
    expect(Either.isLeft(wrongTarget) && wrongTarget.left._tag).toBe("MappingError")
    const badTime = ConsentDiff.fromPulled("HubSpot", HS_EMAIL, "granted", "yesterday-ish", hubspot)
    expect(Either.isLeft(badTime) && badTime.left.message).toBe(
      'field "capturedAt" must be an ISO-8601 date-time such as 2025-05-01T10:00:00Z'
    )
  })
})

describe("ConsentDiff.reconcile", () => {
  const lastSync = "2025-01-10T00:00:00Z"
  const base = ev({ capturedAt: "2025-01-01T00:00:00Z" })
  const profileWithdrawal = ev({
    capturedAt: "2025-02-01T00:00:00Z",
    status: "withdrawn",
    source: "prefcenter"
  })
  const pulledAt = (at: string, status: ConsentEvent.Status) =>
    right(ConsentDiff.fromPulled("HubSpot", HS_EMAIL, status, at, hubspot))

  it("settles a conflict by the rule and records it: the newer target change wins", () => {
    const ledger = ConsentLedger.fromEvents([base, profileWithdrawal])
    const pulled = pulledAt("2025-02-02T00:00:00Z", "granted")
    const r = ConsentDiff.reconcile(ledger, pulled, hubspot, lastSync, NOW)
    expect(r.winner).toMatchObject({ eventId: pulled.eventId, status: "granted", source: "HubSpot" })
    expect(r.conflict).toEqual({
      key: "marketing/email",
      target: "HubSpot",
      field: HS_EMAIL,
      profileValue: ConsentLedger.effective(ledger, { purpose: "marketing", channel: "email" }, NOW),
      targetValue: { status: "granted", capturedAt: "2025-02-02T00:00:00Z", eventId: pulled.eventId },
      winner: "target"
    })
    expect(ConsentLedger.size(r.ledger)).toBe(3)
  })

  it("lets the newer profile change win, and a tie go to the stricter side", () => {
    const ledger = ConsentLedger.fromEvents([base, profileWithdrawal])
    const older = ConsentDiff.reconcile(
      ledger,
      pulledAt("2025-01-20T00:00:00Z", "granted"),
      hubspot,
      lastSync,
      NOW
    )
    expect(older.conflict?.winner).toBe("profile")
    expect(older.winner.eventId).toBe(profileWithdrawal.eventId)
    const tie = ConsentDiff.reconcile(
      ledger,
      pulledAt("2025-02-01T00:00:00Z", "granted"),
      hubspot,
      lastSync,
      NOW
    )
    expect(tie.conflict?.winner).toBe("profile")
  })

  it("records no conflict when only one side changed, or both agree", () => {
    const ledger = ConsentLedger.fromEvents([base])
    const onlyTarget = ConsentDiff.reconcile(
      ledger,
      pulledAt("2025-02-02T00:00:00Z", "denied"),
      hubspot,
      lastSync,
      NOW
    )
    expect(onlyTarget.conflict).toBeUndefined()
    expect(onlyTarget.winner.status).toBe("denied")
    const withWithdrawal = ConsentLedger.fromEvents([base, profileWithdrawal])
    // HubSpot cannot hold "withdrawn": its "denied" says the same thing.
    const agree = ConsentDiff.reconcile(
      withWithdrawal,
      pulledAt("2025-02-02T00:00:00Z", "denied"),
      hubspot,
      lastSync,
      NOW
    )
    expect(agree.conflict).toBeUndefined()
  })
})
