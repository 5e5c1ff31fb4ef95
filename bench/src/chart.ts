/**
 * The chart and the table of results: `bench/results/chart.svg` (throughput against synthetic size,
 * accuracy per data set) and `bench/results/table.md` (the latest result per scenario, data set and
 * size, with the command that made it). The SVG is written by hand, so the suite needs no plotting
 * dependency.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { BenchResult } from "./stats.js"

/** Result lines read from NDJSON, and how many non-empty lines were not results. */
export interface Parsed {
  readonly results: Array<BenchResult>
  readonly skipped: number
}

const isResult = (x: unknown): x is BenchResult => {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false
  const r = x as Record<string, unknown>
  return (
    typeof r["scenario"] === "string" &&
    typeof r["dataset"] === "string" &&
    typeof r["records"] === "number" &&
    typeof r["runs"] === "number" &&
    typeof r["medianSeconds"] === "number" &&
    typeof r["perSecond"] === "number" &&
    typeof r["peakRssMb"] === "number"
  )
}

/** Parses NDJSON result lines; a line that is not a result (a run killed mid-write) is counted, not fatal. */
export const parseResults = (text: string): Parsed => {
  const results: Array<BenchResult> = []
  let skipped = 0
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      skipped++
      continue
    }
    if (isResult(value)) results.push(value)
    else skipped++
  }
  return { results, skipped }
}

const num = (r: BenchResult, field: string): number | undefined => {
  const v = r[field]
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}

const str = (r: BenchResult, field: string): string | undefined => {
  const v = r[field]
  return typeof v === "string" ? v : undefined
}

/** The latest result per (scenario, dataset, records): by `at` when both carry it, else the later line. */
export const latest = (rows: ReadonlyArray<BenchResult>): Array<BenchResult> => {
  const byKey = new Map<string, BenchResult>()
  for (const r of rows) {
    const key = `${r.scenario}\u001f${r.dataset}\u001f${r.records}`
    const prev = byKey.get(key)
    const a = prev === undefined ? undefined : str(prev, "at")
    const b = str(r, "at")
    // ISO-8601 instants in UTC compare as strings.
    if (prev === undefined || a === undefined || b === undefined || b >= a) byKey.set(key, r)
  }
  return [...byKey.values()]
}

/** The command that reproduces a result: the one recorded with it, else rebuilt from its fields. */
export const commandOf = (r: BenchResult): string => {
  const recorded = str(r, "command")
  if (recorded !== undefined) return recorded
  // Several lines come from one scenario run: resolve-baseline from resolve, consent-build from consent.
  const scenario = r.scenario.replace(/-(baseline|build)$/, "")
  const input = r.dataset === "synthetic" ? `--records ${r.records}` : `--dataset ${r.dataset}`
  return `npm run bench -- ${scenario} ${input} --runs ${r.runs}`
}

/** Synthetic sizes the chart shows: those of a full `npm run bench`. */
export const chartSizes: ReadonlyArray<number> = [10_000, 100_000, 1_000_000]

/** Labelled data sets, in the order the chart shows them. */
export const labelledSets: ReadonlyArray<string> = ["febrl3", "febrl4", "fake_1000", "historical_50k"]

const scenarioRank = (s: string): number => (s.startsWith("resolve") ? 0 : s.startsWith("consent") ? 1 : 2)

const datasetRank = (d: string): number => {
  if (d === "synthetic") return 0
  const i = labelledSets.indexOf(d)
  return i < 0 ? labelledSets.length + 1 : i + 1
}

/** Table order: scenario family, data set (synthetic first), size, then scenario (engine before baseline). */
export const sortRows = (rows: ReadonlyArray<BenchResult>): Array<BenchResult> =>
  [...rows].sort(
    (a, b) =>
      scenarioRank(a.scenario) - scenarioRank(b.scenario) ||
      datasetRank(a.dataset) - datasetRank(b.dataset) ||
      (a.dataset < b.dataset ? -1 : a.dataset > b.dataset ? 1 : 0) ||
      a.records - b.records ||
      (a.scenario < b.scenario ? -1 : a.scenario > b.scenario ? 1 : 0)
  )

