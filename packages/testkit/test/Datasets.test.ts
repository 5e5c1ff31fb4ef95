import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { SourceRecord } from "@living-profile/core"
import { parse } from "csv-parse/sync"
import { Either } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { pairwise } from "../src/Accuracy.js"
import {
  type DatasetName,
  datasetNames,
  datasetsDir,
  type InterchangeRecord,
  isoDate,
  type LabelledDataset,
  load
} from "../src/Datasets.js"

describe("isoDate", () => {
  it("normalises full valid dates and keeps anything else as given", () => {
    expect(isoDate("19560409")).toBe("1956-04-09")
    expect(isoDate("1956-04-09")).toBe("1956-04-09")
    expect(isoDate("20000229")).toBe("2000-02-29")
    expect(isoDate("00500101")).toBe("0050-01-01")
    expect(isoDate("19561309")).toBe("19561309")
    expect(isoDate("19000229")).toBe("19000229")
    expect(isoDate("1856-86-18")).toBe("1856-86-18")
    expect(isoDate("-0050-01-0")).toBe("-0050-01-0")
    expect(isoDate("1956-0409")).toBe("1956-0409")
  })
})

describe("datasetsDir", () => {
  afterEach(() => vi.unstubAllEnvs())

  it("prefers the override, then LIVING_PROFILE_DATASETS", () => {
    vi.stubEnv("LIVING_PROFILE_DATASETS", "/from/env")
    expect(datasetsDir("/given")).toBe("/given")
    expect(datasetsDir()).toBe("/from/env")
  })

  it("walks up from cwd to a sibling shared/datasets folder", () => {
    vi.stubEnv("LIVING_PROFILE_DATASETS", "")
    const root = mkdtempSync(path.join(tmpdir(), "datasets-dir-"))
    const cwd = process.cwd()
    try {
      const deep = path.join(root, "clone", "packages", "testkit")
      mkdirSync(deep, { recursive: true })
      mkdirSync(path.join(root, "shared", "datasets"), { recursive: true })
      process.chdir(deep)
      expect(datasetsDir()).toBe(path.join(root, "shared", "datasets"))
    } finally {
      process.chdir(cwd)
      rmSync(root, { recursive: true, force: true })
    }
  })
})

const dir = datasetsDir()
const ci = process.env["CI"] !== undefined && process.env["CI"] !== "" && process.env["CI"] !== "false"
const skip = dir === undefined && !ci
if (skip) {
  console.warn(
    "Datasets: skipping the real-data tests: no shared/datasets folder beside the repo and " +
      "LIVING_PROFILE_DATASETS is unset (in CI this fails instead)."
  )
}

// In CI a missing folder must fail the run, not quietly skip it.
const folder = (): string => {
  if (dir === undefined) {
    throw new Error(
      "datasets folder not found: set LIVING_PROFILE_DATASETS or put shared/datasets beside the clone"
    )
  }
  return dir
}

const cache = new Map<DatasetName, Promise<LabelledDataset>>()
const dataset = (name: DatasetName): Promise<LabelledDataset> => {
  let p = cache.get(name)
  if (p === undefined) {
    p = load(name, folder())
    cache.set(name, p)
  }
  return p
}

const byId = (ds: LabelledDataset, source: string, id: string): InterchangeRecord => {
  const r = ds.records.find((x) => x.source === source && x.id === id)
  if (r === undefined) throw new Error(`no record ${source}/${id}`)
  return r
}

const clusterSizes = (truth: ReadonlyMap<string, string>): Array<number> => {
  const sizes = new Map<string, number>()
  for (const e of truth.values()) sizes.set(e, (sizes.get(e) ?? 0) + 1)
  return [...sizes.values()]
}

interface Expected {
  readonly records: number
  readonly entities: number
  readonly largest: number
  readonly truePairs: number
}

// From each folder's README.
const expected: Record<DatasetName, Expected> = {
  febrl3: { records: 5_000, entities: 2_000, largest: 6, truePairs: 6_538 },
  febrl4: { records: 10_000, entities: 5_000, largest: 2, truePairs: 5_000 },
  fake_1000: { records: 1_000, entities: 251, largest: 7, truePairs: 2_031 },
  historical_50k: { records: 50_578, entities: 5_156, largest: 21, truePairs: 303_961 }
}

