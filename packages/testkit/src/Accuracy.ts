/**
 * Pairwise accuracy of a clustering against a ground truth.
 *
 * Pairs are counted from cluster sizes (a contingency table), never enumerated: a 1M-record run
 * with a few large clusters would otherwise mean billions of pairs.
 */

/** Pairwise precision, recall and F1 of a predicted clustering, with the counts behind them. */
export interface PairwiseAccuracy {
  readonly precision: number
  readonly recall: number
  readonly f1: number
  /** Pairs of records that the truth puts in the same entity. */
  readonly truePairs: number
  /** Pairs of records that the prediction puts in the same cluster. */
  readonly predictedPairs: number
  /** Pairs in the same entity and in the same predicted cluster. */
  readonly correctPairs: number
  /** Distinct record keys across both maps. */
  readonly records: number
}

/** Options of {@link pairwise}. */
export interface PairwiseOptions {
  /**
   * Gives each record a group (e.g. its source); only pairs of records in different groups count.
   * This is how a two-file linkage such as Febrl4 A-B is scored.
   */
  readonly crossGroupOnly?: (recordKey: string) => string
}

// A count is turned into pairs only at the end, so the per-cell work stays O(1).
const pairsOf = (n: number): number => (n * (n - 1)) / 2

const bump = <K>(counts: Map<K, number>, key: K): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1)
}

const sumPairs = <K>(counts: ReadonlyMap<K, number>): number => {
  let total = 0
  for (const n of counts.values()) total += pairsOf(n)
  return total
}

/** Interns values as small integers so that composite cell keys can be plain numbers. */
class Interner<A> {
  private readonly ids = new Map<A, number>()
  of(value: A): number {
    let id = this.ids.get(value)
    if (id === undefined) {
      id = this.ids.size
      this.ids.set(value, id)
    }
    return id
  }
}

/**
 * Pairwise accuracy of `predicted` against `truth`. Both map a record key to its entity / cluster id.
 *
 * A record present in only one map is a singleton on the side that lacks it: it adds no pair there,
 * so a record the resolver dropped costs recall, and one the truth does not know costs nothing.
 */
export const pairwise = (
  truth: ReadonlyMap<string, string>,
  predicted: ReadonlyMap<string, string>,
  options: PairwiseOptions = {}
): PairwiseAccuracy => {
  const groupOf = options.crossGroupOnly
  const truthIds = new Interner<string>()
  const predictedIds = new Interner<string>()
  const cellIds = new Interner<number>()
  const groupIds = new Interner<string>()

  const truthCounts = new Map<number, number>()
  const predictedCounts = new Map<number, number>()
  const cellCounts = new Map<number, number>()
  // Same clusters split further by group: the pairs inside them are same-group pairs to subtract.
  const truthGroupCounts = new Map<number, number>()
  const predictedGroupCounts = new Map<number, number>()
  const cellGroupCounts = new Map<number, number>()
  // Index * bound + group stays below 2^53 for any realistic record count (bound <= records).
  const bound = truth.size + predicted.size + 1

  let records = 0
  const visit = (key: string, t: string | undefined, p: string | undefined): void => {
    records++
    const g = groupOf === undefined ? -1 : groupIds.of(groupOf(key))
    const ti = t === undefined ? -1 : truthIds.of(t)
    const pi = p === undefined ? -1 : predictedIds.of(p)
    if (ti >= 0) {
      bump(truthCounts, ti)
      if (g >= 0) bump(truthGroupCounts, ti * bound + g)
    }
    if (pi >= 0) {
      bump(predictedCounts, pi)
      if (g >= 0) bump(predictedGroupCounts, pi * bound + g)
    }
    if (ti >= 0 && pi >= 0) {
      const cell = cellIds.of(ti * bound + pi)
      bump(cellCounts, cell)
      if (g >= 0) bump(cellGroupCounts, cell * bound + g)
    }
  }
  for (const [key, t] of truth) visit(key, t, predicted.get(key))
  for (const [key, p] of predicted) if (!truth.has(key)) visit(key, undefined, p)

  const truePairs = sumPairs(truthCounts) - sumPairs(truthGroupCounts)
  const predictedPairs = sumPairs(predictedCounts) - sumPairs(predictedGroupCounts)
  const correctPairs = sumPairs(cellCounts) - sumPairs(cellGroupCounts)
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
  return { precision, recall, f1, truePairs, predictedPairs, correctPairs, records }
}
