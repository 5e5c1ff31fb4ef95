/**
 * The plain baseline: exact e-mail and phone keys (lower-cased, digits only) joined by a
 * union-find, written simply. It shows what the extra quality of the real engine costs.
 */
import type { SourceRecord } from "@living-profile/core"

/** Clusters records by exact shared e-mail or phone; returns cluster ids by record index. */
export const baseline = (records: ReadonlyArray<SourceRecord.SourceRecord>): Int32Array => {
  const parent = new Int32Array(records.length)
  for (let i = 0; i < parent.length; i++) parent[i] = i
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!
      x = parent[x]!
    }
    return x
  }
  const owner = new Map<string, number>()
  for (let i = 0; i < records.length; i++) {
    const ids = records[i]!.identifiers
    if (ids === undefined) continue
    const keys: Array<string> = []
    for (const e of ids["email"] ?? []) keys.push(`e${e.trim().toLowerCase()}`)
    for (const p of ids["phone"] ?? []) keys.push(`p${p.replace(/\D/g, "")}`)
    for (const k of keys) {
      const o = owner.get(k)
      if (o === undefined) owner.set(k, i)
      else {
        const a = find(o)
        const b = find(i)
        if (a !== b) parent[a] = b
      }
    }
  }
  for (let i = 0; i < parent.length; i++) parent[i] = find(i)
  return parent
}
