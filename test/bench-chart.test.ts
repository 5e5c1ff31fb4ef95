/** The benchmark's chart and table: reading result lines, keeping the latest, rendering SVG and Markdown. */
import { describe, expect, it } from "vitest"
import {
  commandOf,
  latest,
  logTicks,
  parseResults,
  renderSvg,
  renderTable,
  si,
  sortRows
} from "../bench/src/chart.js"
import type { BenchResult } from "../bench/src/stats.js"

const row = (fields: Partial<BenchResult> & Pick<BenchResult, "scenario">): BenchResult => ({
  dataset: "synthetic",
  records: 10_000,
  runs: 5,
  medianSeconds: 1,
  perSecond: 10_000,
  peakRssMb: 100,
  ...fields
})

const at = (minute: number) => `2025-06-01T10:${String(minute).padStart(2, "0")}:00.000Z`

const full: ReadonlyArray<BenchResult> = [
  ...[10_000, 100_000, 1_000_000].flatMap((records) => [
    row({ scenario: "resolve", records, perSecond: 20_000, precision: 0.99, recall: 0.97, f1: 0.98 }),
    row({ scenario: "resolve-baseline", records, perSecond: 300_000, precision: 0.9, recall: 0.8, f1: 0.85 })
  ]),
  ...["febrl3", "febrl4", "fake_1000", "historical_50k"].flatMap((dataset) => [
    row({ scenario: "resolve", dataset, records: 5000, precision: 1, recall: 0.98, f1: 0.99 }),
    row({ scenario: "resolve-baseline", dataset, records: 5000, precision: 1, recall: 0, f1: 0 })
  ]),
  row({ scenario: "consent", records: 100_000, perSecond: 400_000, coldPerSecond: 150_000 }),
  row({ scenario: "consent-build", records: 100_000, perSecond: 80_000 })
]

const count = (s: string, needle: string): number => s.split(needle).length - 1

describe("parseResults", () => {
  it("keeps result lines and counts the others, ignoring blank lines", () => {
    const text = [
      JSON.stringify(row({ scenario: "resolve" })),
      "",
      "{ not json",
      JSON.stringify({ scenario: "resolve" }),
      JSON.stringify(row({ scenario: "consent", records: 100_000 })),
      ""
    ].join("\n")
    const parsed = parseResults(text)
    expect(parsed.results.map((r) => r.scenario)).toEqual(["resolve", "consent"])
    expect(parsed.skipped).toBe(2)
  })
})

describe("latest", () => {
  it("keeps the newest result per (scenario, dataset, records)", () => {
    const rows = [
      row({ scenario: "resolve", perSecond: 2, at: at(5) }),
      row({ scenario: "resolve", perSecond: 1, at: at(1) }),
      row({ scenario: "resolve", records: 100_000, perSecond: 3, at: at(0) }),
      row({ scenario: "resolve-baseline", perSecond: 4, at: at(0) })
    ]
    expect(
      latest(rows)
        .map((r) => [r.scenario, r.records, r.perSecond])
        .sort()
    ).toEqual([
      ["resolve", 10_000, 2],
      ["resolve", 100_000, 3],
      ["resolve-baseline", 10_000, 4]
    ])
  })

  it("takes the later line when a result is not dated", () => {
    const rows = [
      row({ scenario: "resolve", perSecond: 1, at: at(9) }),
      row({ scenario: "resolve", perSecond: 2 })
    ]
    expect(latest(rows).map((r) => r.perSecond)).toEqual([2])
  })
})

describe("commandOf", () => {
  it("prefers the command recorded with the result", () => {
    expect(commandOf(row({ scenario: "resolve", command: "npm run bench -- resolve --records 7" }))).toBe(
      "npm run bench -- resolve --records 7"
    )
  })

  it("rebuilds it from the fields, naming the scenario run that wrote the line", () => {
    expect(commandOf(row({ scenario: "resolve-baseline" }))).toBe(
      "npm run bench -- resolve --records 10000 --runs 5"
    )
    expect(commandOf(row({ scenario: "resolve", dataset: "febrl3", records: 5000, runs: 3 }))).toBe(
      "npm run bench -- resolve --dataset febrl3 --runs 3"
    )
    expect(commandOf(row({ scenario: "consent-build", records: 100_000, runs: 3 }))).toBe(
      "npm run bench -- consent --records 100000 --runs 3"
    )
  })
})

describe("renderTable", () => {
  it("has one row per result, engine beside baseline, synthetic first, consent last", () => {
    const table = renderTable(full, "a test")
    const rows = table.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| scenario"))
    expect(rows).toHaveLength(full.length)
    expect(rows[0]).toMatch(/^\| resolve \| synthetic \| 10,000 \|/)
    expect(rows[1]).toMatch(/^\| resolve-baseline \| synthetic \| 10,000 \|/)
    expect(rows[6]).toMatch(/^\| resolve \| febrl3 \|/)
    expect(rows[rows.length - 2]).toMatch(/^\| consent \| synthetic \| 100,000 \|/)
    expect(rows[rows.length - 1]).toContain("`npm run bench -- consent --records 100000 --runs 5`")
    expect(table).toContain("from a test")
  })

  it("escapes pipes so that a cell cannot split the row", () => {
    const table = renderTable([row({ scenario: "resolve", command: "a | b" })], "x")
    expect(table).toContain("`a \\| b`")
  })

  it("orders rows independently of their input order", () => {
    expect(sortRows([...full].reverse())).toEqual(sortRows(full))
  })
})

describe("renderSvg", () => {
  it("draws both panels with their axes, legends and every point and bar", () => {
    const svg = renderSvg(full)
    expect(svg.startsWith("<svg xmlns=")).toBe(true)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(count(svg, "<text")).toBe(count(svg, "</text>"))
    for (const label of [
      "synthetic records (log scale)",
      "records resolved per second (log scale)",
      "data set (records)",
      "pairwise score",
      "baseline: exact e-mail / phone keys",
      "precision",
      "recall",
      "baseline F1"
    ])
      expect(svg).toContain(label)
    // Engine points are circles (plus one in the legend); baseline points are squares.
    expect(count(svg, "<circle")).toBe(3 + 1)
    // Three bars per data set: four labelled sets and three synthetic sizes.
    expect(count(svg, "<title>")).toBe(7 * 3)
    expect(count(svg, ">F1 0.990<")).toBe(4)
    expect(svg).toContain("400k profiles/s re-reading ledgers held in memory")
    expect(svg).toContain("150k/s on their first reading")
  })

  it("says so when there is nothing to draw in a panel", () => {
    const svg = renderSvg([row({ scenario: "consent", records: 100_000 })])
    expect(svg).toContain("no synthetic resolve results")
    expect(svg).toContain("no accuracy results")
  })

  it("escapes text", () => {
    expect(renderSvg([row({ scenario: "resolve", node: "v20 <&>" })])).toContain("node v20 &lt;&amp;&gt;")
  })
})

describe("axis helpers", () => {
  it("puts 1-2-5 ticks on narrow log axes and powers of ten on wide ones", () => {
    expect(logTicks(4, 5)).toEqual([1e4, 2e4, 5e4, 1e5])
    expect(logTicks(2, 6)).toEqual([1e2, 1e3, 1e4, 1e5, 1e6])
  })

  it("writes counts in short form", () => {
    expect([950, 12_500, 100_000, 1_000_000, 1_234_567].map(si)).toEqual([
      "950",
      "12.5k",
      "100k",
      "1M",
      "1.23M"
    ])
  })
})
