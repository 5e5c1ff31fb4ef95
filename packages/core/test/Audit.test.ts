import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Audit from "../src/Audit.js"
import * as ConsentEvent from "../src/ConsentEvent.js"

const event = ConsentEvent.make({
  purpose: "marketing",
  channel: "email",
  status: "granted",
  legalBasis: "consent",
  capturedAt: "2025-05-01T10:00:00Z",
  source: "shop",
  policyVersion: "privacy-2025-03",
  proof: { formId: "newsletter-footer", userAgent: "Mozilla/5.0 (X11)", ipHash: "hmac:9f2c" },
  record: { source: "shop", id: "42" }
})

const inputs: ReadonlyArray<Audit.AuditInput> = [
  Audit.ofEvent(event, "p1", "2025-05-01T10:00:01Z", "ingest"),
  {
    at: "2025-05-02T08:00:00Z",
    kind: "request",
    profileId: "p2",
    actor: "dpo@example.org",
    source: "dsr-portal",
    detail: { request: "access", ticket: "DSR-17" }
  },
  {
    at: "2025-05-02T08:05:00Z",
    kind: "propagation",
    profileId: "p1",
    actor: "sync",
    source: "living-profile",
    policyVersion: "privacy-2025-03",
    detail: {
      target: "Salesforce",
      field: "ContactPointTypeConsent:Marketing:Email",
      outcome: "acknowledged"
    }
  },
  {
    at: "2025-05-03T00:00:00Z",
    kind: "request",
    profileId: "p1",
    actor: "dpo@example.org",
    source: "dsr-portal",
    detail: { request: "restriction" }
  }
]

const logOf = (xs: ReadonlyArray<Audit.AuditInput>): ReadonlyArray<Audit.AuditEntry> => {
  const log = new Audit.AuditLog()
  for (const x of xs) log.append(x)
  return log.entries
}

