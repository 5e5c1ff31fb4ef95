import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { BlockTable, RecordIndex } from "../src/internal/blockTable.js"
import { blockingKeys, writeBlockingKeys } from "../src/internal/blocking.js"
import { Engine } from "../src/internal/engine.js"
import * as Matcher from "../src/Matcher.js"
import * as ResolverConfig from "../src/ResolverConfig.js"
import type { SourceRecord } from "../src/SourceRecord.js"

describe("RecordIndex", () => {
  it("behaves like a Map under adds and deletes, collisions and growth included", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.boolean(), fc.constantFrom("crm", "shop", "x"), fc.integer({ min: 0, max: 60 })),
          {
            maxLength: 400
          }
        ),
        (ops) => {
          const refs: Array<{ source: string; id: string }> = []
          const index = new RecordIndex(
            (r, source, id) => refs[r]!.source === source && refs[r]!.id === id,
            4
          )
          const model = new Map<string, number>()
          for (const [add, source, n] of ops) {
            const id = String(n)
            const key = `${source}\u001f${id}`
            if (add && !model.has(key)) {
              refs.push({ source, id })
              index.add(source, id, refs.length - 1)
              model.set(key, refs.length - 1)
            } else if (!add) {
              index.delete(source, id)
              model.delete(key)
            }
            for (const [k, r] of model) {
              const [s, i] = k.split("\u001f") as [string, string]
              if (index.get(s, i) !== r) return false
            }
            if (!model.has(key) && index.get(source, id) !== -1) return false
          }
          return true
        }
      ),
      { numRuns: 200 }
    )
  })
})

describe("blocking keys", () => {
  const config = ResolverConfig.make({
    extraFields: [
      {
        attribute: "nationalId",
        comparator: "exact",
        weights: { exact: 8, close: 0, fuzzy: 0, different: -4 },
        block: true
      }
    ]
  })
  const record: SourceRecord = {
    source: "crm",
    id: "1",
    identifiers: { email: ["Ana.Calvo@gmail.com"], phone: ["+34 612 34 56 78"] },
    attributes: {
      firstName: "Ana",
      lastName: "Calvo",
      birthDate: "1990-12-03",
      postcode: "28001",
      city: "Madrid",
      nationalId: "X123"
    }
  }

  it("streamed in parts, hash as the strings of those parts do", () => {
    const f = Matcher.features(record, config)
    const keys = blockingKeys(f, config)
    // As the string-building implementation produced them before keys were streamed.
    expect(keys).toEqual([
      "iemail:anacalvo@gmail.com",
      "iphone:+34612345678",
      "sC41019900312",
      "sA50019900312",
      "d19901203|28001",
      "yA500C4101990",
      "mA500C4100312",
      "pC41028001",
      "pA50028001",
      "cana|calvo|madrid",
      "x0|x123"
    ])
    const table = new BlockTable(16)
    const ids: Array<number> = []
    writeBlockingKeys(f, config, {
      begin: (tag) => {
        table.begin()
        table.code(tag)
      },
      text: (s, from, to) => table.text(s, from, to),
      end: () => {
        ids.push(table.internStreamed(ids.length))
      }
    })
    expect(ids).toEqual(keys.map((_, i) => i))
    expect(keys.map((k) => table.get(k))).toEqual(ids)
  })

  it("keep a day/month swap in the same birth-date keys", () => {
    const swapped = { ...record, attributes: { ...record.attributes, birthDate: "1990-03-12" } }
    const a = blockingKeys(Matcher.features(record, config), config)
    const b = blockingKeys(Matcher.features(swapped, config), config)
    const shared = b.filter((k) => a.includes(k))
    expect(shared).toContain("sC41019900312")
    expect(shared).toContain("mA500C4100312")
    expect(shared).not.toContain("d19901203|28001")
  })
})

