import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ConsentEvent from "../src/ConsentEvent.js"
import * as SourceRecord from "../src/SourceRecord.js"

const grant = {
  purpose: "marketing",
  channel: "email",
  status: "granted",
  legalBasis: "consent",
  capturedAt: "2025-05-01T10:00:00Z",
  source: "shop"
} as const

const left = <A, E>(r: Either.Either<A, E>): E => {
  if (Either.isRight(r)) throw new Error("expected a failure")
  return r.left
}

const right = <A, E>(r: Either.Either<A, E>): A => {
  if (Either.isLeft(r)) throw new Error(`expected a success: ${String(r.left)}`)
  return r.right
}

describe("ConsentEvent.decode", () => {
  it("fills in the kind and derives a deterministic id", () => {
    const e = right(ConsentEvent.decode(grant))
    expect(e.kind).toBe("consent")
    expect(e.eventId).toMatch(/^[0-9a-f]{64}$/)
    // The same event arriving twice, with its keys in another order, is the same event.
    const reversed = Object.fromEntries(
      Object.entries({ ...grant, capturedAt: "2025-05-01T10:00:00.000Z" }).reverse()
    )
    const reordered = right(ConsentEvent.decode(reversed))
    expect(reordered.eventId).toBe(e.eventId)
    expect(right(ConsentEvent.decode({ ...grant, status: "denied" })).eventId).not.toBe(e.eventId)
  })

  it("keeps proof out of the id and keeps a given id", () => {
    const e = right(ConsentEvent.decode(grant))
    const withProof = right(
      ConsentEvent.decode({ ...grant, proof: { userAgent: "Mozilla/5.0", ipHash: "k:1f" } })
    )
    expect(withProof.eventId).toBe(e.eventId)
    expect(withProof.proof).toEqual({ userAgent: "Mozilla/5.0", ipHash: "k:1f" })
    expect(right(ConsentEvent.decode({ ...grant, eventId: "shop-evt-1" })).eventId).toBe("shop-evt-1")
  })

  it("distinguishes the same choice on two records (a split keeps each with its record)", () => {
    const a = right(ConsentEvent.decode({ ...grant, record: { source: "shop", id: "1" } }))
    const b = right(ConsentEvent.decode({ ...grant, record: { source: "shop", id: "2" } }))
    expect(a.eventId).not.toBe(b.eventId)
  })

  it("encodes the GDPR flags as events with defaults", () => {
    const r = right(
      ConsentEvent.decode({ kind: "restriction", status: "granted", capturedAt: "2025-05-01", source: "dsr" })
    )
    expect(r).toMatchObject({
      kind: "restriction",
      purpose: "*",
      channel: "any",
      legalBasis: "legal_obligation"
    })
    const o = right(
      ConsentEvent.decode({
        kind: "objection",
        purpose: "profiling",
        status: "withdrawn",
        capturedAt: "2025-05-01",
        source: "dsr"
      })
    )
    expect(o).toMatchObject({ kind: "objection", purpose: "profiling", channel: "any", status: "withdrawn" })
  })

  it("refuses flags that do not follow the encoding", () => {
    const flag = { status: "granted", capturedAt: "2025-05-01", source: "dsr" }
    expect(left(ConsentEvent.decode({ ...flag, kind: "objection" })).field).toBe("purpose")
    expect(left(ConsentEvent.decode({ ...flag, kind: "restriction", purpose: "marketing" })).field).toBe(
      "purpose"
    )
    expect(left(ConsentEvent.decode({ ...flag, kind: "restriction", channel: "email" })).field).toBe(
      "channel"
    )
    expect(left(ConsentEvent.decode({ ...flag, kind: "erasureRequested", status: "denied" })).field).toBe(
      "status"
    )
    expect(
      left(ConsentEvent.decode({ ...flag, kind: "noAutomatedDecisions", expiresAt: "2026-01-01" })).field
    ).toBe("expiresAt")
  })

  it("requires purpose, channel and legal basis on a consent event", () => {
    const { legalBasis: _, ...noBasis } = grant
    expect(left(ConsentEvent.decode(noBasis)).message).toBe('field "legalBasis" is required')
    const { channel: __, ...noChannel } = grant
    expect(left(ConsentEvent.decode(noChannel)).field).toBe("channel")
  })
})

describe("ConsentEvent located errors", () => {
  it("name the field and index, never the value", () => {
    const events = [
      grant,
      grant,
      { ...grant, capturedAt: "last tuesday at 5" },
      { ...grant, channel: "carrier-pigeon" }
    ]
    const errors = left(ConsentEvent.decodeAll(events, { file: "consents.ndjson", line: 7 }))
    expect(errors.map((e) => [e.index, e.field])).toEqual([
      [2, "consents.2.capturedAt"],
      [3, "consents.3.channel"]
    ])
    expect(errors[0]!.message).toBe(
      'consents.ndjson, line 7: field "consents.2.capturedAt" must be an ISO-8601 date-time such as 2025-05-01T10:00:00Z'
    )
    expect(errors[0]!.message).not.toContain("last tuesday")
    expect(errors[1]!.message).toContain("must be one of email, sms, phone, post, push, web, any")
    expect(errors[1]!.message).not.toContain("carrier-pigeon")
  })

  it("never contain the value, whatever is wrong (property)", () => {
    // Fields with a closed vocabulary or a format take the secret as it is; free strings take it wrapped.
    const closed = ["channel", "status", "legalBasis", "capturedAt", "kind", "expiresAt"] as const
    const free = ["purpose", "source", "eventId", "policyVersion"] as const
    fc.assert(
      fc.property(
        fc.constantFrom(...closed, ...free),
        fc.string({ minLength: 1 }).map((s) => `SECRET${s}`),
        (field, secret) => {
          const bad = (free as ReadonlyArray<string>).includes(field) ? { value: secret } : secret
          const r = ConsentEvent.decode({ ...grant, [field]: bad }, { path: "consents.0" })
          expect(Either.isLeft(r)).toBe(true)
          const e = left(r)
          expect(e.field).toBe(`consents.0.${field}`)
          expect(e.message).not.toContain("SECRET")
        }
      )
    )
  })

  it("reject a non-object and a doubleOptIn of the wrong shape", () => {
    expect(left(ConsentEvent.decode("granted", { path: "consents.4" })).message).toBe(
      'field "consents.4" must be a JSON object'
    )
    expect(left(ConsentEvent.decode({ ...grant, doubleOptIn: { confirmedAt: "2025-05-01" } })).field).toBe(
      "doubleOptIn.requestedAt"
    )
  })
})