describe("Audit log", () => {
  it("chains entries from a genesis of 64 zeros and verifies an untouched chain", () => {
    const entries = logOf(inputs)
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(entries[0]!.prevHash).toBe("0".repeat(64))
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash)
    expect(entries[0]!.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(Audit.verify(entries)).toEqual({ ok: true })
    expect(Audit.verify([])).toEqual({ ok: true })
    // The same inputs give the same chain: the log has no clock and no randomness.
    expect(logOf(inputs)).toEqual(entries)
  })

  it("detects a changed entry", () => {
    const entries = [...logOf(inputs)]
    entries[1] = { ...entries[1]!, detail: { request: "erasure", ticket: "DSR-17" } }
    expect(Audit.verify(entries)).toEqual({ ok: false, at: 2, problem: "changed" })
  })

  it("detects a changed entry whose hash was recomputed, through its successor", () => {
    const entries = [...logOf(inputs)]
    const forged = Audit.next(entries[0], { ...inputs[1]!, actor: "someone-else" })
    entries[1] = forged
    expect(Audit.verify(entries)).toEqual({ ok: false, at: 2, problem: "changed" })
  })

  it("detects a removed entry", () => {
    const entries = logOf(inputs)
    expect(Audit.verify([entries[0]!, entries[2]!, entries[3]!])).toEqual({
      ok: false,
      at: 2,
      problem: "removed"
    })
    expect(Audit.verify(entries.slice(1))).toEqual({ ok: false, at: 1, problem: "removed" })
  })

  it("detects a reordered entry", () => {
    const [a, b, c, d] = logOf(inputs) as [
      Audit.AuditEntry,
      Audit.AuditEntry,
      Audit.AuditEntry,
      Audit.AuditEntry
    ]
    expect(Audit.verify([a, c, b, d])).toEqual({ ok: false, at: 2, problem: "reordered" })
    expect(Audit.verify([b, a, c, d])).toEqual({ ok: false, at: 1, problem: "reordered" })
    expect(Audit.verify([a, b, c, b])).toEqual({ ok: false, at: 4, problem: "reordered" })
  })

  it("detects a cut-off tail only against an anchor", () => {
    const entries = logOf(inputs)
    const last = entries[3]!
    expect(Audit.verify(entries.slice(0, 3))).toEqual({ ok: true })
    expect(Audit.verify(entries.slice(0, 3), { seq: last.seq, hash: last.hash })).toEqual({
      ok: false,
      at: 4,
      problem: "removed"
    })
    expect(Audit.verify(entries, { seq: last.seq, hash: last.hash })).toEqual({ ok: true })
  })

  it("detects any single change to any field of any entry (property)", () => {
    const inputArb: fc.Arbitrary<Audit.AuditInput> = fc.record({
      at: fc.constantFrom("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"),
      kind: fc.constantFrom(...(["consent", "request", "propagation"] as const)),
      profileId: fc.constantFrom("p1", "p2"),
      actor: fc.string(),
      source: fc.string(),
      detail: fc.jsonValue() as fc.Arbitrary<Audit.Json>
    })
    const fields = [
      "seq",
      "at",
      "kind",
      "profileId",
      "actor",
      "source",
      "detail",
      "prevHash",
      "policyVersion"
    ] as const
    fc.assert(
      fc.property(
        fc.array(inputArb, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.constantFrom(...fields),
        (xs, i, field) => {
          const entries = [...logOf(xs)]
          const at = i % entries.length
          const original = entries[at]!
          const value = field === "seq" ? original.seq + 1 : `${String(original[field])}!`
          entries[at] = { ...original, [field]: value }
          const r = Audit.verify(entries)
          expect(r.ok).toBe(false)
        }
      )
    )
  })

  it("finds a profile's entries", () => {
    const entries = logOf(inputs)
    expect(Audit.forProfile(entries, "p1").map((e) => e.seq)).toEqual([1, 3, 4])
    expect(Audit.forProfile(entries, "nobody")).toEqual([])
  })

  it("records a consent event by ids and codes, never its proof", () => {
    const entry = logOf(inputs)[0]!
    expect(entry).toMatchObject({
      kind: "consent",
      profileId: "p1",
      source: "shop",
      policyVersion: "privacy-2025-03"
    })
    expect(entry.detail).toEqual({
      eventId: event.eventId,
      kind: "consent",
      purpose: "marketing",
      channel: "email",
      status: "granted",
      legalBasis: "consent",
      capturedAt: "2025-05-01T10:00:00Z",
      record: { source: "shop", id: "42" }
    })
    const text = JSON.stringify(entry)
    expect(text).not.toContain("Mozilla")
    expect(text).not.toContain("hmac:9f2c")
    expect(text).not.toContain("newsletter-footer")
  })
})

describe("Audit.receipt", () => {
  it("gives a Kantara-style receipt with a derived id and no proof", () => {
    const r = Audit.receipt(event, "p1", { jurisdiction: "EU" })
    expect(r).toEqual({
      version: "KI-CR-v1.1.0",
      jurisdiction: "EU",
      consentTimestamp: Date.parse("2025-05-01T10:00:00Z") / 1000,
      collectionMethod: "shop",
      piiPrincipalId: "p1",
      eventId: event.eventId,
      purposes: [
        {
          purpose: "marketing",
          channel: "email",
          status: "granted",
          legalBasis: "consent",
          policyVersion: "privacy-2025-03"
        }
      ],
      receiptId: r.receiptId
    })
    expect(r.receiptId).toMatch(/^[0-9a-f]{64}$/)
    expect(Audit.receipt(event, "p1", { jurisdiction: "EU" }).receiptId).toBe(r.receiptId)
    expect(Audit.receipt(event, "p2").receiptId).not.toBe(r.receiptId)
    expect(JSON.stringify(r)).not.toContain("Mozilla")
  })

  it("marks flag events with their kind", () => {
    const objection = ConsentEvent.make({
      kind: "objection",
      purpose: "profiling",
      status: "granted",
      capturedAt: "2025-05-01",
      source: "dsr-portal"
    })
    expect(Audit.receipt(objection, "p1").purposes).toEqual([
      {
        purpose: "profiling",
        channel: "any",
        status: "granted",
        legalBasis: "legal_obligation",
        kind: "objection"
      }
    ])
  })
})
