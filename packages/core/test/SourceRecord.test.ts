import { Either, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { SourceRecord } from "../src/index.js"

describe("SourceRecord.decodeLine", () => {
  it("decodes the interchange record of the README", () => {
    const line = JSON.stringify({
      source: "shop",
      id: "42",
      updatedAt: "2025-05-01T10:00:00Z",
      identifiers: { email: ["Ayse.Yilmaz@Gmail.com"], phone: ["0532 111 22 33"], shopId: ["C-9"] },
      attributes: { firstName: "Ayşe", lastName: "Yılmaz", country: "TR" },
      consents: [{ purpose: "marketing", channel: "email", status: "granted" }]
    })
    const r = SourceRecord.decodeLine(line)
    expect(Either.isRight(r)).toBe(true)
    if (Either.isRight(r)) {
      expect(r.right.identifiers?.["shopId"]).toEqual(["C-9"])
      expect(r.right.consents?.length).toBe(1)
    }
  })

  it("names file, line, record and field, and never the value", () => {
    const line = JSON.stringify({ source: "shop", id: "7", identifiers: { email: [12345] } })
    const r = SourceRecord.decodeLine(line, { file: "in.ndjson", line: 3 })
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left.message).toBe(
        'in.ndjson, line 3, record shop/7: field "identifiers.email.0" must be a string'
      )
      expect(r.left.message).not.toContain("12345")
    }
  })

  it("rejects a bad date, a missing source and a broken line with located errors", () => {
    const bad = (o: unknown) => SourceRecord.decodeLine(JSON.stringify(o), { line: 1 })
    const date = bad({ source: "crm", id: "1", updatedAt: "last tuesday" })
    expect(Either.isLeft(date) && date.left.field).toBe("updatedAt")
    const missing = bad({ id: "1" })
    expect(Either.isLeft(missing) && missing.left.message).toBe('line 1: field "source" is required')
    const broken = SourceRecord.decodeLine("{not json", { file: "f", line: 2 })
    expect(Either.isLeft(broken) && broken.left.message).toBe('f, line 2: field "(line)" is not valid JSON')
    const array = SourceRecord.decode([1, 2])
    expect(Either.isLeft(array) && array.left.problem).toBe("must be a JSON object")
  })
})

describe("SourceRecord.isWellFormed (the fast path of decode)", () => {
  const value = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(fc.string(), { maxLength: 2 })
  )
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined })
  const recordish = fc
    .record(
      {
        source: fc.oneof(fc.constantFrom("crm", "shop", ""), value),
        id: fc.oneof(fc.constantFrom("1", "x-2"), value),
        updatedAt: maybe(
          fc.oneof(fc.constantFrom("2025-05-01T10:00:00Z", "2025-13-45", "2025-05-01", "yesterday"), value)
        ),
        deleted: maybe(value),
        identifiers: maybe(
          fc.oneof(
            fc.dictionary(
              fc.constantFrom("email", "phone", "shopId"),
              fc.oneof(fc.array(fc.string(), { maxLength: 2 }), value)
            ),
            value
          )
        ),
        attributes: maybe(fc.oneof(fc.dictionary(fc.constantFrom("firstName", "city"), value), value)),
        consents: maybe(
          fc.oneof(fc.array(fc.oneof(fc.dictionary(fc.string(), value), value), { maxLength: 2 }), value)
        ),
        extra: maybe(value)
      },
      { requiredKeys: [] }
    )
    .map((o) =>
      Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined || Math.random() < 0.1))
    )

  it("accepts only what the schema accepts, unchanged", () => {
    fc.assert(
      fc.property(recordish, (o) => {
        if (!SourceRecord.isWellFormed(o)) return
        const viaSchema = Schema.decodeUnknownEither(SourceRecord.SourceRecord, {
          onExcessProperty: "ignore"
        })(o)
        expect(Either.isRight(viaSchema)).toBe(true)
        if (Either.isRight(viaSchema)) expect(viaSchema.right).toEqual(o)
      }),
      { numRuns: 2000 }
    )
  })

  it("takes the fast path for ordinary records and leaves errors to the schema", () => {
    expect(
      SourceRecord.isWellFormed({
        source: "shop",
        id: "1",
        attributes: { firstName: "A", age: 3, vip: true, x: null }
      })
    ).toBe(true)
    expect(SourceRecord.isWellFormed({ source: "shop", id: "1", unknown: 1 })).toBe(false)
    expect(SourceRecord.isWellFormed({ source: "shop", id: "1", updatedAt: undefined })).toBe(false)
    const r = SourceRecord.decode({ source: "shop", id: "1", updatedAt: "2025-02-30T00:00:00Z" })
    expect(Either.isRight(r) || (Either.isLeft(r) && r.left.field === "updatedAt")).toBe(true)
  })
})
