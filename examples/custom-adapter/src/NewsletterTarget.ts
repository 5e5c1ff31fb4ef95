/**
 * A consent target for the file-backed newsletter tool. The author writes four primitives
 * (pushBatch, pullPage, readBatch, eraseBatch) over the file; `ConsentTarget.make` derives
 * batching to `maxBatchSize`, the checks (target, fields, statuses, refs), per-item results and the
 * error discipline. Writes within one process are serialised; the file is replaced atomically.
 */
import { AdapterError, type ConsentDiff, ConsentTarget } from "@living-profile/core"
import { Config, type ConfigError, Effect, Layer, Option } from "effect"
import {
  toDeletedRecord,
  toHeldPerson,
  toPulledChange,
  toRecord,
  toToolStatus,
  sameEmail
} from "./Mappers.js"
import {
  load,
  type NewsletterData,
  save,
  type Subscriber,
  type Subscription,
  type Tombstone
} from "./NewsletterFile.js"

/** Options of the newsletter target. */
export interface Options {
  /** The tool's subscriber file. */
  readonly path: string
  /** Default `newsletter`. */
  readonly name?: string
  /** The lists (target fields) the tool has; default `weekly` and `offers`. */
  readonly lists?: ReadonlyArray<string>
  /** Default: marketing/email as `weekly`, offers/email as `offers`. */
  readonly mapping?: ConsentDiff.TargetMapping
  /** Changes per pull page; default 100. */
  readonly pageSize?: number
  /** Diffs per file rewrite; default 100. */
  readonly maxBatchSize?: number
  /** Epoch millis; default Date.now. */
  readonly now?: () => number
}

/** The default mapping of a target named `name`. */
export const defaultMapping = (name: string): ConsentDiff.TargetMapping => ({
  target: name,
  keys: [
    { purpose: "marketing", channel: "email", field: "weekly" },
    { purpose: "offers", channel: "email", field: "offers" }
  ]
})

interface DraftSubscriber extends Omit<Subscriber, "lists" | "mergeFields"> {
  lists: Record<string, Subscription>
  mergeFields: Record<string, string>
}

/** A working copy of the file that the primitives change in place and then save. */
interface Draft {
  seq: number
  nextId: number
  subscribers: Array<DraftSubscriber>
  tombstones: Array<Tombstone>
}

const draftOf = (data: NewsletterData): Draft => ({
  seq: data.seq,
  nextId: data.nextId,
  subscribers: data.subscribers.map((s) => ({
    ...s,
    lists: { ...s.lists },
    mergeFields: { ...s.mergeFields }
  })),
  tombstones: [...data.tombstones]
})

const dataOf = (d: Draft): NewsletterData => ({
  format: "tinyletter/1",
  seq: d.seq,
  nextId: d.nextId,
  subscribers: d.subscribers,
  tombstones: d.tombstones
})

/** The subscriber a ref names: by id when given (no fallback: the id may have been erased on purpose), else by e-mail. */
const locate = (d: Draft, ref: ConsentTarget.PersonRef): DraftSubscriber | undefined => {
  if (ref.externalId !== undefined) return d.subscribers.find((s) => s.id === ref.externalId)
  const emails = ref.identifiers?.["email"] ?? []
  return d.subscribers.find((s) => emails.some((e) => sameEmail(e, s.email)))
}

const CURSOR = /^v1:(\d+)$/

