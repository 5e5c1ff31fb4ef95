import { Buffer } from "node:buffer"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Engine } from "../src/internal/engine.js"
import { OVERFLOW, UNSUPPORTED, writeJson } from "../src/internal/jsonBytes.js"
import * as ResolverConfig from "../src/ResolverConfig.js"
import type { SourceRecord } from "../src/SourceRecord.js"

/** What the engine stored before: the UTF-8 of JSON.stringify. */
const reference = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), "utf8")

const written = (v: unknown, size = 1 << 16, from = 0): Buffer | number => {
  const out = Buffer.alloc(size)
  const end = writeJson(v, out, from, size)
  return end < 0 ? end : out.subarray(from, end)
}

// Every UTF-16 shape: ASCII controls and escapes, BMP, astral pairs and lone surrogates.
const text = fc.oneof(
  fc.string({ unit: "binary-ascii" }),
  fc.string({ unit: "binary" }),
  fc.string16bits(),
  fc.constantFrom("", '"', "\\", "\u2028\u2029", "\u007f", "\ud800", "\udfff", "a\ud83d", "\ud83d\ude00")
)

const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 123456789012345680000, Number.MAX_VALUE, Number.MIN_VALUE)
)

const attribute = fc.oneof(text, number, fc.boolean(), fc.constant(null), fc.constant(undefined))

const consent = fc.dictionary(
  text,
  fc.oneof(attribute, fc.array(attribute, { maxLength: 3 }), fc.dictionary(text, attribute, { maxKeys: 3 })),
  { maxKeys: 6 }
)

const record = fc.record(
  {
    source: text,
    id: text,
    updatedAt: fc.oneof(fc.constant(undefined), text),
    deleted: fc.oneof(fc.constant(undefined), fc.boolean()),
    identifiers: fc.dictionary(text, fc.array(text, { maxLength: 3 }), { maxKeys: 4 }),
    attributes: fc.dictionary(
      fc.oneof(text, fc.constantFrom("0", "1", "10", "firstName", "__proto__x")),
      attribute,
      { maxKeys: 8 }
    ),
    consents: fc.array(consent, { maxLength: 3 })
  },
  { requiredKeys: ["source", "id"] }
)

describe("writeJson", () => {
  it("writes exactly the UTF-8 of JSON.stringify for generated records", () => {
    fc.assert(
      fc.property(record, fc.integer({ min: 0, max: 40 }), (r, from) => {
        const out = written(r, 1 << 18, from)
        expect(out).toBeInstanceOf(Buffer)
        expect((out as Buffer).equals(reference(r))).toBe(true)
      }),
      { numRuns: 2000 }
    )
  })

  it("writes exactly the UTF-8 of JSON.stringify for any JSON-like value", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.unicodeJsonValue(), fc.anything({ withNullPrototype: true })),
        (v) => {
          if (v === undefined) return
          const out = written(v, 1 << 20)
          if (typeof out === "number") {
            // Only what JSON.stringify writes differently from plain data may be declined.
            expect(out).toBe(UNSUPPORTED)
            return
          }
          expect(out.equals(reference(v))).toBe(true)
        }
      ),
      { numRuns: 2000 }
    )
  })

  it("skips undefined, functions and symbols in objects and writes null for them in arrays", () => {
    const v = {
      a: undefined,
      b: () => 1,
      c: Symbol("s"),
      d: [undefined, () => 1, Symbol("t"), Number.NaN, -0]
    }
    expect((written(v) as Buffer).toString()).toBe(JSON.stringify(v))
    expect((written({ a: undefined }) as Buffer).toString()).toBe("{}")
  })

  it("never writes past its limit and reports OVERFLOW until the buffer is large enough", () => {
    fc.assert(
      fc.property(record, (r) => {
        const want = reference(r)
        for (let size = 0; size < want.length; size += 1 + (size >> 2)) {
          const out = Buffer.alloc(size + 8, 0xee)
          expect(writeJson(r, out, 0, size)).toBe(OVERFLOW)
          for (let i = size; i < out.length; i++) expect(out[i]).toBe(0xee)
        }
        expect(writeJson(r, Buffer.alloc(want.length), 0, want.length)).toBe(want.length)
      }),
      { numRuns: 200 }
    )
  })

  it("declines what JSON.stringify treats specially", () => {
    class Person {
      constructor(readonly name: string) {}
    }
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic
    for (const v of [
      { at: new Date(0) },
      { x: { toJSON: () => "y" } },
      { n: 1n },
      { p: new Person("a") },
      { s: Object("boxed") },
      cyclic,
      undefined,
      () => 1
    ]) {
      expect(written(v)).toBe(UNSUPPORTED)
    }
  })
})

describe("Engine payloads", () => {
  const config = ResolverConfig.defaults

  it("stores what JSON.stringify gives and tells unchanged from updated by it", () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), (records) => {
        const engine = new Engine(config)
        const seen = new Map<string, string>()
        for (let i = 0; i < records.length; i++) {
          const r = { ...records[i]!, source: "s", id: String(i % 7) } as unknown as SourceRecord
          const json = JSON.stringify(r)
          const before = seen.get(r.id)
          const outcome = engine.upsert(r)
          if (before === undefined) expect(outcome).toBe("created")
          else if (before === json) expect(outcome).toBe("unchanged")
          else expect(["updated", "stale"]).toContain(outcome)
          if (outcome !== "stale") seen.set(r.id, json)
          const at = engine.idOf(r)!
          expect(JSON.stringify(engine.record(at))).toBe(JSON.stringify(JSON.parse(seen.get(r.id)!)))
          expect(engine.upsert(JSON.parse(seen.get(r.id)!))).toBe("unchanged")
        }
        engine.settle([])
      }),
      { numRuns: 300 }
    )
  })

  it("keeps records larger than a chunk's free tail, and ones JSON.stringify has to write", () => {
    const engine = new Engine(config)
    const big = { source: "s", id: "big", attributes: { note: "é\u0001".repeat(300_000) } }
    const dated = { source: "s", id: "dated", attributes: { at: new Date(0) } }
    for (let i = 0; i < 2_000; i++)
      engine.upsert({ source: "s", id: `r${i}`, attributes: { n: "x".repeat(i) } })
    expect(engine.upsert(big as unknown as SourceRecord)).toBe("created")
    expect(engine.upsert(dated as unknown as SourceRecord)).toBe("created")
    expect(engine.record(engine.idOf(big)!)).toEqual(JSON.parse(JSON.stringify(big)))
    expect(engine.record(engine.idOf(dated)!)).toEqual(JSON.parse(JSON.stringify(dated)))
    expect(engine.upsert(JSON.parse(JSON.stringify(big)))).toBe("unchanged")
    expect(engine.upsert(dated as unknown as SourceRecord)).toBe("unchanged")
    for (let i = 0; i < 2_000; i += 3) {
      expect(engine.record(engine.idOf({ source: "s", id: `r${i}` })!)).toEqual({
        source: "s",
        id: `r${i}`,
        attributes: { n: "x".repeat(i) }
      })
    }
  })
})