describe("ConsentEvent.fromRecordConsents", () => {
  const record = (consents: ReadonlyArray<Record<string, unknown>>) =>
    right(SourceRecord.decode({ source: "shop", id: "42", consents }))

  it("attaches the events to the record and defaults their source to the record's", () => {
    const { source: _, ...noSource } = grant
    const events = right(
      ConsentEvent.fromRecordConsents(record([noSource, { ...grant, source: "prefcenter" }]))
    )
    expect(events.map((e) => e.source)).toEqual(["shop", "prefcenter"])
    expect(events.every((e) => e.record?.source === "shop" && e.record.id === "42")).toBe(true)
  })

  it("requires capturedAt and names the record in errors", () => {
    const { capturedAt: _, ...undated } = grant
    const errors = left(
      ConsentEvent.fromRecordConsents(record([grant, undated]), { file: "in.ndjson", line: 3 })
    )
    expect(errors).toHaveLength(1)
    expect(errors[0]!.message).toBe(
      'in.ndjson, line 3, record shop/42: field "consents.1.capturedAt" is required'
    )
  })
})

describe("ConsentEvent.toMillis", () => {
  it("agrees with Date.parse on ISO instants (property)", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("0100-01-01T00:00:00Z"),
          max: new Date("9999-12-31T23:59:59Z"),
          noInvalidDate: true
        }),
        (d) => {
          const s = d.toISOString()
          expect(ConsentEvent.toMillis(s)).toBe(Date.parse(s))
          expect(ConsentEvent.toMillis(s.replace(".000Z", "Z"))).toBe(Date.parse(s.replace(".000Z", "Z")))
        }
      )
    )
  })

  it("reads offsets, fractions and offset-less date-times (as UTC)", () => {
    expect(ConsentEvent.toMillis("2025-05-01T12:00:00+02:00")).toBe(Date.parse("2025-05-01T10:00:00Z"))
    expect(ConsentEvent.toMillis("2025-05-01T10:00:00.123456Z")).toBe(Date.parse("2025-05-01T10:00:00.123Z"))
    expect(ConsentEvent.toMillis("2025-05-01T10:00:00")).toBe(Date.parse("2025-05-01T10:00:00Z"))
    expect(ConsentEvent.toMillis("2025-05-01 10:00")).toBe(Date.parse("2025-05-01T10:00:00Z"))
    expect(ConsentEvent.toMillis("2025-05-01")).toBe(Date.parse("2025-05-01T00:00:00Z"))
    expect(ConsentEvent.toMillis("2024-02-29T00:00:00Z")).toBe(Date.parse("2024-02-29T00:00:00Z"))
  })
})

describe("ConsentEvent.canonicalJson", () => {
  it("sorts keys at every depth and leaves out undefined", () => {
    expect(ConsentEvent.canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: "é" }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"x":"é","z":1}]},"b":1}'
    )
  })
})

describe("isWellFormedConsent (the fast path of checkRecord)", () => {
  const v = fc.oneof(
    fc.string({ maxLength: 3 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined)
  )
  const pick = <T>(xs: ReadonlyArray<T>) => fc.oneof(fc.constantFrom(...xs), v)
  const when = fc.constantFrom("2025-05-01T10:00:00Z", "2025-05-01", "2025-02-30T00:00:00Z", "soon")
  const entry = fc.record(
    {
      kind: pick(["consent", "restriction", "objection"]),
      purpose: pick(["marketing", ""]),
      channel: pick(["email", "any", "fax"]),
      status: pick(["granted", "denied", "withdrawn", "maybe"]),
      legalBasis: pick(["consent", "contract", "whim"]),
      capturedAt: fc.oneof(when, v),
      source: pick(["web", ""]),
      policyVersion: pick(["v1", ""]),
      expiresAt: fc.oneof(when, v),
      doubleOptIn: fc.oneof(
        fc.record({ requestedAt: fc.oneof(when, v), confirmedAt: fc.oneof(when, v) }, { requiredKeys: [] }),
        v
      ),
      proof: fc.oneof(fc.record({ formId: v, userAgent: v }, { requiredKeys: [] }), v),
      eventId: pick(["e-1", ""])
    },
    { requiredKeys: [] }
  )

  it("accepts only entries that decode", () => {
    fc.assert(
      fc.property(entry, (c) => {
        if (!ConsentEvent.isWellFormedConsent(c)) return
        expect(Either.isRight(ConsentEvent.decode({ source: "x", ...c }))).toBe(true)
      }),
      { numRuns: 3000 }
    )
  })

  it("accepts the ordinary shape, so ingestion skips the schema for it", () => {
    expect(
      ConsentEvent.isWellFormedConsent({
        purpose: "marketing",
        channel: "email",
        status: "granted",
        capturedAt: "2025-05-01T10:00:00Z",
        legalBasis: "consent",
        source: "web-form"
      })
    ).toBe(true)
  })
})
