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
import { type BenchResult, median, peakRssMb, time, round } from "./stats.js"

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
  readonly size: number
  /** The input in batches of decoded records; synthetic input is generated batch by batch, so a
   * 1M-record run never holds all decoded input at once (the store keeps what it needs). */
  readonly batches: () => Iterable<ReadonlyArray<SourceRecord.SourceRecord>>
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

function* syntheticBatches(
  records: number,
  batch: number
): Generator<ReadonlyArray<SourceRecord.SourceRecord>> {
  let chunk: Array<SourceRecord.SourceRecord> = []
  for (const { record } of Synthetic.generate({ records, seed: 7 })) {
    // Through JSON text first, as records reach the engine from NDJSON, CSV or an API: the
    // generator builds its strings by concatenation, and V8's unflattened string ropes would make
    // every later read of them slower than any real input is.
    const decoded = SourceRecord.decode(JSON.parse(JSON.stringify(record)))
    if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
    chunk.push(decoded.right)
    if (chunk.length === batch) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}

function* slices<T>(xs: ReadonlyArray<T>, batch: number): Generator<ReadonlyArray<T>> {
  for (let i = 0; i < xs.length; i += batch) yield xs.slice(i, i + batch)
}

const load = async (o: ResolveOptions, batch: number): Promise<Loaded> => {
  const { config, name } = configFor(o.configDir, o.dataset)
  if (o.dataset === "synthetic") {
    const truth = new Map<string, string>()
    for (const { record, entity } of Synthetic.generate({ records: o.records, seed: 7 })) {
      truth.set(SourceRecord.recordKey(record), entity)
    }
    return {
      size: truth.size,
      batches: () => syntheticBatches(o.records, batch),
      truth,
      config,
      configName: name
    }
  }
  const dir = Datasets.datasetsDir(o.data)
  if (dir === undefined) throw new Error("data sets not found: pass --data <path to shared/datasets>")
  const set = await Datasets.load(o.dataset as Datasets.DatasetName, dir)
  const records = set.records as ReadonlyArray<SourceRecord.SourceRecord>
  return {
    size: records.length,
    batches: () => slices(records, batch),
    truth: set.truth,
    ...(set.crossGroupOnly === undefined ? {} : { crossGroupOnly: set.crossGroupOnly }),
    config,
    configName: name
  }
}

/** One engine run: only the writes are timed (generating and decoding input is not). */
const resolveOnce = (data: Loaded) => {
  // Every run starts cold: a warm phone cache from the previous run would flatter runs 2..K.
  Normalize.clearCaches()
  const store = ProfileStore.makeMemory(data.config)
  let seconds = 0
  for (const chunk of data.batches()) {
    seconds += time(() => void Effect.runSync(store.write({ upserts: chunk, events: false })))
  }
  return { store, seconds }
}

/** Runs the scenario and returns its result lines (engine, then baseline). */
export const runResolve = async (o: ResolveOptions): Promise<Array<BenchResult>> => {
  const batch = o.batch ?? 10_000
  const data = await load(o, batch)
  const seconds: Array<number> = []
  let last: ReturnType<typeof resolveOnce> | undefined
  for (let k = 0; k < o.runs; k++) {
    last = undefined
    last = resolveOnce(data)
    seconds.push(last.seconds)
  }
  // The engine's high-water mark, read before the baseline loads its own copy of the input.
  const rss = peakRssMb()
  const store = last!.store
  const predicted = new Map<string, string>()
  for (const p of Effect.runSync(Stream.runCollect(store.profiles))) {
    for (const r of p.records) predicted.set(SourceRecord.recordKey(r), p.profileId)
  }
  const stats = Effect.runSync(store.stats)
  const options = data.crossGroupOnly === undefined ? {} : { crossGroupOnly: data.crossGroupOnly }
  const acc = Accuracy.pairwise(data.truth, predicted, options)
  const engineMedian = median(seconds)
  last = undefined

  const input: Array<SourceRecord.SourceRecord> = []
  for (const chunk of data.batches()) for (const r of chunk) input.push(r)
  const baseSeconds: Array<number> = []
  let clusters: Int32Array = new Int32Array(0)
  for (let k = 0; k < o.runs; k++) baseSeconds.push(time(() => void (clusters = baseline(input))))
  const basePredicted = new Map<string, string>()
  for (let i = 0; i < input.length; i++) {
    basePredicted.set(SourceRecord.recordKey(input[i]!), String(clusters[i]))
  }
  const baseAcc = Accuracy.pairwise(data.truth, basePredicted, options)
  const baseMedian = median(baseSeconds)
  return [
    {
      scenario: "resolve",
      dataset: o.dataset,
      records: data.size,
      runs: o.runs,
      medianSeconds: round(engineMedian),
      perSecond: Math.round(data.size / engineMedian),
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
      records: data.size,
      runs: o.runs,
      medianSeconds: round(baseMedian),
      perSecond: Math.round(data.size / baseMedian),
      peakRssMb: peakRssMb(),
      precision: round(baseAcc.precision),
      recall: round(baseAcc.recall),
      f1: round(baseAcc.f1)
    }
  ]
}
