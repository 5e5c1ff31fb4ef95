import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SourceRecord } from "@living-profile/core"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { type SourceRecordShape, type SyntheticRecord, generate, writeNdjson } from "../src/Synthetic.js"

const take = (records: number, seed?: number): Array<SyntheticRecord> => [
  ...generate(seed === undefined ? { records } : { records, seed })
]

const sample = take(5000)

const byEntity = new Map<string, Array<SourceRecordShape>>()
for (const { record, entity } of sample) {
  const list = byEntity.get(entity)
  if (list === undefined) byEntity.set(entity, [record])
  else list.push(record)
}

const attr = (r: SourceRecordShape, key: string): string | undefined => {
  const v = r.attributes?.[key]
  return typeof v === "string" ? v : undefined
}
const ids = (r: SourceRecordShape, key: string): ReadonlyArray<string> => r.identifiers?.[key] ?? []

const fold = (s: string): string =>
  s
    .toLowerCase()
    .replace(/ı/g, "i")
    .replace(/ß/g, "ss")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
const altFold = (s: string): string =>
  fold(s.toLowerCase().replace(/ä/g, "ae").replace(/ö/g, "oe").replace(/ü/g, "ue"))

const normEmail = (e: string): string => {
  const [local = "", domain = ""] = e.toLowerCase().split("@")
  if (domain === "gmail.com" || domain === "googlemail.com")
    return `${local.split("+")[0]!.replace(/\./g, "")}@gmail.com`
  return `${local}@${domain}`
}
// The last nine digits identify a number whatever its national or international format.
const phoneKey = (p: string): string => p.replace(/\D/g, "").slice(-9)
const swapDob = (d: string): string => `${d.slice(0, 4)}-${d.slice(8)}-${d.slice(5, 7)}`

const distance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++)
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)))
    prev = cur
  }
  return prev[b.length]!
}

/** Pairs of records of the same entity. */
const pairs = function* (): Generator<[SourceRecordShape, SourceRecordShape]> {
  for (const list of byEntity.values())
    for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) yield [list[i]!, list[j]!]
}
const countPairs = (p: (a: SourceRecordShape, b: SourceRecordShape) => boolean): number => {
  let n = 0
  for (const [a, b] of pairs()) if (p(a, b) || p(b, a)) n++
  return n
}
const countRecords = (p: (r: SourceRecordShape) => boolean): number =>
  sample.filter((x) => p(x.record)).length

/** Distinct entities per key. */
const entitiesBy = (key: (r: SourceRecordShape) => ReadonlyArray<string>): Map<string, Set<string>> => {
  const m = new Map<string, Set<string>>()
  for (const { record, entity } of sample)
    for (const k of key(record)) {
      const s = m.get(k)
      if (s === undefined) m.set(k, new Set([entity]))
      else s.add(entity)
    }
  return m
}