/** A count in short form: 950, 12.5k, 1.2M. */
export const si = (x: number): string => {
  const short = (v: number, unit: string) => {
    const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2
    return `${Number(v.toFixed(digits))}${unit}`
  }
  if (x >= 1e9) return short(x / 1e9, "G")
  if (x >= 1e6) return short(x / 1e6, "M")
  if (x >= 1e3) return short(x / 1e3, "k")
  return short(x, "")
}

const grouped = (x: number): string => x.toLocaleString("en-US")

/** A latency cell: `p50 / p99` in milliseconds, for results that measure latency. */
const latency = (r: BenchResult): string => {
  const p50 = num(r, "p50Ms")
  const p99 = num(r, "p99Ms")
  return p50 === undefined || p99 === undefined ? "" : `${grouped(p50)} / ${grouped(p99)}`
}

/** The Markdown table of the given results (already reduced to the latest per key). */
export const renderTable = (rows: ReadonlyArray<BenchResult>, source: string): string => {
  const nodes = [...new Set(rows.map((r) => str(r, "node")).filter((n) => n !== undefined))].sort()
  const cols = [
    "scenario",
    "data set",
    "records",
    "runs",
    "median s",
    "per second",
    "peak RSS MB",
    "precision",
    "recall",
    "F1",
    "p50 / p99 ms",
    "at (UTC)",
    "command"
  ]
  const opt = (v: number | undefined): string => (v === undefined ? "" : String(v))
  const cell = (s: string): string => s.replace(/\|/g, "\\|")
  const lines = [
    "# Benchmark results",
    "",
    `Latest result per (scenario, data set, records), from ${source}` +
      (nodes.length === 0 ? "." : `; node ${nodes.join(", ")}.`) +
      " For `consent` and `consent-build`, records are profiles; for `end-to-end`, persons, with changes" +
      " per second and the latency of a change (p50 / p99).",
    "",
    `| ${cols.join(" | ")} |`,
    `|${cols.map((_, i) => (i >= 2 && i <= 10 ? "---:" : "---")).join("|")}|`
  ]
  for (const r of sortRows(rows)) {
    const at = str(r, "at")
    lines.push(
      `| ${[
        r.scenario,
        r.dataset,
        grouped(r.records),
        String(r.runs),
        String(r.medianSeconds),
        grouped(r.perSecond),
        String(r.peakRssMb),
        opt(num(r, "precision")),
        opt(num(r, "recall")),
        opt(num(r, "f1")),
        latency(r),
        at === undefined ? "" : at.slice(0, 16).replace("T", " "),
        `\`${commandOf(r)}\``
      ]
        .map(cell)
        .join(" | ")} |`
    )
  }
  return `${lines.join("\n")}\n`
}

// ---------------------------------------------------------------------------------------------
// SVG

const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const f = (x: number): string => String(Math.round(x * 10) / 10)

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
const INK = "#222222"
const MUTED = "#666666"
const GRID = "#e3e3e3"
// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
const ENGINE = "#0072B2"
const BASELINE = "#E69F00"
const PRECISION = "#56B4E9"
const RECALL = "#009E73"
const F1 = "#0072B2"

interface TextOptions {
  readonly size?: number
  readonly anchor?: "start" | "middle" | "end"
  readonly fill?: string
  readonly weight?: "bold" | "normal"
  readonly rotate?: number
}

const text = (x: number, y: number, s: string, o: TextOptions = {}): string =>
  `<text x="${f(x)}" y="${f(y)}" font-size="${o.size ?? 12}" text-anchor="${o.anchor ?? "start"}" fill="${
    o.fill ?? INK
  }"${o.weight === "bold" ? ` font-weight="bold"` : ""}${
    o.rotate === undefined ? "" : ` transform="rotate(${o.rotate} ${f(x)} ${f(y)})"`
  }>${escapeXml(s)}</text>`

const line = (x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ""): string =>
  `<line x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}" stroke="${stroke}"${extra}/>`