describe.skipIf(skip)(`labelled datasets${skip ? " (skipped: no shared/datasets folder found)" : ""}`, () => {
  describe.each(datasetNames)("%s", (name) => {
    it("has the README's record, entity and true-pair counts", async () => {
      const ds = await dataset(name)
      const want = expected[name]
      expect(ds.name).toBe(name)
      expect(ds.records.length).toBe(want.records)
      expect(ds.truth.size).toBe(want.records)
      const sizes = clusterSizes(ds.truth)
      expect(sizes.length).toBe(want.entities)
      expect(Math.max(...sizes)).toBe(want.largest)
      const self = ds.crossGroupOnly === undefined ? {} : { crossGroupOnly: ds.crossGroupOnly }
      const r = pairwise(ds.truth, ds.truth, self)
      expect(r).toMatchObject({ truePairs: want.truePairs, correctPairs: want.truePairs, f1: 1 })
    })

    it("keys the truth by core's record key and holds only valid interchange records", async () => {
      const ds = await dataset(name)
      // Collected rather than asserted per record: 50k expect calls take seconds.
      const bad = ds.records.filter(
        (r) =>
          !ds.truth.has(SourceRecord.recordKey(r)) ||
          Either.isLeft(SourceRecord.decode(r)) ||
          Object.values(r.attributes ?? {}).some((v) => v === "" || v === null) ||
          Object.values(r.identifiers ?? {}).some((vs) => vs.length === 0 || vs.includes(""))
      )
      expect(bad.map((r) => r.id).slice(0, 5)).toEqual([])
      // Compile-time check that the local type stays assignable to core's.
      const asCore: ReadonlyArray<SourceRecord.SourceRecord> = ds.records
      expect(asCore.length).toBe(ds.records.length)
    })
  })

  it("maps Febrl3 rows field by field", async () => {
    const ds = await dataset("febrl3")
    expect(ds.records[0]).toEqual({
      source: "febrl3",
      id: "rec-1496-org",
      attributes: {
        firstName: "mitchell",
        lastName: "green",
        birthDate: "1956-04-09",
        street: "7 wallaby place",
        address2: "delmar",
        city: "cleveland",
        postcode: "2119",
        state: "sa",
        socSecId: "1804974"
      }
    })
    expect(ds.truth.get(SourceRecord.recordKey({ source: "febrl3", id: "rec-1496-org" }))).toBe("1496")
    // Empty given_name and suburb are omitted, not kept as "".
    expect(byId(ds, "febrl3", "rec-1696-dup-1").attributes).not.toHaveProperty("firstName")
    expect(byId(ds, "febrl3", "rec-1213-org").attributes).not.toHaveProperty("city")
    expect(ds.crossGroupOnly).toBeUndefined()
    // Corrupted dates stay as the source wrote them.
    const raw = ds.records.map((r) => r.attributes?.["birthDate"]).filter((d) => typeof d === "string")
    expect(raw.some((d) => /^\d{8}$/.test(d))).toBe(true)
    expect(raw.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d) || isoDate(d) === d)).toBe(true)
  })

  it("maps Febrl4 A and B rows and scores only A-B pairs", async () => {
    const ds = await dataset("febrl4")
    // dataset4a.csv has CRLF line ends: the last column must not keep a "\r".
    expect(ds.records[0]).toEqual({
      source: "A",
      id: "rec-1070-org",
      attributes: {
        firstName: "michaela",
        lastName: "neumann",
        birthDate: "1915-11-11",
        street: "8 stanley street",
        address2: "miami",
        city: "winston hills",
        postcode: "4223",
        state: "nsw",
        socSecId: "5304218"
      }
    })
    const b = byId(ds, "B", "rec-561-dup-0")
    expect(b.attributes).toEqual({
      firstName: "elton",
      birthDate: "1965-10-13",
      street: "3 light setreet",
      address2: "pinehill",
      city: "windermere",
      postcode: "3212",
      state: "vic",
      socSecId: "1551941"
    })
    expect(ds.records.filter((r) => r.source === "A").length).toBe(5_000)
    expect(ds.records.filter((r) => r.source === "B").length).toBe(5_000)
    const group = ds.crossGroupOnly
    expect(group?.(SourceRecord.recordKey(b))).toBe("B")
    // Merging everything scores 5,000 x 5,000 cross pairs, not C(10,000, 2).
    const all = new Map([...ds.truth.keys()].map((k) => [k, "all"]))
    expect(pairwise(ds.truth, all, group === undefined ? {} : { crossGroupOnly: group }).predictedPairs).toBe(
      25_000_000
    )
  })

  it("maps fake_1000 rows, with email as an identifier, and agrees with the clerical labels", async () => {
    const ds = await dataset("fake_1000")
    expect(ds.records[0]).toEqual({
      source: "fake_1000",
      id: "0",
      identifiers: { email: ["robert255@smith.net"] },
      attributes: { firstName: "Robert", lastName: "Alan", birthDate: "1971-06-24" }
    })
    const labels = parse<Record<string, string>>(
      readFileSync(path.join(folder(), "splink_fake_1000", "fake_1000_labels.csv")),
      { columns: true }
    )
    expect(labels.length).toBe(3_176)
    const entity = (id: string | undefined): string | undefined =>
      ds.truth.get(SourceRecord.recordKey({ source: "fake_1000", id: id ?? "" }))
    for (const l of labels) {
      const same = entity(l["unique_id_l"]) === entity(l["unique_id_r"])
      expect(entity(l["unique_id_l"])).toBeDefined()
      expect(same).toBe(l["clerical_match_score"] === "1.0")
    }
  })

  it("maps historical_50k rows", async () => {
    const ds = await dataset("historical_50k")
    expect(ds.records[0]).toEqual({
      source: "historical_50k",
      id: "Q2296770-1",
      attributes: {
        fullName: "thomas clifford, 1st baron clifford of chudleigh",
        firstName: "thomas",
        lastName: "chudleigh",
        birthDate: "1630-08-01",
        birthPlace: "devon",
        postcode: "tq13 8df",
        gender: "male",
        occupation: "politician"
      }
    })
    expect(ds.truth.get(SourceRecord.recordKey(ds.records[0]!))).toBe("Q2296770")
    // Injected date errors such as 1856-86-18 are kept as given.
    expect(byId(ds, "historical_50k", "Q2542795-1").attributes?.["birthDate"]).toBe("-0050-01-0")
  })
})
