import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type PairwiseAccuracy, pairwise } from "../src/Accuracy.js"

const clusters = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries))

describe("pairwise", () => {
  it("scores a partly right clustering", () => {
    const truth = clusters({ a: "E1", b: "E1", c: "E1", d: "E2", e: "E2", f: "E3" })
    const predicted = clusters({ a: "P1", b: "P1", c: "P2", d: "P2", e: "P2", f: "P3" })
    // true: ab ac bc de = 4; predicted: ab cd ce de = 4; both: ab de = 2
    expect(pairwise(truth, predicted)).toEqual({
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
      truePairs: 4,
      predictedPairs: 4,
      correctPairs: 2,
      records: 6
    })
  })

  it("ignores what the cluster ids are called", () => {
    const truth = clusters({ a: "x", b: "x", c: "y" })
    const predicted = clusters({ a: "y", b: "y", c: "x" })
    expect(pairwise(truth, predicted)).toMatchObject({ precision: 1, recall: 1, f1: 1, correctPairs: 1 })
  })

  it("treats a record missing from one side as a singleton there", () => {
    // x is only in the truth, y only in the prediction.
    const truth = clusters({ a: "E", b: "E", x: "E" })
    const predicted = clusters({ a: "P", b: "P", y: "P" })
    // true: ab ax bx = 3; predicted: ab ay by = 3; both: ab = 1
    const r = pairwise(truth, predicted)
    expect(r).toMatchObject({ truePairs: 3, predictedPairs: 3, correctPairs: 1, records: 4 })
    expect(r.precision).toBeCloseTo(1 / 3, 12)
    expect(r.recall).toBeCloseTo(1 / 3, 12)
  })

  it("defines the degenerate ratios", () => {
    expect(pairwise(new Map(), new Map())).toEqual({
      precision: 1,
      recall: 1,
      f1: 1,
      truePairs: 0,
      predictedPairs: 0,
      correctPairs: 0,
      records: 0
    })
    const singletons = clusters({ a: "1", b: "2", c: "3" })
    const oneBlob = clusters({ a: "P", b: "P", c: "P" })
    // Nothing to find, three wrong merges: recall is vacuously 1, precision 0.
    expect(pairwise(singletons, oneBlob)).toMatchObject({ precision: 0, recall: 1, f1: 0 })
    expect(pairwise(oneBlob, singletons)).toMatchObject({ precision: 1, recall: 0, f1: 0 })
    const split = clusters({ a: "E", b: "E", c: "F", d: "F" })
    const crossed = clusters({ a: "P", c: "P", b: "Q", d: "Q" })
    expect(pairwise(split, crossed)).toMatchObject({ precision: 0, recall: 0, f1: 0 })
  })

  it("counts only cross-group pairs when asked (Febrl4-style A-B linkage)", () => {
    const truth = clusters({ "A:1": "e1", "B:1": "e1", "A:2": "e2", "B:2": "e2", "A:3": "e3", "B:3": "e3" })
    const predicted = clusters({
      "A:1": "c1",
      "A:2": "c1",
      "B:1": "c1",
      "A:3": "c2",
      "B:3": "c2",
      "B:2": "c2"
    })
    const source = (key: string): string => key.slice(0, 1)
    // cross pairs: true A1B1 A2B2 A3B3 = 3; predicted A1B1 A2B1 A3B3 A3B2 = 4; both A1B1 A3B3 = 2
    const r = pairwise(truth, predicted, { crossGroupOnly: source })
    expect(r).toMatchObject({ truePairs: 3, predictedPairs: 4, correctPairs: 2, records: 6, precision: 0.5 })
    expect(r.recall).toBeCloseTo(2 / 3, 12)
    expect(r.f1).toBeCloseTo(4 / 7, 12)
    // Without the option the same-source pairs A1A2 and B2B3 count as predicted pairs too.
    expect(pairwise(truth, predicted)).toMatchObject({ truePairs: 3, predictedPairs: 6, correctPairs: 2 })
  })

  it("counts a million records with a million-record cluster without enumerating pairs", () => {
    const n = 1_000_000
    const truth = new Map<string, string>()
    const predicted = new Map<string, string>()
    for (let i = 0; i < n; i++) {
      truth.set(`r${i}`, "one")
      predicted.set(`r${i}`, `p${i % 1000}`)
    }
    const r = pairwise(truth, predicted)
    expect(r.truePairs).toBe((n * (n - 1)) / 2)
    expect(r.predictedPairs).toBe(1000 * ((1000 * 999) / 2))
    expect(r.correctPairs).toBe(r.predictedPairs)
    expect(r.precision).toBe(1)
  })
})

// The definition itself: look at every pair of records.
const bruteForce = (
  truth: ReadonlyMap<string, string>,
  predicted: ReadonlyMap<string, string>,
  group?: (key: string) => string
): PairwiseAccuracy => {
  const keys = [...new Set([...truth.keys(), ...predicted.keys()])]
  let truePairs = 0
  let predictedPairs = 0
  let correctPairs = 0
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      const a = keys[i]!
      const b = keys[j]!
      if (group !== undefined && group(a) === group(b)) continue
      const sameTruth = truth.has(a) && truth.get(a) === truth.get(b)
      const samePredicted = predicted.has(a) && predicted.get(a) === predicted.get(b)
      if (sameTruth) truePairs++
      if (samePredicted) predictedPairs++
      if (sameTruth && samePredicted) correctPairs++
    }
  }
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
  return { precision, recall, f1, truePairs, predictedPairs, correctPairs, records: keys.length }
}

const recordArb = fc.record({
  truth: fc.option(fc.constantFrom("t1", "t2", "t3", "t4"), { nil: undefined }),
  predicted: fc.option(fc.constantFrom("p1", "p2", "p3"), { nil: undefined }),
  group: fc.constantFrom("A", "B", "C")
})

const clusteringArb = fc.array(recordArb, { maxLength: 14 }).map((rows) => {
  const truth = new Map<string, string>()
  const predicted = new Map<string, string>()
  const groups = new Map<string, string>()
  rows.forEach((row, i) => {
    const key = `k${i}`
    groups.set(key, row.group)
    if (row.truth !== undefined) truth.set(key, row.truth)
    if (row.predicted !== undefined) predicted.set(key, row.predicted)
  })
  return { truth, predicted, group: (key: string): string => groups.get(key) ?? "?" }
})

describe("pairwise agrees with brute-force pair enumeration", () => {
  it("on random clusterings", () => {
    fc.assert(
      fc.property(clusteringArb, ({ truth, predicted }) => {
        expect(pairwise(truth, predicted)).toEqual(bruteForce(truth, predicted))
      }),
      { numRuns: 500 }
    )
  })

  it("on random clusterings with crossGroupOnly", () => {
    fc.assert(
      fc.property(clusteringArb, ({ truth, predicted, group }) => {
        expect(pairwise(truth, predicted, { crossGroupOnly: group })).toEqual(
          bruteForce(truth, predicted, group)
        )
      }),
      { numRuns: 500 }
    )
  })
})