interface Box {
  readonly left: number
  readonly top: number
  readonly right: number
  readonly bottom: number
}

/** Ticks of a log axis over [lo, hi] (powers of ten): 1-2-5 per decade when there are few decades. */
export const logTicks = (lo: number, hi: number): Array<number> => {
  const ticks: Array<number> = []
  const steps = hi - lo <= 2 ? [1, 2, 5] : [1]
  for (let d = lo; d <= hi; d++)
    for (const s of steps) {
      const v = s * 10 ** d
      if (v <= 10 ** hi) ticks.push(v)
    }
  return ticks
}

type Swatch = (x: number, y: number) => string

const legend = (x: number, y: number, items: ReadonlyArray<readonly [string, Swatch]>): string => {
  const out: Array<string> = []
  let at = x
  for (const [label, swatch] of items) {
    out.push(swatch(at, y))
    out.push(text(at + 24, y + 4, label, { size: 12 }))
    // Rough width of the label at 12 px, to place the next item.
    at += 24 + label.length * 6.5 + 18
  }
  return out.join("\n")
}

const circle = (x: number, y: number, color: string): string =>
  `<circle cx="${f(x)}" cy="${f(y)}" r="4.5" fill="${color}"/>`

const square = (x: number, y: number, color: string): string =>
  `<rect x="${f(x - 4)}" y="${f(y - 4)}" width="8" height="8" fill="${color}"/>`

const dash = (dashed: boolean, pattern: string): string => (dashed ? ` stroke-dasharray="${pattern}"` : "")

const lineSwatch =
  (color: string, dashed: boolean, marker: typeof circle): Swatch =>
  (x, y) =>
    line(x, y, x + 18, y, color, ` stroke-width="2.5"${dash(dashed, "5 3")}`) + marker(x + 9, y, color)

const barSwatch =
  (color: string): Swatch =>
  (x, y) =>
    `<rect x="${f(x + 2)}" y="${f(y - 6)}" width="14" height="12" fill="${color}"/>`

const markSwatch =
  (color: string): Swatch =>
  (x, y) =>
    line(x, y, x + 18, y, color, ` stroke-width="3"`)

const atOf = (r: BenchResult): string => str(r, "at") ?? ""

/** The latest row of a scenario on a data set (and size, when given). */
const pick = (
  rows: ReadonlyArray<BenchResult>,
  scenario: string,
  dataset: string,
  records?: number
): BenchResult | undefined => {
  let best: BenchResult | undefined
  for (const r of rows) {
    if (r.scenario !== scenario || r.dataset !== dataset) continue
    if (records !== undefined && r.records !== records) continue
    if (best === undefined || atOf(r) >= atOf(best)) best = r
  }
  return best
}

