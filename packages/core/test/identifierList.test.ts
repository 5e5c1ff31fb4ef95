import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Engine } from "../src/internal/engine.js"
import * as Matcher from "../src/Matcher.js"
import * as Normalize from "../src/Normalize.js"
import * as ResolverConfig from "../src/ResolverConfig.js"
import type { SourceRecord } from "../src/SourceRecord.js"

const text = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "")

/** `identifierKeys` as it was written before identifiers were collected as (type, value) pairs. */
const joinedKeys = (record: SourceRecord, config: ResolverConfig.ResolverConfig): Array<string> => {
  const a = record.attributes ?? {}
  const country = text(a["country"]).toUpperCase()
  const region = country.length === 2 ? country : config.defaultRegion
  const ids: Array<string> = []
  for (const attribute of config.identifierAttributes) {
    const v = text(a[attribute]).trim()
    if (v !== "") ids.push(`${attribute}:${v}`)
  }
  for (const type in record.identifiers ?? {}) {
    for (const raw of record.identifiers![type]!) {
      let v: string | undefined
      if (type === "email") v = Normalize.email(raw, config.email)
      else if (type === "phone") v = Normalize.phone(raw, region)
      else {
        v = raw.trim()
        if (v === "") v = undefined
      }
      if (v !== undefined && !ids.includes(`${type}:${v}`)) ids.push(`${type}:${v}`)
    }
  }
  return ids
}

// Types and values that join into the same `type:value` in different ways ("a:b" + "c", "a" + "b:c").
const part = fc.constantFrom(
  "a",
  "a:b",
  "b:c",
  "c",
  "b",
  "email",
  "email:x",
  "phone",
  "phone:",
  ":",
  "",
  " c "
)
const value = fc.oneof(
  part,
  fc.constantFrom("Ana.Calvo@gmail.com", "anacalvo@gmail.com", "+34 612 34 56 78", "612345678", "x")
)

const record = fc.record({
  identifiers: fc.dictionary(part, fc.array(value, { maxLength: 4 }), { maxKeys: 6 }),
  attributes: fc.record({ a: value, "a:b": value, city: value, country: fc.constantFrom("ES", "es", "") })
})

const configs = [
  ResolverConfig.defaults,
  ResolverConfig.make({ identifierAttributes: ["a", "a:b", "city"], linkingIdentifiers: ["a", "email", "c"] })
]

describe("identifier lists", () => {
  it("hold exactly the joined identifier keys, in order, with the same type masks and linking", () => {
    fc.assert(
      fc.property(record, fc.constantFrom(...configs), (r, config) => {
        const rec = { source: "s", id: "1", ...r } as SourceRecord
        const want = joinedKeys(rec, config)
        expect(Matcher.identifierKeys(rec, config)).toEqual(want)
        const list = Matcher.collectIdentifiers(rec, config, Matcher.identifierList())
        const joined = list.types.slice(0, list.count).map((t, i) => `${t}:${list.values[i]}`)
        expect(joined).toEqual(want)
        for (let i = 0; i < list.count; i++) {
          const t = list.types[i]!
          expect(Matcher.maskOfType(t)).toBe(Matcher.maskOfId(joined[i]!))
          expect(Matcher.isLinkingIdType(config, t)).toBe(Matcher.isLinkingType(config, joined[i]!))
        }
        const f = Matcher.featuresOfList(rec, config, Matcher.identifierList())
        const g = Matcher.features(rec, config)
        expect({ ...f, ids: g.ids }).toEqual(g)
        expect(f.ids).toEqual([])
      }),
      { numRuns: 1000 }
    )
  })

  it("give the engine the identifier blocks the joined keys name", () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...configs),
        (rs, config) => {
          const engine = new Engine(config)
          const recs = rs.map((r, i) => ({ source: "s", id: String(i), ...r }) as SourceRecord)
          for (const r of recs) engine.upsert(r)
          engine.settle(recs.map((_, i) => i))
          const holders = new Map<string, Array<number>>()
          recs.forEach((r, i) => {
            for (const k of joinedKeys(r, config)) holders.set(k, [...(holders.get(k) ?? []), i])
          })
          for (const [k, rs2] of holders) expect(engine.identifierHolders(k).sort()).toEqual(rs2)
        }
      ),
      { numRuns: 300 }
    )
  })
})
