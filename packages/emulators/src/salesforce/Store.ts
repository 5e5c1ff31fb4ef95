/**
 * The in-memory records of the emulated org. Records are immutable snapshots replaced on every
 * write, which makes undo trivial: a `Journal` collects the inverse of each write so an
 * all-or-none collection or composite request can roll back. Deleted records stay in their table
 * (IsDeleted = true, with the deletion time) until purged, as in the recycle bin. Unique and
 * external id fields are indexed case-insensitively, over records not deleted.
 */
import type { Schema, Value } from "./Schema.js"

/** One stored record. `values` holds every field by its canonical name. */
export interface StoredRecord {
  readonly type: string
  readonly id: string
  readonly values: Readonly<Record<string, Value>>
  /** When the record was deleted (epoch ms), if it is in the recycle bin. */
  readonly deletedAt?: number
}

/** Undo steps of the writes of one transaction, for all-or-none rollback. */
export class Journal {
  private readonly undo: Array<() => void> = []

  /** Remembers how to undo one write. */
  record(step: () => void): void {
    this.undo.push(step)
  }

  /** Undoes every recorded write, newest first, and forgets them. */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]?.()
    this.undo.length = 0
  }

  /** Moves the undo steps of a finished inner transaction into this one. */
  absorb(inner: Journal): void {
    this.undo.push(...inner.undo)
    inner.undo.length = 0
  }
}

type Index = Map<string, Set<string>>

/** The records of every object. */
export class Store {
  private readonly tables = new Map<string, Map<string, StoredRecord>>()
  /** type -> field -> lower-cased value -> ids */
  private readonly indexes = new Map<string, Map<string, Index>>()

  constructor(private readonly schema: Schema) {
    for (const o of schema.objects) {
      this.tables.set(o.name, new Map())
      const indexed = new Map<string, Index>()
      for (const f of o.fields) if (f.externalId || f.unique) indexed.set(f.name, new Map())
      this.indexes.set(o.name, indexed)
    }
  }

  private table(type: string): Map<string, StoredRecord> {
    const t = this.tables.get(type)
    if (t === undefined) throw new Error(`Store: unknown object ${type}`)
    return t
  }

  /** A record by type and 18-character id, deleted or not. */
  get(type: string, id: string): StoredRecord | undefined {
    return this.tables.get(type)?.get(id)
  }

  /** A record by 18-character id alone (its key prefix names the object). */
  find(id: string): StoredRecord | undefined {
    const o = this.schema.byPrefix(id.slice(0, 3))
    return o === undefined ? undefined : this.get(o.name, id)
  }

  /** Every record of a type, in insertion order, deleted ones included. */
  all(type: string): IterableIterator<StoredRecord> {
    return this.table(type).values()
  }

  /** How many records of a type are stored (deleted ones included). */
  size(type: string): number {
    return this.table(type).size
  }

  /** Live records whose indexed field equals the value, case-insensitively. */
  lookup(type: string, field: string, value: string): ReadonlyArray<StoredRecord> {
    const index = this.indexes.get(type)?.get(field)
    if (index === undefined) {
      // Not indexed (e.g. Id): a scan is fine, it is only used for Id upserts.
      const key = value.toLowerCase()
      return [...this.all(type)].filter(
        (r) => r.deletedAt === undefined && String(r.values[field] ?? "").toLowerCase() === key
      )
    }
    const ids = index.get(value.toLowerCase())
    if (ids === undefined) return []
    return [...ids].flatMap((id) => {
      const r = this.get(type, id)
      return r === undefined ? [] : [r]
    })
  }

  /** Inserts or replaces a record, recording the undo step in the journal if given. */
  put(record: StoredRecord, journal?: Journal): void {
    const table = this.table(record.type)
    const previous = table.get(record.id)
    this.unindex(previous)
    table.set(record.id, record)
    this.index(record)
    journal?.record(() => (previous === undefined ? this.purge(record.type, record.id) : this.put(previous)))
  }

  /** Removes a record for good (recycle bin emptied), recording the undo step if given. */
  purge(type: string, id: string, journal?: Journal): void {
    const table = this.table(type)
    const previous = table.get(id)
    if (previous === undefined) return
    this.unindex(previous)
    table.delete(id)
    journal?.record(() => this.put(previous))
  }

  /** Removes every record. */
  clear(): void {
    for (const t of this.tables.values()) t.clear()
    for (const fields of this.indexes.values()) for (const index of fields.values()) index.clear()
  }

  private index(r: StoredRecord): void {
    if (r.deletedAt !== undefined) return
    for (const [field, index] of this.indexes.get(r.type) ?? []) {
      const v = r.values[field]
      if (v === null || v === undefined || v === "") continue
      const key = String(v).toLowerCase()
      const ids = index.get(key) ?? new Set<string>()
      ids.add(r.id)
      index.set(key, ids)
    }
  }

  private unindex(r: StoredRecord | undefined): void {
    if (r === undefined || r.deletedAt !== undefined) return
    for (const [field, index] of this.indexes.get(r.type) ?? []) {
      const v = r.values[field]
      if (v === null || v === undefined || v === "") continue
      const key = String(v).toLowerCase()
      const ids = index.get(key)
      ids?.delete(r.id)
      if (ids !== undefined && ids.size === 0) index.delete(key)
    }
  }
}