const throughputPanel = (rows: ReadonlyArray<BenchResult>, box: Box): string => {
  const out: Array<string> = []
  const cx = (box.left + box.right) / 2
  out.push(
    text(cx, box.top - 44, "Throughput against size (synthetic data)", {
      size: 14,
      anchor: "middle",
      weight: "bold"
    })
  )
  const series = [
    { scenario: "resolve", color: ENGINE, dashed: false, marker: circle },
    { scenario: "resolve-baseline", color: BASELINE, dashed: true, marker: square }
  ]
  const points = series.map((s) =>
    chartSizes
      .map((n) => pick(rows, s.scenario, "synthetic", n))
      .filter((r): r is BenchResult => r !== undefined && r.perSecond > 0)
  )
  const all = points.flat()
  if (all.length === 0) {
    out.push(
      text(cx, (box.top + box.bottom) / 2, "no synthetic resolve results", { anchor: "middle", fill: MUTED })
    )
    return out.join("\n")
  }
  const sizes = [...new Set(all.map((r) => r.records))].sort((a, b) => a - b)
  const xlo = Math.log10(sizes[0]!) - 0.3
  const xhi = Math.log10(sizes[sizes.length - 1]!) + 0.3
  const x = (n: number) => box.left + ((Math.log10(n) - xlo) / (xhi - xlo)) * (box.right - box.left)
  const lo = Math.log10(Math.min(...all.map((r) => r.perSecond)))
  const hi = Math.log10(Math.max(...all.map((r) => r.perSecond)))
  // Whole decades, with room for the value labels above the highest point and below the lowest.
  const ylo = Math.floor(lo - 0.1)
  const yhi = Math.max(Math.ceil(hi + 0.1), ylo + 1)
  const y = (v: number) => box.bottom - ((Math.log10(v) - ylo) / (yhi - ylo)) * (box.bottom - box.top)

  for (const t of logTicks(ylo, yhi)) {
    const major = Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9
    out.push(line(box.left, y(t), box.right, y(t), GRID, dash(!major, "2 3")))
    out.push(text(box.left - 8, y(t) + 4, si(t), { size: 11, anchor: "end", fill: MUTED }))
  }
  for (const n of sizes) {
    out.push(line(x(n), box.bottom, x(n), box.bottom + 5, INK))
    out.push(text(x(n), box.bottom + 19, si(n), { size: 11, anchor: "middle" }))
  }
  out.push(line(box.left, box.top, box.left, box.bottom, INK))
  out.push(line(box.left, box.bottom, box.right, box.bottom, INK))
  out.push(text(cx, box.bottom + 46, "synthetic records (log scale)", { size: 12, anchor: "middle" }))
  out.push(
    text(box.left - 54, (box.top + box.bottom) / 2, "records resolved per second (log scale)", {
      size: 12,
      anchor: "middle",
      rotate: -90
    })
  )

  series.forEach((s, i) => {
    const ps = points[i]!
    if (ps.length === 0) return
    const other = points[1 - i]!
    const coords = ps.map((r) => `${f(x(r.records))},${f(y(r.perSecond))}`).join(" ")
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2.5"${dash(s.dashed, "6 4")} points="${coords}"/>`
    )
    for (const r of ps) {
      const px = x(r.records)
      const py = y(r.perSecond)
      out.push(s.marker(px, py, s.color))
      // The label goes on the side away from the other series at the same size.
      const o = other.find((q) => q.records === r.records)
      const above = o === undefined ? i === 0 : r.perSecond >= o.perSecond
      out.push(
        text(px, above ? py - 10 : py + 20, `${si(r.perSecond)}/s`, {
          size: 11,
          anchor: "middle",
          fill: s.color,
          weight: "bold"
        })
      )
    }
  })

  out.push(
    legend(box.left + 6, box.top - 20, [
      ["engine", lineSwatch(ENGINE, false, circle)],
      ["baseline: exact e-mail / phone keys", lineSwatch(BASELINE, true, square)]
    ])
  )
  return out.join("\n")
}

interface Group {
  readonly name: string
  readonly size: string
  readonly engine: BenchResult
  readonly baseline: BenchResult | undefined
}