describe("Engine records", () => {
  it("stores, replaces and erases records as their JSON", () => {
    const engine = new Engine(ResolverConfig.defaults)
    const a: SourceRecord = {
      source: "crm",
      id: "1",
      updatedAt: "2025-01-01T00:00:00Z",
      attributes: { firstName: "Yılmaz 𝚨 Ünal", lastName: "Øre" }
    }
    expect(engine.upsert(a)).toBe("created")
    expect(engine.upsert({ ...a })).toBe("unchanged")
    const r = engine.idOf(a)!
    expect(engine.record(r)).toEqual(a)
    const b = { ...a, updatedAt: "2025-02-01T00:00:00Z", attributes: { firstName: "Ayşe" } }
    expect(engine.upsert(b)).toBe("updated")
    expect(engine.record(r)).toEqual(b)
    expect(engine.upsert({ ...a, updatedAt: "2024-01-01T00:00:00Z" })).toBe("stale")
    engine.settle([r])
    expect(engine.remove(a)).toBe(true)
    expect(engine.isLive(r)).toBe(false)
    expect(engine.record(r)).toBeUndefined()
    expect(engine.idOf(a)).toBeUndefined()
    expect(engine.remove(a)).toBe(false)
    // A record larger than a payload chunk gets a chunk of its own.
    const big: SourceRecord = { source: "crm", id: "2", attributes: { note: "é".repeat(3_000_000) } }
    expect(engine.upsert(big)).toBe("created")
    expect(engine.record(engine.idOf(big)!)).toEqual(big)
  })
})

describe("Engine payload chunks", () => {
  it("reclaim the space of replaced and removed records", () => {
    const engine = new Engine(ResolverConfig.defaults)
    const latest = new Map<string, SourceRecord>()
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 300; i++) {
        const rec: SourceRecord = {
          source: "crm",
          id: String(i),
          updatedAt: `2025-01-01T00:00:${String(round).padStart(2, "0")}Z`,
          attributes: { firstName: `N${i}`, note: `${round}`.repeat(2000) }
        }
        engine.upsert(rec)
        latest.set(rec.id, rec)
      }
      engine.remove({ source: "crm", id: String(round) })
      latest.delete(String(round))
    }
    for (const [id, rec] of latest) expect(engine.record(engine.idOf({ source: "crm", id })!)).toEqual(rec)
    expect(engine.idOf({ source: "crm", id: "39" })).toBeUndefined()
    // ~40 MB were written in all; compaction keeps the chunks near the ~1 MB that is live.
    const chunks = (engine as unknown as { chunks: Array<Buffer> }).chunks
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBeLessThanOrEqual(3 * 4 * 1024 * 1024)
  })
})

describe("Matcher.decide", () => {
  const field = (values: ReadonlyArray<string>) => fc.constantFrom(...values)
  const features = fc.record({
    fn: field(["", "ana", "anna", "a", "john", "jon", "maria"]),
    ln: field(["", "calvo", "calvó", "smith", "smyth", "ana"]),
    dob: field(["", "19901203", "19900312", "19901204", "19911203", "20000101"]),
    street: field(["", "12 high st", "12 high street", "14 high st", "mayor 3"]),
    city: field(["", "madrid", "madrit", "london"]),
    postcode: field(["", "28001", "28002", "SW1A1AA"]),
    idMask: fc.integer({ min: 0, max: 3 })
  })
  const configs = [
    ResolverConfig.defaults,
    ResolverConfig.make({ threshold: 9, weights: { identifierConflict: 2 } }),
    ResolverConfig.make({
      threshold: 12,
      extraFields: [
        { attribute: "x", comparator: "typo", weights: { exact: 7, close: 3, fuzzy: 0, different: -2 } }
      ]
    })
  ]

  it("agrees with score on the veto and on reaching the threshold", () => {
    fc.assert(
      fc.property(features, features, fc.integer({ min: 0, max: 3 }), fc.nat(2), (a, b, shared, c) => {
        const config = configs[c]!
        const extra = config.extraFields.length > 0 ? ["k1"] : []
        const fa: Matcher.Features = { ...a, ids: [], extra }
        const fb: Matcher.Features = { ...b, ids: [], extra: config.extraFields.length > 0 ? ["k2"] : [] }
        const exact = Matcher.score(fa, fb, config, shared, { score: 0, veto: false })
        const quick = Matcher.decide(fa, fb, config, shared, { score: 0, veto: false }, config.threshold)
        expect(quick.veto).toBe(exact.veto)
        expect(quick.score >= config.threshold).toBe(exact.score >= config.threshold)
        if (exact.score >= config.threshold) expect(quick.score).toBe(exact.score)
      }),
      { numRuns: 3000 }
    )
  })
})
