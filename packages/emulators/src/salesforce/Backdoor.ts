/**
 * Direct access to the emulator's state for tests: read and write records without HTTP, without
 * authentication, without counting against the API limit and without validation (so a test can
 * build states the API would refuse, such as two records with the same external id). Records come
 * back in their JSON form, without `attributes`: dateTimes as `2026-01-01T10:00:00.000+0000`,
 * frozen (one object per stored version of a record, shared by every read of it).
 */
import type { FaultRegistry } from "./Faults.js"
import { to18 } from "./Ids.js"
import type { ApiLimits } from "./Limits.js"
import type { Org } from "./Org.js"
import type { Cursors } from "./Query.js"
import type { RequestLog, RequestLogEntry } from "./RequestLog.js"
import type { ObjectDef, Value } from "./Schema.js"
import { truncateToSecond } from "./Dates.js"
import type { StoredRecord } from "./Store.js"
import { DecodeError, decode, valuesJson } from "./Wire.js"

/** A record as the backdoor shows it: field name to JSON value. */
export type BackdoorRecord = Readonly<Record<string, unknown>>

/** When a backdoor write happens (default: the emulator clock's now). */
export interface WriteOptions {
  /** The time stamped into CreatedDate / LastModifiedDate / SystemModstamp (or the deletion). */
  readonly at?: string | Date | number
}

/** Options of backdoor reads. */
export interface ReadOptions {
  /** Include records in the recycle bin. */
  readonly includeDeleted?: boolean
}

/** Test access to the emulator's records and request log. */
export interface Backdoor {
  /** A record by object and 15- or 18-character id; undefined when absent (or deleted, unless asked). */
  readonly get: (object: string, id: string, options?: ReadOptions) => BackdoorRecord | undefined
  /** Records of an object that satisfy the predicate (all when omitted), in insertion order. */
  readonly query: (
    object: string,
    predicate?: (record: BackdoorRecord) => boolean,
    options?: ReadOptions
  ) => ReadonlyArray<BackdoorRecord>
  /** How many records an object has. */
  readonly count: (object: string, options?: ReadOptions) => number
  /**
   * Inserts a record; fields are JSON values (a Date is accepted for dateTimes). System fields
   * (CreatedDate, LastModifiedDate, SystemModstamp, OwnerId) may be given; otherwise the time is
   * `at` or now. Returns the stored record.
   */
  readonly insert: (
    object: string,
    fields: Readonly<Record<string, unknown>>,
    options?: WriteOptions
  ) => BackdoorRecord
  /** Changes fields of a live record and stamps LastModifiedDate / SystemModstamp (unless given). */
  readonly update: (
    object: string,
    id: string,
    fields: Readonly<Record<string, unknown>>,
    options?: WriteOptions
  ) => BackdoorRecord
  /** Moves a record to the recycle bin, deleted at `at` or now (it shows in getDeleted and queryAll). */
  readonly delete: (object: string, id: string, options?: WriteOptions) => void
  /** Deletes every record, closes query cursors, clears the request log, API usage and faults. Sessions and the clock stay. */
  readonly reset: () => void
  /** The requests answered so far, oldest first (a copy). */
  readonly requestLog: ReadonlyArray<RequestLogEntry>
  /** Forgets the request log. */
  readonly clearRequestLog: () => void
}

/** Everything the backdoor reaches. */
export interface BackdoorDeps {
  readonly org: Org
  readonly cursors: Cursors
  readonly log: RequestLog
  readonly limits: ApiLimits
  readonly faults: FaultRegistry
}

const timeOf = (org: Org, at: WriteOptions["at"]): number => {
  if (at === undefined) return truncateToSecond(org.clock.now())
  const ms = typeof at === "number" ? at : typeof at === "string" ? Date.parse(at) : at.getTime()
  if (!Number.isFinite(ms)) throw new Error(`backdoor: not a valid time: ${String(at)}`)
  return truncateToSecond(ms)
}