const accuracyPanel = (rows: ReadonlyArray<BenchResult>, box: Box): string => {
  const out: Array<string> = []
  const cx = (box.left + box.right) / 2
  out.push(
    text(cx, box.top - 44, "Accuracy per data set (pairwise, engine)", {
      size: 14,
      anchor: "middle",
      weight: "bold"
    })
  )
  const groups: Array<Group> = []
  for (const d of labelledSets) {
    const engine = pick(rows, "resolve", d)
    if (engine !== undefined && num(engine, "f1") !== undefined) {
      // Long names break at their underscore: the size is on the line below anyway.
      const name = d.length > 10 && d.includes("_") ? d.slice(0, d.indexOf("_")) : d
      groups.push({
        name,
        size: si(engine.records),
        engine,
        baseline: pick(rows, "resolve-baseline", d, engine.records)
      })
    }
  }
  const labelled = groups.length
  for (const n of chartSizes) {
    const engine = pick(rows, "resolve", "synthetic", n)
    if (engine !== undefined && num(engine, "f1") !== undefined)
      groups.push({
        name: "synthetic",
        size: si(n),
        engine,
        baseline: pick(rows, "resolve-baseline", "synthetic", n)
      })
  }
  if (groups.length === 0) {
    out.push(text(cx, (box.top + box.bottom) / 2, "no accuracy results", { anchor: "middle", fill: MUTED }))
    return out.join("\n")
  }
  // The axis runs a little past 1 so that the F1 labels sit inside the plot.
  const top = 1.1
  const y = (v: number) => box.bottom - (v / top) * (box.bottom - box.top)
  for (let t = 0; t <= 5; t++) {
    const v = t / 5
    out.push(line(box.left, y(v), box.right, y(v), GRID))
    out.push(
      text(box.left - 8, y(v) + 4, v === 0 || v === 1 ? String(v) : v.toFixed(1), {
        size: 11,
        anchor: "end",
        fill: MUTED
      })
    )
  }
  const gw = (box.right - box.left) / groups.length
  const bw = Math.min(20, (gw * 0.75) / 3)
  const metrics = [
    ["precision", PRECISION],
    ["recall", RECALL],
    ["f1", F1]
  ] as const
  groups.forEach((g, i) => {
    const gx = box.left + i * gw
    const x0 = gx + (gw - 3 * bw) / 2
    if (i === labelled && labelled > 0)
      out.push(line(gx, box.top, gx, box.bottom + 34, "#bbbbbb", dash(true, "3 3")))
    metrics.forEach(([field, color], m) => {
      const v = num(g.engine, field)
      if (v === undefined) return
      const h = Math.max(0, Math.min(v, top))
      out.push(
        `<rect x="${f(x0 + m * bw)}" y="${f(y(h))}" width="${f(bw - 1)}" height="${f(y(0) - y(h))}" fill="${color}"><title>${escapeXml(
          `${g.name} ${g.size}: ${field} ${v}`
        )}</title></rect>`
      )
    })
    const bf1 = g.baseline === undefined ? undefined : num(g.baseline, "f1")
    if (bf1 !== undefined) {
      // A white halo keeps the mark visible where it crosses a bar.
      out.push(line(x0 - 4, y(bf1), x0 + 3 * bw + 3, y(bf1), "#ffffff", ` stroke-width="6"`))
      out.push(line(x0 - 4, y(bf1), x0 + 3 * bw + 3, y(bf1), BASELINE, ` stroke-width="3"`))
    }
    const f1 = num(g.engine, "f1")
    if (f1 !== undefined)
      out.push(text(gx + gw / 2, y(1) - 17, `F1 ${f1.toFixed(3)}`, { size: 10, anchor: "middle", fill: INK }))
    // In words too: a baseline F1 of 0 (no e-mails or phones in the set) would hide on the axis.
    if (bf1 !== undefined)
      out.push(
        text(gx + gw / 2, y(1) - 5, `base ${bf1.toFixed(3)}`, { size: 10, anchor: "middle", fill: "#a86f00" })
      )
    out.push(text(gx + gw / 2, box.bottom + 16, g.name, { size: 11, anchor: "middle" }))
    out.push(text(gx + gw / 2, box.bottom + 30, g.size, { size: 11, anchor: "middle", fill: MUTED }))
  })
  out.push(line(box.left, box.top, box.left, box.bottom, INK))
  out.push(line(box.left, box.bottom, box.right, box.bottom, INK))
  out.push(text(cx, box.bottom + 50, "data set (records)", { size: 12, anchor: "middle" }))
  out.push(
    text(box.left - 44, (box.top + box.bottom) / 2, "pairwise score", {
      size: 12,
      anchor: "middle",
      rotate: -90
    })
  )
  out.push(
    legend(box.left + 6, box.top - 20, [
      ["precision", barSwatch(PRECISION)],
      ["recall", barSwatch(RECALL)],
      ["F1", barSwatch(F1)],
      ["baseline F1", markSwatch(BASELINE)]
    ])
  )
  return out.join("\n")
}