/** A consent target over the newsletter tool's file. */
export const make = (options: Options): ConsentTarget.ConsentTarget => {
  const name = options.name ?? "newsletter"
  const { path } = options
  const lists = options.lists ?? ["weekly", "offers"]
  const pageSize = Math.max(1, options.pageSize ?? 100)
  const now = options.now ?? Date.now
  // Read-modify-write of one file: two writers in this process must not interleave.
  const lock = Effect.unsafeMakeSemaphore(1)
  const exclusive = lock.withPermits(1)

  const pushBatch = (diffs: ReadonlyArray<ConsentTarget.TargetDiff>) =>
    exclusive(
      Effect.gen(function* () {
        const d = draftOf(yield* load(name, path, "push"))
        const at = new Date(now()).toISOString()
        let changed = false
        const results = diffs.map((diff): ConsentTarget.PushResult => {
          let s = locate(d, diff.ref)
          if (s === undefined && diff.ref.externalId !== undefined)
            return ConsentTarget.failed(
              AdapterError.notFound(name, "no subscriber has this id", { operation: "push" })
            )
          if (s?.locked === true)
            return ConsentTarget.failed(
              AdapterError.conflict(name, "the subscriber is being edited in the tool", { operation: "push" })
            )
          if (s === undefined) {
            // make() only lets a ref without id through when it has an e-mail.
            const email = diff.ref.identifiers?.["email"]?.[0] ?? ""
            s = { id: `s${d.nextId++}`, email, mergeFields: {}, seq: ++d.seq, updatedAt: at, lists: {} }
            d.subscribers.push(s)
            changed = true
          }
          for (const c of diff.changes) {
            const status = toToolStatus(c.to)
            const version = c.because.policyVersion
            const held = s.lists[c.field]
            // The same status again is no change: re-pushing leaves the file as it was.
            if (held !== undefined && held.status === status && held.consentVersion === version) continue
            s.lists[c.field] = {
              status,
              changedAt: at,
              seq: ++d.seq,
              ...(version === undefined ? {} : { consentVersion: version })
            }
            changed = true
          }
          return ConsentTarget.applied(s.id, at)
        })
        if (changed) yield* save(name, path, dataOf(d), "push")
        return results
      })
    )

  const pullPage = (cursor: Option.Option<string>) =>
    Effect.gen(function* () {
      const data = yield* load(name, path, "pull")
      let after = 0
      if (Option.isSome(cursor)) {
        const m = CURSOR.exec(cursor.value)
        after = m === null ? Number.NaN : Number(m[1])
        if (!(after >= 0 && after <= data.seq))
          return yield* Effect.fail(
            AdapterError.invalid(name, "the cursor was not issued by this file", { operation: "pull" })
          )
      }
      type Item =
        | { readonly seq: number; readonly kind: "change"; readonly s: Subscriber; readonly list: string }
        | { readonly seq: number; readonly kind: "record"; readonly s: Subscriber }
        | { readonly seq: number; readonly kind: "deleted"; readonly t: Tombstone }
      const items: Array<Item> = []
      for (const s of data.subscribers) {
        if (s.seq > after) items.push({ seq: s.seq, kind: "record", s })
        for (const [list, sub] of Object.entries(s.lists))
          if (sub.seq > after) items.push({ seq: sub.seq, kind: "change", s, list })
      }
      for (const t of data.tombstones) if (t.seq > after) items.push({ seq: t.seq, kind: "deleted", t })
      items.sort((a, b) => a.seq - b.seq)
      const page = items.slice(0, pageSize)
      const changes: Array<ConsentTarget.PulledChange> = []
      const records: Array<ReturnType<typeof toRecord>> = []
      for (const item of page) {
        if (item.kind === "change") changes.push(toPulledChange(item.s, item.list, item.s.lists[item.list]!))
        else if (item.kind === "record") records.push(toRecord(name, item.s))
        else records.push(toDeletedRecord(name, item.t))
      }
      const last = page[page.length - 1]?.seq ?? after
      return { changes, records, cursor: `v1:${last}`, hasMore: items.length > page.length }
    })

  const readBatch = (refs: ReadonlyArray<ConsentTarget.PersonRef>) =>
    Effect.map(load(name, path, "read"), (data) => {
      const d = draftOf(data)
      return refs.map((ref) => Option.map(Option.fromNullable(locate(d, ref)), toHeldPerson))
    })

  const eraseBatch = (refs: ReadonlyArray<ConsentTarget.PersonRef>) =>
    exclusive(
      Effect.gen(function* () {
        const d = draftOf(yield* load(name, path, "erase"))
        const at = new Date(now()).toISOString()
        let changed = false
        const results = refs.map((ref): ConsentTarget.EraseResult => {
          const s = locate(d, ref)
          if (s === undefined) return ConsentTarget.absent
          // Everything of the person goes; the id stays as a tombstone so that pulls report the deletion.
          d.subscribers = d.subscribers.filter((x) => x !== s)
          d.tombstones.push({ id: s.id, deletedAt: at, seq: ++d.seq })
          changed = true
          return ConsentTarget.erased
        })
        if (changed) yield* save(name, path, dataOf(d), "erase")
        return results
      })
    )

  return ConsentTarget.make({
    name,
    mapping: options.mapping ?? defaultMapping(name),
    capabilities: {
      fields: lists,
      identifiers: ["email"],
      records: true,
      policyVersion: true,
      maxBatchSize: options.maxBatchSize ?? 100
    },
    pushBatch,
    pullPage,
    readBatch,
    eraseBatch
  })
}

/** The newsletter target as the ConsentTarget service. */
export const layer = (options: Options): Layer.Layer<ConsentTarget.Tag> =>
  Layer.sync(ConsentTarget.Tag, () => make(options))

/** The newsletter target configured from `NEWSLETTER_FILE` and `NEWSLETTER_LISTS` (comma-separated). */
export const layerConfig = (
  config: Config.Config<Options> = Config.all({
    path: Config.string("NEWSLETTER_FILE"),
    lists: Config.array(Config.string(), "NEWSLETTER_LISTS").pipe(Config.withDefault(["weekly", "offers"]))
  })
): Layer.Layer<ConsentTarget.Tag, ConfigError.ConfigError> =>
  Layer.effect(ConsentTarget.Tag, Effect.map(config, make))
