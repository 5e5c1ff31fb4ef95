/**
 * Survivorship: which value of each attribute a profile shows, under a per-attribute policy
 * (most recent, source priority, most frequent), each value with its provenance.
 */
import type { ResolverConfig } from "./ResolverConfig.js"
import type { SourceRecord } from "./SourceRecord.js"

/** Where a value came from. */
export interface Provenance {
  readonly source: string
  readonly id: string
  readonly updatedAt?: string
}

/** The surviving value of one attribute, with its provenance and how it was chosen. */
export interface SurvivingValue extends Provenance {
  readonly value: string | number | boolean
  /** How it was chosen; `rectified`: corrected on the profile (GDPR Art. 16), outranking every source. */
  readonly policy: "mostRecent" | "sourcePriority" | "mostFrequent" | "rectified"
  /** How many of the profile's records carry this attribute. */
  readonly candidates: number
}

/** An identifier value of a profile and the records that carry it. */
export interface IdentifierValue {
  readonly value: string
  readonly records: ReadonlyArray<Provenance>
}

interface Candidate {
  readonly value: string | number | boolean
  readonly record: SourceRecord
  readonly time: number
}

const provenance = (r: SourceRecord): Provenance =>
  r.updatedAt === undefined
    ? { source: r.source, id: r.id }
    : { source: r.source, id: r.id, updatedAt: r.updatedAt }

/** Orders candidates newest first; ties broken by source then id so the outcome never depends on input order. */
const newestFirst = (a: Candidate, b: Candidate): number =>
  b.time - a.time ||
  (a.record.source < b.record.source ? -1 : a.record.source > b.record.source ? 1 : 0) ||
  (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0)

const comparable = (v: string | number | boolean): string =>
  typeof v === "string" ? v.normalize("NFC").trim().toLocaleLowerCase("und") : String(v)

const pick = (
  policy: "mostRecent" | "sourcePriority" | "mostFrequent",
  candidates: Array<Candidate>,
  priority: ReadonlyArray<string>
): Candidate => {
  candidates.sort(newestFirst)
  if (policy === "sourcePriority") {
    const rank = (c: Candidate) => {
      const i = priority.indexOf(c.record.source)
      return i < 0 ? priority.length : i
    }
    let best = candidates[0]!
    for (const c of candidates) if (rank(c) < rank(best)) best = c
    return best
  }
  if (policy === "mostFrequent") {
    const counts = new Map<string, number>()
    for (const c of candidates) counts.set(comparable(c.value), (counts.get(comparable(c.value)) ?? 0) + 1)
    let best = candidates[0]!
    for (const c of candidates)
      if (counts.get(comparable(c.value))! > counts.get(comparable(best.value))!) best = c
    return best
  }
  return candidates[0]!
}

/** A correction of one attribute made on the profile itself. */
export interface Correction {
  readonly attribute: string
  readonly value: string | number | boolean
  readonly at: string
  readonly by: string
}

/**
 * The surviving attributes of a set of records (null and empty values never survive); the latest
 * correction of an attribute outranks every record's value.
 */
export const attributes = (
  records: ReadonlyArray<SourceRecord>,
  config: ResolverConfig["survivorship"],
  corrections: ReadonlyArray<Correction> = []
): Record<string, SurvivingValue> => {
  const byName = new Map<string, Array<Candidate>>()
  for (const record of records) {
    const attrs = record.attributes
    if (attrs === undefined) continue
    const time = record.updatedAt === undefined ? 0 : Date.parse(record.updatedAt)
    for (const name in attrs) {
      const value = attrs[name]
      if (value === null || value === undefined || value === "") continue
      const list = byName.get(name)
      const c = { value, record, time }
      if (list === undefined) byName.set(name, [c])
      else list.push(c)
    }
  }
  const out: Record<string, SurvivingValue> = {}
  for (const name of [...byName.keys()].sort()) {
    const candidates = byName.get(name)!
    const policy = config.attributes[name] ?? config.default
    const winner = pick(policy, candidates, config.sourcePriority)
    out[name] = { value: winner.value, ...provenance(winner.record), policy, candidates: candidates.length }
  }
  const latest = new Map<string, Correction>()
  for (const c of corrections) {
    const seen = latest.get(c.attribute)
    if (seen === undefined || Date.parse(c.at) >= Date.parse(seen.at)) latest.set(c.attribute, c)
  }
  for (const [name, c] of latest) {
    out[name] = {
      value: c.value,
      source: "rectification",
      id: c.by,
      updatedAt: c.at,
      policy: "rectified",
      candidates: (byName.get(name)?.length ?? 0) + 1
    }
  }
  return out
}

/** The identifiers of a set of records, grouped by type and value, with the records carrying each. */
export const identifiers = (records: ReadonlyArray<SourceRecord>): Record<string, Array<IdentifierValue>> => {
  const byType = new Map<string, Map<string, Array<Provenance>>>()
  for (const record of records) {
    const ids = record.identifiers
    if (ids === undefined) continue
    for (const type in ids) {
      let values = byType.get(type)
      if (values === undefined) byType.set(type, (values = new Map()))
      for (const raw of ids[type]!) {
        const v = raw.trim()
        if (v === "") continue
        const list = values.get(v)
        if (list === undefined) values.set(v, [provenance(record)])
        else list.push(provenance(record))
      }
    }
  }
  const out: Record<string, Array<IdentifierValue>> = {}
  for (const type of [...byType.keys()].sort()) {
    out[type] = [...byType.get(type)!.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([value, recs]) => ({ value, records: recs }))
  }
  return out
}