describe("generate", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = take(400, 42)
    expect(take(400, 42)).toEqual(a)
    expect(JSON.stringify(take(400, 43))).not.toEqual(JSON.stringify(a))
    expect(take(50)).toEqual(take(50, 1))
  })

  it("stops at exactly the requested count", () => {
    for (const n of [0, 1, 2, 7, 1000, 5000]) expect(take(n, 3)).toHaveLength(n)
    expect(sample).toHaveLength(5000)
    expect(() => take(-1)).toThrow(RangeError)
    expect(() => take(Number.NaN)).toThrow(RangeError)
  })

  it("labels every record with its entity, with realistic cluster sizes", () => {
    const keys = new Set(sample.map(({ record }) => `${record.source}/${record.id}`))
    expect(keys.size).toBe(sample.length)
    for (const { entity } of sample) expect(entity).toMatch(/^e[1-9]\d*$/)
    const numbers = [...byEntity.keys()].map((e) => Number(e.slice(1)))
    // Entities are numbered without gaps, so counting them needs no set.
    expect(Math.max(...numbers)).toBe(byEntity.size)
    const sizes = [...byEntity.values()].map((l) => l.length)
    const mean = sample.length / byEntity.size
    expect(mean).toBeGreaterThan(1.5)
    expect(mean).toBeLessThan(2.1)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(6)
    for (let k = 1; k <= 6; k++) expect(sizes.filter((s) => s === k).length).toBeGreaterThan(0)
    expect(sizes.filter((s) => s === 1).length / sizes.length).toBeGreaterThan(0.4)
  })

  it("produces records the core decoder accepts", () => {
    for (const { record } of sample) expect(Either.isRight(SourceRecord.decode(record))).toBe(true)
    for (const { record } of sample) {
      expect(record.updatedAt).toMatch(/^202[345]-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      const dob = attr(record, "birthDate")
      if (dob !== undefined) expect(Number.isNaN(Date.parse(dob))).toBe(false)
    }
  })

  it("gives each source its own shape", () => {
    const has = (source: string, p: (r: SourceRecordShape) => boolean) =>
      sample.filter((x) => x.record.source === source).every((x) => p(x.record))
    expect(
      has("newsletter", (r) => ids(r, "email").length === 1 && r.attributes?.lastName === undefined)
    ).toBe(true)
    expect(has("app", (r) => ids(r, "deviceId").length === 1 && r.attributes?.birthDate === undefined)).toBe(
      true
    )
    expect(has("crm", (r) => ids(r, "crmId")[0] === r.id && attr(r, "lastName") !== undefined)).toBe(true)
    expect(has("shop", (r) => ids(r, "shopId")[0] === r.id)).toBe(true)
    expect(has("support", (r) => r.attributes?.street === undefined)).toBe(true)
    const names = sample.map((x) => `${attr(x.record, "firstName")} ${attr(x.record, "lastName")}`).join(" ")
    for (const letter of ["ı", "ş", "ğ", "İ", "ß", "ü", "ö", "ñ", "á", "é"]) expect(names).toContain(letter)
    const countries = new Set(sample.map((x) => attr(x.record, "country")).filter((c) => c !== undefined))
    expect([...countries].sort()).toEqual(["DE", "ES", "GB", "TR"])
  })

  it("attaches consents only when asked", () => {
    const consents = sample.flatMap((x) => x.record.consents ?? [])
    expect(consents.length).toBeGreaterThan(1000)
    for (const c of consents) {
      expect(["granted", "denied", "withdrawn"]).toContain(c.status)
      expect(c.legalBasis).toBe("consent")
    }
    for (const { record } of sample)
      for (const c of record.consents ?? []) {
        expect(c.source).toBe(record.source)
        expect(c.capturedAt! <= record.updatedAt).toBe(true)
      }
    expect(take(500, 1).some((x) => x.record.consents !== undefined)).toBe(true)
    expect(
      [...generate({ records: 500, consents: false })].some((x) => x.record.consents !== undefined)
    ).toBe(false)
  })

  it("uses the sources it is given", () => {
    const out = [...generate({ records: 1000, seed: 9, sources: ["erp", "webshop", "crm"] })]
    expect(new Set(out.map((x) => x.record.source))).toEqual(new Set(["erp", "webshop", "crm"]))
    for (const { record } of out) expect(Either.isRight(SourceRecord.decode(record))).toBe(true)
  })

  it("keeps every duplicate linked to its person by something a careful human would trust", () => {
    const personKey = (r: SourceRecordShape): string | undefined => {
      const f = attr(r, "firstName")
      const l = attr(r, "lastName")
      const d = attr(r, "birthDate")
      const pc = attr(r, "postcode")
      if (f === undefined || l === undefined || d === undefined || pc === undefined) return undefined
      return `${fold(f)}|${fold(l)}|${d}|${pc.replace(/\s/g, "").toUpperCase()}`
    }
    const linked = (a: SourceRecordShape, b: SourceRecordShape): boolean => {
      const ea = new Set(ids(a, "email").map(normEmail))
      if (ids(b, "email").some((e) => ea.has(normEmail(e)))) return true
      const pa = new Set(ids(a, "phone").map(phoneKey))
      if (ids(b, "phone").some((p) => pa.has(phoneKey(p)))) return true
      const sa = new Set(ids(a, "shopId"))
      if (ids(b, "shopId").some((s) => sa.has(s))) return true
      const ka = personKey(a)
      return ka !== undefined && ka === personKey(b)
    }
    let disconnected = 0
    for (const list of byEntity.values()) {
      const reached = new Set([0])
      for (let grew = true; grew; ) {
        grew = false
        for (let i = 0; i < list.length; i++)
          if (!reached.has(i))
            for (const j of reached)
              if (linked(list[i]!, list[j]!)) {
                reached.add(i)
                grew = true
                break
              }
      }
      if (reached.size !== list.length) disconnected++
    }
    expect(disconnected).toBe(0)
  })
})

