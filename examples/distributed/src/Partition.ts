/**
 * A clustering as what it means, apart from profile ids: the set of sets of record keys. Two stores
 * agree when their partitions are equal, whatever ids each gave its profiles (ids depend on which
 * process materialised first; the grouping must not).
 */
import { type ProfileStore, SourceRecord } from "@living-profile/core"

/** Sorted groups of sorted record keys: equal iff the set of sets is. */
export type Partition = ReadonlyArray<ReadonlyArray<string>>

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The partition of some profiles. */
export const of = (profiles: Iterable<ProfileStore.StoredProfile>): Partition =>
  [...profiles]
    .map((p) => p.records.map(SourceRecord.recordKey).sort(compare))
    .sort((a, b) => compare(a.join("\n"), b.join("\n")))

/** How many records a partition holds. */
export const size = (p: Partition): number => p.reduce((n, group) => n + group.length, 0)

/** Groups of `a` that `b` does not have, and the other way round. */
export const difference = (
  a: Partition,
  b: Partition
): { readonly onlyA: number; readonly onlyB: number } => {
  const keysA = new Set(a.map((g) => g.join("\n")))
  const keysB = new Set(b.map((g) => g.join("\n")))
  let onlyA = 0
  let onlyB = 0
  for (const k of keysA) if (!keysB.has(k)) onlyA++
  for (const k of keysB) if (!keysA.has(k)) onlyB++
  return { onlyA, onlyB }
}

/** Whether two partitions are the same set of sets. */
export const equal = (a: Partition, b: Partition): boolean =>
  a.length === b.length &&
  a.every((group, i) => {
    const other = b[i]!
    return group.length === other.length && group.every((key, j) => key === other[j])
  })
