/**
 * Scenario `resolve`: the engine on records already decoded, in memory, on synthetic data of a
 * given size or on a labelled data set; accuracy as pairwise precision, recall and F1, with the
 * plain baseline measured side by side in the same process.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Normalize, ProfileStore, ResolverConfig, SourceRecord } from "@living-profile/core"
import { Accuracy, Datasets, Synthetic } from "@living-profile/testkit"
import { Effect, Either, Stream } from "effect"
import { baseline } from "./baseline.js"
import { type BenchResult, median, peakRssMb, time } from "./stats.js"

/** Options of one resolve measurement. */
export interface ResolveOptions {
  readonly dataset: string
  readonly records: number
  readonly runs: number
  readonly data?: string
  readonly configDir: string
  readonly batch?: number
}

interface Loaded {
  readonly records: ReadonlyArray<SourceRecord.SourceRecord>
  readonly truth: ReadonlyMap<string, string>
  readonly crossGroupOnly?: (key: string) => string
  readonly config: ResolverConfig.ResolverConfig
  readonly configName: string
}

const configFor = (
  configDir: string,
  dataset: string
): { config: ResolverConfig.ResolverConfig; name: string } => {
  const name = dataset.startsWith("febrl") ? "febrl.json" : undefined
  if (name === undefined) return { config: ResolverConfig.defaults, name: "defaults" }
  const file = join(configDir, name)
  const r = ResolverConfig.decode(JSON.parse(readFileSync(file, "utf8")), file)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return { config: r.right, name }
}

const load = async (o: ResolveOptions): Promise<Loaded> => {
  const { config, name } = configFor(o.configDir, o.dataset)
  if (o.dataset === "synthetic") {
    const records: Array<SourceRecord.SourceRecord> = []
    const truth = new Map<string, string>()
    for (const { record, entity } of Synthetic.generate({ records: o.records, seed: 7 })) {
      const decoded = SourceRecord.decode(record)
      if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
      records.push(decoded.right)
      truth.set(SourceRecord.recordKey(record), entity)
    }
    return { records, truth, config, configName: name }
  }
  const dir = Datasets.datasetsDir(o.data)
  if (dir === undefined) throw new Error("data sets not found: pass --data <path to shared/datasets>")
  const set = await Datasets.load(o.dataset as Datasets.DatasetName, dir)
  return {
    records: set.records as ReadonlyArray<SourceRecord.SourceRecord>,
    truth: set.truth,
    ...(set.crossGroupOnly === undefined ? {} : { crossGroupOnly: set.crossGroupOnly }),
    config,
    configName: name
  }
}

const resolveOnce = (
  records: ReadonlyArray<SourceRecord.SourceRecord>,
  config: ResolverConfig.ResolverConfig,
  batch: number
) => {
  // Every run starts cold: a warm phone cache from the previous run would flatter runs 2..K.
  Normalize.clearCaches()
  const store = ProfileStore.makeMemory(config)
  const seconds = time(() => {
    for (let i = 0; i < records.length; i += batch) {
      Effect.runSync(store.write({ upserts: records.slice(i, i + batch), events: false }))
    }
  })
  return { store, seconds }
}

/** Runs the scenario and returns its result lines (engine, then baseline). */
export const runResolve = async (o: ResolveOptions): Promise<Array<BenchResult>> => {
  const data = await load(o)
  const batch = o.batch ?? 10_000
  const seconds: Array<number> = []
  let last: ReturnType<typeof resolveOnce> | undefined
  for (let k = 0; k < o.runs; k++) {
    last = undefined
    last = resolveOnce(data.records, data.config, batch)
    seconds.push(last.seconds)
  }
  const store = last!.store
  const predicted = new Map<string, string>()
  for (const p of Effect.runSync(Stream.runCollect(store.profiles))) {
    for (const r of p.records) predicted.set(SourceRecord.recordKey(r), p.profileId)
  }
  const stats = Effect.runSync(store.stats)
  const options = data.crossGroupOnly === undefined ? {} : { crossGroupOnly: data.crossGroupOnly }
  const acc = Accuracy.pairwise(data.truth, predicted, options)
  const engineMedian = median(seconds)

  const baseSeconds: Array<number> = []
  let clusters: Int32Array = new Int32Array(0)
  for (let k = 0; k < o.runs; k++) baseSeconds.push(time(() => void (clusters = baseline(data.records))))
  const basePredicted = new Map<string, string>()
  for (let i = 0; i < data.records.length; i++) {
    basePredicted.set(SourceRecord.recordKey(data.records[i]!), String(clusters[i]))
  }
  const baseAcc = Accuracy.pairwise(data.truth, basePredicted, options)
  const baseMedian = median(baseSeconds)
  const rss = peakRssMb()
  const round = (x: number) => Math.round(x * 10_000) / 10_000
  return [
    {
      scenario: "resolve",
      dataset: o.dataset,
      records: data.records.length,
      runs: o.runs,
      medianSeconds: round(engineMedian),
      perSecond: Math.round(data.records.length / engineMedian),
      peakRssMb: rss,
      config: data.configName,
      precision: round(acc.precision),
      recall: round(acc.recall),
      f1: round(acc.f1),
      candidatePairs: stats.candidatePairs,
      profiles: stats.profiles,
      truePairs: acc.truePairs,
      predictedPairs: acc.predictedPairs,
      baselineRatio: round(engineMedian / baseMedian)
    },
    {
      scenario: "resolve-baseline",
      dataset: o.dataset,
      records: data.records.length,
      runs: o.runs,
      medianSeconds: round(baseMedian),
      perSecond: Math.round(data.records.length / baseMedian),
      peakRssMb: rss,
      precision: round(baseAcc.precision),
      recall: round(baseAcc.recall),
      f1: round(baseAcc.f1)
    }
  ]
}