/** The backdoor of an emulator. */
export const make = (deps: BackdoorDeps): Backdoor => {
  const { org } = deps
  const object = (name: string): ObjectDef => {
    const o = org.schema.object(name)
    if (o === undefined) throw new Error(`backdoor: unknown object ${name}`)
    return o
  }
  // Stored records are immutable (a write stores a new one), so each keeps its JSON form: tests
  // that read every record per assertion stay linear in the records they read. Frozen, as shared.
  const shown = new WeakMap<StoredRecord, BackdoorRecord>()
  const show = (o: ObjectDef, r: StoredRecord): BackdoorRecord => {
    const known = shown.get(r)
    if (known !== undefined) return known
    const json = Object.freeze(valuesJson(o, r.values))
    shown.set(r, json)
    return json
  }
  const values = (o: ObjectDef, fields: Readonly<Record<string, unknown>>): Record<string, Value> => {
    const out: Record<string, Value> = {}
    for (const [key, raw] of Object.entries(fields)) {
      const f = o.field(key)
      if (f === undefined) throw new Error(`backdoor: no field ${key} on ${o.name}`)
      if (f.name === "Id" || f.name === "IsDeleted") throw new Error(`backdoor: ${f.name} cannot be written`)
      try {
        const v = decode(f, raw instanceof Date ? raw.toISOString() : raw)
        out[f.name] = f.type === "reference" && typeof v === "string" ? (to18(v) ?? v) : v
      } catch (e) {
        if (e instanceof DecodeError) throw new Error(`backdoor: ${o.name}.${f.name}: ${e.message}`)
        throw e
      }
    }
    return out
  }
  const computed = (o: ObjectDef, v: Record<string, Value>): Record<string, Value> => {
    for (const f of o.fields) if (f.computed !== undefined) v[f.name] = f.computed(v)
    return v
  }
  const live = (o: ObjectDef, id: string): StoredRecord => {
    const id18 = to18(id)
    const r = id18 === undefined ? undefined : org.store.get(o.name, id18)
    if (r === undefined || r.deletedAt !== undefined) throw new Error(`backdoor: no live ${o.name} ${id}`)
    return r
  }
  const defaultUser = org.users[0]?.id ?? null

  return {
    get: (name, id, options = {}) => {
      const o = object(name)
      const id18 = to18(id)
      const r = id18 === undefined ? undefined : org.store.get(o.name, id18)
      if (r === undefined || (r.deletedAt !== undefined && options.includeDeleted !== true)) return undefined
      return show(o, r)
    },
    query: (name, predicate = () => true, options = {}) => {
      const o = object(name)
      const out: Array<BackdoorRecord> = []
      for (const r of org.store.all(o.name)) {
        if (options.includeDeleted !== true && r.deletedAt !== undefined) continue
        const json = show(o, r)
        if (predicate(json)) out.push(json)
      }
      return out
    },
    count: (name, options = {}) => {
      const o = object(name)
      return [...org.store.all(o.name)].filter(
        (r) => options.includeDeleted === true || r.deletedAt === undefined
      ).length
    },
    insert: (name, fields, options = {}) => {
      const o = object(name)
      const at = timeOf(org, options.at)
      const v: Record<string, Value> = {}
      for (const f of o.fields) v[f.name] = f.defaultValue ?? (f.type === "boolean" ? false : null)
      Object.assign(v, {
        OwnerId: defaultUser,
        CreatedById: defaultUser,
        LastModifiedById: defaultUser,
        CreatedDate: at,
        LastModifiedDate: at,
        SystemModstamp: at
      })
      Object.assign(v, values(o, fields))
      const id = org.ids.next(o.keyPrefix)
      v["Id"] = id
      v["IsDeleted"] = false
      const r: StoredRecord = { type: o.name, id, values: computed(o, v) }
      org.store.put(r)
      return show(o, r)
    },
    update: (name, id, fields, options = {}) => {
      const o = object(name)
      const r = live(o, id)
      const at = timeOf(org, options.at)
      const v = { ...r.values, LastModifiedDate: at, SystemModstamp: at, ...values(o, fields) }
      const next: StoredRecord = { type: o.name, id: r.id, values: computed(o, v) }
      org.store.put(next)
      return show(o, next)
    },
    delete: (name, id, options = {}) => {
      const o = object(name)
      const r = live(o, id)
      const at = timeOf(org, options.at)
      org.store.put({
        type: o.name,
        id: r.id,
        values: { ...r.values, IsDeleted: true, LastModifiedDate: at, SystemModstamp: at },
        deletedAt: at
      })
    },
    reset: () => {
      org.store.clear()
      org.lastPurgedDeletion = undefined
      deps.cursors.clear()
      deps.log.clear()
      deps.limits.reset()
      deps.faults.clear()
    },
    get requestLog() {
      return deps.log.snapshot()
    },
    clearRequestLog: () => deps.log.clear()
  }
}