const consentNote = (rows: ReadonlyArray<BenchResult>): ReadonlyArray<string> | undefined => {
  const held = pick(rows, "consent", "synthetic", 100_000) ?? pick(rows, "consent", "synthetic")
  if (held === undefined) return undefined
  const built = pick(rows, "consent-build", "synthetic", held.records)
  const cold = num(held, "coldPerSecond")
  return [
    `Consent: effective state + diffs against 2 targets, ${si(held.records)} profiles of ~10 events over ~5 keys`,
    [
      `${si(held.perSecond)} profiles/s re-reading ledgers held in memory`,
      ...(cold === undefined ? [] : [`${si(cold)}/s on their first reading`]),
      ...(built === undefined ? [] : [`${si(built.perSecond)}/s rebuilding each ledger from its events`])
    ].join(" · ")
  ]
}

/** The SVG chart of the given results (reduced to the latest per key): throughput left, accuracy right. */
export const renderSvg = (rows: ReadonlyArray<BenchResult>): string => {
  const width = 1100
  const height = 560
  const nodes = [...new Set(rows.map((r) => str(r, "node")).filter((n) => n !== undefined))].sort()
  const days = [...new Set(rows.map((r) => atOf(r).slice(0, 10)).filter((d) => d !== ""))].sort()
  const subtitle = [
    "each point is the median of its runs",
    ...(nodes.length === 0 ? [] : [`node ${nodes.join(", ")}`]),
    ...(days.length === 0 ? [] : [days.length === 1 ? days[0]! : `${days[0]} to ${days[days.length - 1]}`])
  ].join(" · ")
  const note = consentNote(rows)
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(24, 32, "living-profile benchmark", { size: 18, weight: "bold" }),
    text(24, 52, subtitle, { size: 12, fill: MUTED }),
    throughputPanel(rows, { left: 100, top: 130, right: 500, bottom: 430 }),
    accuracyPanel(rows, { left: 610, top: 130, right: 1080, bottom: 430 }),
    ...(note ?? []).map((s, i) =>
      text(24, height - 36 + i * 18, s, { size: 12, fill: i === 0 ? INK : MUTED })
    ),
    "</svg>"
  ]
  return `${parts.join("\n")}\n`
}

/** Where the chart's results come from: this run's rows, one file, or (neither) every results file. */
export interface ChartInput {
  readonly rows?: ReadonlyArray<BenchResult>
  readonly from?: string
}

/** Writes chart.svg and table.md into `resultsDir` and returns their paths. */
export const writeChart = (
  resultsDir: string,
  input: ChartInput = {}
): { readonly svg: string; readonly table: string; readonly results: number } => {
  let rows: ReadonlyArray<BenchResult>
  let source: string
  let skipped = 0
  if (input.rows !== undefined) {
    rows = input.rows
    source = "one `npm run bench` run"
  } else {
    const files =
      input.from !== undefined
        ? [input.from]
        : existsSync(resultsDir)
          ? readdirSync(resultsDir)
              .filter((n) => n.endsWith(".ndjson"))
              .sort()
              .map((n) => join(resultsDir, n))
          : []
    const all: Array<BenchResult> = []
    for (const file of files) {
      const parsed = parseResults(readFileSync(file, "utf8"))
      for (const r of parsed.results) all.push(r)
      skipped += parsed.skipped
    }
    rows = all
    source =
      input.from !== undefined
        ? `\`${input.from}\``
        : `${files.length} file${files.length === 1 ? "" : "s"} in \`bench/results\``
  }
  if (skipped > 0) process.stderr.write(`chart: skipped ${skipped} line(s) that are not results\n`)
  if (rows.length === 0) throw new Error(`no results to chart (${source}); run a scenario first`)
  const reduced = latest(rows)
  mkdirSync(resultsDir, { recursive: true })
  const svg = join(resultsDir, "chart.svg")
  const table = join(resultsDir, "table.md")
  writeFileSync(svg, renderSvg(reduced))
  writeFileSync(table, renderTable(reduced, source))
  return { svg, table, results: reduced.length }
}
