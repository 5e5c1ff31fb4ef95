/**
 * The emulated org: its id, users, records, clock and id generator, shared by every handler.
 */
import type { Clock } from "./Clock.js"
import type { RecordFaultError } from "./Faults.js"
import type { IdGenerator } from "./Ids.js"
import type { Schema } from "./Schema.js"
import type { Store } from "./Store.js"

/** A user of the org with the credentials of its connected app. */
export interface User {
  readonly id: string
  readonly username: string
  readonly password: string
  readonly clientId: string
  readonly clientSecret: string
}

/** Shared state of the emulated org. */
export interface Org {
  readonly id: string
  readonly schema: Schema
  readonly store: Store
  readonly clock: Clock
  readonly ids: IdGenerator
  readonly users: ReadonlyArray<User>
  /** The injected error for a record write, if a record fault matches it. */
  readonly recordFault: (
    object: string,
    operation: "create" | "update" | "delete",
    id: string | undefined,
    record: () => Readonly<Record<string, unknown>>
  ) => RecordFaultError | undefined
  /** Deletion time of the newest record purged from the recycle bin (getDeleted's earliestDateAvailable). */
  lastPurgedDeletion: number | undefined
}

/** How long deleted records stay in the recycle bin (and in getDeleted / queryAll). */
export const recycleBinMs = 15 * 24 * 3600 * 1000

/** Empties the recycle bin of records deleted more than 15 days ago (by the org clock). */
export const purgeRecycleBin = (org: Org): void => {
  const cutoff = org.clock.now() - recycleBinMs
  for (const o of org.schema.objects) {
    for (const r of [...org.store.all(o.name)]) {
      if (r.deletedAt !== undefined && r.deletedAt < cutoff) {
        org.store.purge(o.name, r.id)
        org.lastPurgedDeletion = Math.max(org.lastPurgedDeletion ?? 0, r.deletedAt)
      }
    }
  }
}
