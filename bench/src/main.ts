/**
 * `npm run bench [-- <scenario>] [--records N] [--dataset name] [--data path] [--runs K] [--json]`
 * (scenarios: resolve, consent, sync-salesforce, sync-hubspot, end-to-end, chart; `end-to-end` also
 * takes `--changes N`, `--poll-ms MS`, `--rate R` and `--pull-settle-ms MS`; `resolve --store redis
 * [--workers W]` resolves into the RedisProfileStore at REDIS_URL, 1 and 2 workers by default)
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
import { runEndToEnd } from "./endToEnd.js"
import { runResolve } from "./resolve.js"
import { redisAnswers, runResolveRedis } from "./resolveRedis.js"
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
    workers: { type: "string" },
    from: { type: "string" },
    changes: { type: "string" },
    "poll-ms": { type: "string" },
    rate: { type: "string" },
    "pull-settle-ms": { type: "string" }
  }
})

const scenario = positionals[0]

interface Job {
  readonly scenario: string
  readonly args: ReadonlyArray<string>
}

const plan = (hasRedis: boolean): Array<Job> => {
  const runs = values.runs === undefined ? [] : ["--runs", values.runs]
  const data = values.data === undefined ? [] : ["--data", values.data]
  const jobs: Array<Job> = []
  const redisJobs = (records: string) =>
    (values.workers === undefined ? ["1", "2"] : [values.workers]).map((w) => ({
      scenario: "resolve",
      args: ["--store", "redis", "--workers", w, "--records", records, "--runs", values.runs ?? "1"]
    }))
  if (scenario === "resolve" && values.store !== undefined) {
    if (values.store !== "redis") {
      process.stderr.write(`unknown store ${values.store}; known: redis\n`)
      process.exit(2)
    }
    jobs.push(...redisJobs(values.records ?? "100000"))
  } else if (scenario === undefined || scenario === "resolve") {
    if (values.dataset !== undefined)
      jobs.push({ scenario: "resolve", args: ["--dataset", values.dataset, ...data, ...runs] })
    else if (values.records !== undefined)
      jobs.push({ scenario: "resolve", args: ["--records", values.records, ...runs] })
    else {
      // One run at 1M: a run is over a minute (generating and decoding the input, then about 45 s
      // of resolving), and three made the whole run miss its ten minutes on a 2-core machine.
      for (const n of ["10000", "100000", "1000000"]) {
        jobs.push({
          scenario: "resolve",
          args: ["--records", n, "--runs", values.runs ?? (n === "1000000" ? "1" : "5")]
        })
      }
      if (Datasets.datasetsDir(values.data) !== undefined) {
        for (const d of Datasets.datasetNames)
          jobs.push({ scenario: "resolve", args: ["--dataset", d, ...data, "--runs", values.runs ?? "3"] })
      } else process.stderr.write("data sets not found: skipping the labelled sets (pass --data <path>)\n")
      // The Redis store at 100k (1M: `npm run bench -- resolve --store redis --records 1000000`).
      if (hasRedis) jobs.push(...redisJobs("100000"))
      else process.stderr.write("no Redis at REDIS_URL: skipping resolve --store redis\n")
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
  // A change until every other system holds it: about half a minute in the full run.
  if (scenario === undefined || scenario === "end-to-end") {
    const pass = (name: "changes" | "poll-ms" | "rate" | "pull-settle-ms") => {
      const v = values[name]
      return v === undefined ? [] : [`--${name}`, v]
    }
    jobs.push({
      scenario: "end-to-end",
      args: [
        "--records",
        values.records ?? "1000",
        "--changes",
        values.changes ?? (scenario === undefined ? "60" : "200"),
        "--runs",
        values.runs ?? "1",
        ...pass("poll-ms"),
        ...pass("rate"),
        ...pass("pull-settle-ms")
      ]
    })
  }
  if (jobs.length === 0) {
    process.stderr.write(
      `unknown scenario ${scenario}; known: resolve, consent, sync-salesforce, sync-hubspot, end-to-end, chart\n`
    )
    process.exit(2)
  }
  return jobs
}

const child = async (): Promise<void> => {
  const runs = Number(values.runs ?? "3")
  let results: Array<BenchResult> = []
  if (scenario === "resolve" && values.store === "redis") {
    results = await runResolveRedis({
      records: Number(values.records ?? "100000"),
      workers: Number(values.workers ?? "1"),
      runs,
      url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
    })
  } else if (scenario === "resolve") {
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
  } else if (scenario === "end-to-end") {
    const num = (v: string | undefined) => (v === undefined ? undefined : Number(v))
    const pollMs = num(values["poll-ms"])
    const rate = num(values.rate)
    const pullSettleMs = num(values["pull-settle-ms"])
    results = await runEndToEnd({
      records: Number(values.records ?? "1000"),
      changes: Number(values.changes ?? "200"),
      runs: Number(values.runs ?? "1"),
      ...(pollMs === undefined ? {} : { pollMs }),
      ...(rate === undefined ? {} : { rate }),
      ...(pullSettleMs === undefined ? {} : { pullSettleMs })
    })
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
    "shareOfCeiling",
    "p50Ms",
    "p99Ms"
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
  for (const job of plan(scenario === undefined && (await redisAnswers()))) {
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
