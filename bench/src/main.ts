/**
 * `npm run bench [-- <scenario>] [--records N] [--dataset name] [--data path] [--runs K] [--json]`
 * (scenarios: resolve, consent, sync-salesforce, sync-hubspot, chart)
 *
 * Without a scenario, runs every scenario at laptop sizes, then writes the chart and the table.
 * Each measurement runs in a child process of its own, so that peak RSS belongs to that
 * measurement alone. `chart [--from file]` only writes the chart and the table from saved results.
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { Datasets } from "@living-profile/testkit"
import { writeChart } from "./chart.js"
import { runConsent } from "./consent.js"
import { runResolve } from "./resolve.js"
import { type BenchResult, emit } from "./stats.js"
import { runSyncHubspot } from "./syncHubspot.js"
import { runSyncSalesforce } from "./syncSalesforce.js"

const here = dirname(fileURLToPath(import.meta.url))
const benchDir = join(here, "..")
const resultsDir = join(benchDir, "results")
const configDir = join(benchDir, "configs")

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    records: { type: "string" },
    dataset: { type: "string" },
    data: { type: "string" },
    runs: { type: "string" },
    json: { type: "boolean", default: false },
    child: { type: "boolean", default: false },
    store: { type: "string" },
    from: { type: "string" }
  }
})

const scenario = positionals[0]

interface Job {
  readonly scenario: string
  readonly args: ReadonlyArray<string>
}

const plan = (): Array<Job> => {
  const runs = values.runs === undefined ? [] : ["--runs", values.runs]
  const data = values.data === undefined ? [] : ["--data", values.data]
  const jobs: Array<Job> = []
  if (scenario === undefined || scenario === "resolve") {
    if (values.dataset !== undefined)
      jobs.push({ scenario: "resolve", args: ["--dataset", values.dataset, ...data, ...runs] })
    else if (values.records !== undefined)
      jobs.push({ scenario: "resolve", args: ["--records", values.records, ...runs] })
    else {
      for (const n of ["10000", "100000", "1000000"]) {
        jobs.push({
          scenario: "resolve",
          args: ["--records", n, "--runs", values.runs ?? (n === "1000000" ? "3" : "5")]
        })
      }
      if (Datasets.datasetsDir(values.data) !== undefined) {
        for (const d of Datasets.datasetNames)
          jobs.push({ scenario: "resolve", args: ["--dataset", d, ...data, "--runs", values.runs ?? "3"] })
      } else process.stderr.write("data sets not found: skipping the labelled sets (pass --data <path>)\n")
    }
  }
  if (scenario === undefined || scenario === "consent") {
    jobs.push({
      scenario: "consent",
      args: [
        "--records",
        values.records ?? "100000",
        "--runs",
        values.runs ?? (scenario === undefined ? "5" : "3")
      ]
    })
  }
  // Propagation to the emulators: each job stays under a minute in the full run (one run per variant).
  for (const sync of ["sync-salesforce", "sync-hubspot"]) {
    if (scenario === undefined || scenario === sync) {
      jobs.push({
        scenario: sync,
        args: [
          "--records",
          values.records ?? "10000",
          "--runs",
          values.runs ?? (scenario === undefined ? "1" : "3")
        ]
      })
    }
  }
  if (jobs.length === 0) {
    process.stderr.write(
      `unknown scenario ${scenario}; known: resolve, consent, sync-salesforce, sync-hubspot, chart\n`
    )
    process.exit(2)
  }
  return jobs
}

const child = async (): Promise<void> => {
  const runs = Number(values.runs ?? "3")
  let results: Array<BenchResult> = []
  if (scenario === "resolve") {
    results = await runResolve({
      dataset: values.dataset ?? "synthetic",
      records: Number(values.records ?? "100000"),
      runs,
      ...(values.data === undefined ? {} : { data: values.data }),
      configDir
    })
  } else if (scenario === "consent") {
    results = runConsent({ records: Number(values.records ?? "100000"), runs })
  } else if (scenario === "sync-salesforce") {
    results = await runSyncSalesforce({ records: Number(values.records ?? "10000"), runs })
  } else if (scenario === "sync-hubspot") {
    results = await runSyncHubspot({ records: Number(values.records ?? "10000"), runs })
  }
  for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`)
}

const table = (rows: ReadonlyArray<BenchResult>): string => {
  const cols = [
    "scenario",
    "dataset",
    "records",
    "medianSeconds",
    "perSecond",
    "peakRssMb",
    "precision",
    "recall",
    "f1",
    "candidatePairs",
    "shareOfCeiling"
  ]
  const cells = rows.map((r) => cols.map((c) => (r[c] === undefined ? "" : String(r[c]))))
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)))
  const line = (xs: ReadonlyArray<string>) => xs.map((x, i) => x.padEnd(widths[i]!)).join("  ")
  return [line(cols), ...cells.map(line)].join("\n")
}

const chart = (rows?: ReadonlyArray<BenchResult>): void => {
  const written = writeChart(resultsDir, {
    ...(rows === undefined ? {} : { rows }),
    ...(values.from === undefined ? {} : { from: values.from })
  })
  process.stderr.write(`chart: ${written.results} results -> ${written.svg}, ${written.table}\n`)
}

const main = async (): Promise<void> => {
  if (values.child) return child()
  if (scenario === "chart") return chart()
  const all: Array<BenchResult> = []
  for (const job of plan()) {
    // Recorded with each result, so that the table can say what produced it.
    const command = ["npm run bench --", job.scenario, ...job.args].join(" ")
    const out = execFileSync(
      process.execPath,
      [join(here, "main.js"), job.scenario, "--child", ...job.args],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 64 * 1024 * 1024
      }
    )
    for (const line of out.split("\n")) {
      if (line.trim() === "") continue
      // Stamped here too (emit stamps the line it writes) so that this run's chart can date its rows.
      const result = {
        ...(JSON.parse(line) as BenchResult),
        command,
        node: process.version,
        at: new Date().toISOString()
      }
      all.push(result)
      if (values.json) emit(result, resultsDir)
      else emit(result, resultsDir)
    }
  }
  if (!values.json) process.stderr.write(`\n${table(all)}\n`)
  if (scenario === undefined) chart(all)
}

if (!existsSync(configDir)) throw new Error(`missing ${configDir}`)
await main()