describe("corruption", () => {
  it("changes case of names and e-mails", () => {
    const upper = (s: string | undefined) => s !== undefined && /\p{L}{2}/u.test(s) && s === s.toUpperCase()
    expect(countPairs((a, b) => upper(attr(a, "lastName")) && !upper(attr(b, "lastName")))).toBeGreaterThan(
      50
    )
    expect(countRecords((r) => ids(r, "email").some((e) => e !== e.toLowerCase()))).toBeGreaterThan(50)
  })

  it("varies Gmail addresses", () => {
    const gmail = (r: SourceRecordShape) => ids(r, "email").map((e) => e.toLowerCase().split("@"))
    expect(
      countRecords((r) => gmail(r).some(([l, d]) => d === "gmail.com" && l!.includes("+")))
    ).toBeGreaterThan(5)
    expect(countRecords((r) => gmail(r).some(([, d]) => d === "googlemail.com"))).toBeGreaterThan(3)
    const dots = countPairs((a, b) =>
      gmail(a).some(([la, da]) =>
        gmail(b).some(
          ([lb, db]) =>
            da === "gmail.com" &&
            db === "gmail.com" &&
            la !== lb &&
            la!.replace(/\./g, "") === lb!.replace(/\./g, "")
        )
      )
    )
    expect(dots).toBeGreaterThan(5)
  })

  it("formats one phone number several ways", () => {
    const variants = countPairs((a, b) =>
      ids(a, "phone").some((p) => ids(b, "phone").some((q) => p !== q && phoneKey(p) === phoneKey(q)))
    )
    expect(variants).toBeGreaterThan(100)
    const phones = sample.flatMap((x) => ids(x.record, "phone"))
    for (const p of phones) expect(p).toMatch(/^[+(0-9][0-9 ()/-]+$/)
    expect(phones.some((p) => p.startsWith("+90 5"))).toBe(true)
    expect(phones.some((p) => /^01[567]\d/.test(p))).toBe(true)
    expect(phones.some((p) => /^07\d{3} \d{6}$/.test(p))).toBe(true)
    expect(phones.some((p) => /^[67]\d\d \d\d \d\d \d\d$/.test(p))).toBe(true)
  })

  it("folds non-ASCII names to ASCII, both ways Germans do", () => {
    const nonAscii = /[^\u0020-\u007e]/
    const folded = (key: string) =>
      countPairs((a, b) => {
        const x = attr(a, key)
        const y = attr(b, key)
        return (
          x !== undefined && y !== undefined && nonAscii.test(x) && !nonAscii.test(y) && fold(x) === fold(y)
        )
      })
    expect(folded("lastName") + folded("firstName")).toBeGreaterThan(20)
    const ue = countPairs((a, b) => {
      const x = attr(a, "lastName")
      const y = attr(b, "lastName")
      return (
        x !== undefined &&
        y !== undefined &&
        /[äöü]/i.test(x) &&
        altFold(x) === fold(y) &&
        fold(x) !== fold(y)
      )
    })
    expect(ue).toBeGreaterThan(0)
  })

  it("makes one-character typos and swaps first and last names", () => {
    const typo = (key: string) =>
      countPairs((a, b) => {
        const x = attr(a, key)
        const y = attr(b, key)
        return (
          x !== undefined &&
          y !== undefined &&
          distance(fold(x), fold(y)) === 1 &&
          distance(altFold(x), altFold(y)) === 1
        )
      })
    expect(typo("firstName") + typo("lastName")).toBeGreaterThan(20)
    const swapped = countPairs((a, b) => {
      const [fa, la, fb, lb] = [
        attr(a, "firstName"),
        attr(a, "lastName"),
        attr(b, "firstName"),
        attr(b, "lastName")
      ]
      if (fa === undefined || la === undefined || fb === undefined || lb === undefined) return false
      return fold(fa) === fold(lb) && fold(la) === fold(fb) && fold(fa) !== fold(la)
    })
    expect(swapped).toBeGreaterThan(3)
  })

  it("swaps day and month of birth dates", () => {
    const swapped = countPairs((a, b) => {
      const x = attr(a, "birthDate")
      const y = attr(b, "birthDate")
      return x !== undefined && y !== undefined && x !== y && swapDob(x) === y
    })
    expect(swapped).toBeGreaterThan(0)
  })

  it("leaves fields out", () => {
    const crm = sample.filter((x) => x.record.source === "crm").map((x) => x.record)
    expect(crm.filter((r) => attr(r, "birthDate") === undefined).length).toBeGreaterThan(5)
    expect(crm.filter((r) => attr(r, "street") === undefined).length).toBeGreaterThan(5)
    expect(crm.filter((r) => ids(r, "email").length === 0).length).toBeGreaterThan(5)
  })

  it("abbreviates street types", () => {
    const abbreviated =
      /(str\.|Str\.| Cd\.| Cad\.| Sk\.| Sok\.| Blv\.|^C\/ |^Avda\.|^Av\. |^Pza\.| St\.?$| Rd\.?$| Ln$| Ave$)/
    expect(countRecords((r) => abbreviated.test(attr(r, "street") ?? ""))).toBeGreaterThan(200)
    const variants = countPairs((a, b) => {
      const x = attr(a, "street")
      const y = attr(b, "street")
      return x !== undefined && y !== undefined && x !== y && attr(a, "postcode") === attr(b, "postcode")
    })
    expect(variants).toBeGreaterThan(100)
  })

  it("lets people change e-mail while phone and name stay", () => {
    const users = entitiesBy((r) => ids(r, "email").map(normEmail))
    // Junk and family addresses are shared with other people: a change is between two personal ones.
    const personal = (r: SourceRecordShape) =>
      ids(r, "email")
        .map(normEmail)
        .filter((e) => users.get(e)!.size === 1)
    const changed = [...byEntity.values()].filter((list) => {
      for (const a of list)
        for (const b of list) {
          const ea = personal(a)
          const eb = personal(b)
          const samePhone = ids(a, "phone").some((p) =>
            ids(b, "phone").some((q) => phoneKey(p) === phoneKey(q))
          )
          const sameName = attr(a, "lastName") !== undefined && attr(a, "lastName") === attr(b, "lastName")
          if (ea.length > 0 && eb.length > 0 && !ea.some((e) => eb.includes(e)) && samePhone && sameName)
            return true
        }
      return false
    })
    expect(changed.length).toBeGreaterThan(5)
  })
})

describe("hard negatives", () => {
  it("has households: different people sharing surname and address", () => {
    const homes = entitiesBy((r) => {
      const l = attr(r, "lastName")
      const pc = attr(r, "postcode")
      const house = attr(r, "street")?.match(/\d+/)?.[0]
      return l !== undefined && pc !== undefined && house !== undefined
        ? [`${fold(l)}|${pc.replace(/\s/g, "").toUpperCase()}|${house}`]
        : []
    })
    const households = [...homes.values()].filter((s) => s.size >= 2)
    expect(households.length).toBeGreaterThan(20)
    // Their members never share a first name and birth date, or they would be one person.
    for (const members of households) {
      const who = new Set<string>()
      for (const e of members)
        for (const r of byEntity.get(e)!) {
          const f = attr(r, "firstName")
          const d = attr(r, "birthDate")
          if (f !== undefined && d !== undefined) who.add(`${e}:${fold(f)}|${d}`)
        }
      const owners = new Map<string, Set<string>>()
      for (const w of who) {
        const k = w.slice(w.indexOf(":") + 1)
        owners.set(k, (owners.get(k) ?? new Set()).add(w.slice(0, w.indexOf(":"))))
      }
      expect([...owners.values()].every((s) => s.size === 1)).toBe(true)
    }
    const familyMail = [...entitiesBy((r) => ids(r, "email").map(normEmail)).values()].filter((s) => {
      if (s.size < 2) return false
      const last = new Set([...s].flatMap((e) => byEntity.get(e)!.map((r) => attr(r, "lastName") ?? "")))
      return [...last]
        .filter((l) => l !== "")
        .map(fold)
        .every((l, _, all) => distance(l, all[0]!) <= 1)
    })
    expect(familyMail.length).toBeGreaterThan(5)
  })

  it("has namesakes: different people with the same name and other birth dates", () => {
    const names = entitiesBy((r) => {
      const f = attr(r, "firstName")
      const l = attr(r, "lastName")
      return f !== undefined && l !== undefined && attr(r, "birthDate") !== undefined
        ? [`${fold(f)} ${fold(l)}`]
        : []
    })
    const namesakes = [...names.values()].filter((s) => {
      if (s.size < 2) return false
      const dobs = new Set([...s].flatMap((e) => byEntity.get(e)!.map((r) => attr(r, "birthDate") ?? "")))
      return dobs.size >= 2
    })
    expect(namesakes.length).toBeGreaterThan(20)
  })

  it("has junk identifiers shared by unrelated people", () => {
    const shared = entitiesBy((r) => [...ids(r, "email").map(normEmail), ...ids(r, "phone").map(phoneKey)])
    const junk = [...shared.values()].filter((s) => {
      if (s.size < 3) return false
      const last = new Set([...s].flatMap((e) => byEntity.get(e)!.map((r) => attr(r, "lastName") ?? "")))
      return last.size >= 3
    })
    expect(junk.length).toBeGreaterThanOrEqual(2)
  })
})

describe("writeNdjson", () => {
  it("streams records and truth, byte-identical for a seed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "synthetic-"))
    try {
      const files = (n: number) => ({ out: join(dir, `r${n}.ndjson`), truth: join(dir, `t${n}.csv`) })
      const options = { records: 3000, seed: 11 }
      const first = await writeNdjson({ ...options, ...files(1) })
      await writeNdjson({ ...options, ...files(2) })
      const expected = [...generate(options)]
      expect(first).toEqual({ records: 3000, entities: new Set(expected.map((x) => x.entity)).size })

      const lines = await readFile(files(1).out, "utf8")
      expect(lines).toBe(expected.map((x) => `${JSON.stringify(x.record)}\n`).join(""))
      expect(await readFile(files(2).out, "utf8")).toBe(lines)

      const truth = await readFile(files(1).truth, "utf8")
      expect(truth).toBe(
        `source,id,entity\n${expected.map((x) => `${x.record.source},${x.record.id},${x.entity}\n`).join("")}`
      )
      expect(await readFile(files(2).truth, "utf8")).toBe(truth)

      await expect(writeNdjson({ records: 10, out: join(dir, "missing", "x.ndjson") })).rejects.toThrow()

      const only = await writeNdjson({ records: 10, out: join(dir, "only.ndjson") })
      expect(only.records).toBe(10)
      expect((await readFile(join(dir, "only.ndjson"), "utf8")).trimEnd().split("\n")).toHaveLength(10)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
