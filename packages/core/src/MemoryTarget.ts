/**
 * The in-memory reference consent target: a small simulated system (persons with identifiers,
 * attributes and consent fields, a change log that pull reads, an API that limits batch sizes and
 * checks credentials) and a target built on it with `ConsentTarget.make`, the way an author would.
 * The backdoor reads and writes the system's state directly, as someone using the system would,
 * and injects failures; the conformance kit and the sync engine's tests drive it.
 *
 * Time comes from `options.now` or else from Effect's `Clock`, so that `TestClock` moves it.
 */
import { Clock, type Duration, Effect, Layer, Option } from "effect"
import * as AdapterError from "./AdapterError.js"
import type { HeldStatus, TargetMapping } from "./ConsentDiff.js"
import { toMillis } from "./ConsentEvent.js"
import * as ConsentTarget from "./ConsentTarget.js"
import type { EffectiveStatus } from "./ConsentLedger.js"
import type { SourceRecord } from "./SourceRecord.js"

/** An attribute value of a person (as `SourceRecord.attributes`). */
export type AttributeValue = string | number | boolean | null

/** A failure the backdoor makes the system produce. */
export type Fault =
  /** Calls answer "too many requests, retry after `retryAfter`". */
  | {
      readonly _tag: "RateLimited"
      readonly retryAfter: Duration.DurationInput
      readonly operation?: AdapterError.Operation
      readonly times?: number
    }
  /** Calls answer "credentials refused" (an expired token mid-run). */
  | { readonly _tag: "Unauthorized"; readonly operation?: AdapterError.Operation; readonly times?: number }
  /**
   * The connection drops. With `afterItems`, a push applies that many items first and then drops:
   * applied in the system, unacknowledged for the caller (what an outbox must survive).
   */
  | {
      readonly _tag: "Transport"
      readonly operation?: AdapterError.Operation
      readonly times?: number
      readonly afterItems?: number
    }
  /** Pushes that touch this person fail for that item only (default reason Conflict). */
  | {
      readonly _tag: "Item"
      readonly externalId: string
      readonly reason?: AdapterError.Reason
      readonly times?: number
    }

/** The kinds of fault the backdoor can inject. */
export type FaultKind = Fault["_tag"]

/** One request the target made to the system, for tests of batching and rate limits. */
export interface Call {
  readonly operation: AdapterError.Operation
  /** Items in the request (1 for a pull). */
  readonly items: number
  /** Epoch millis. */
  readonly at: number
  /** Whether an injected fault or the credentials failed it. */
  readonly failed: boolean
}

/** Direct access to the simulated system: no credentials, limits or faults apply. */
export interface Backdoor {
  /** What the system holds for a person; none when it holds nothing. */
  readonly read: (externalId: string) => Effect.Effect<Option.Option<ConsentTarget.HeldPerson>>
  /** The person with this identifier (e-mails compared case-insensitively). */
  readonly find: (type: string, value: string) => Effect.Effect<Option.Option<string>>
  /** Creates a person as someone using the system would; returns the externalId it got. */
  readonly create: (person: {
    readonly identifiers: ConsentTarget.Identifiers
    readonly attributes?: Readonly<Record<string, AttributeValue>>
  }) => Effect.Effect<string>
  /** Sets a field as the person would in the system, at `modifiedAt` (default now); dies for an unknown person. */
  readonly write: (
    externalId: string,
    field: string,
    status: EffectiveStatus,
    modifiedAt?: string,
    policyVersion?: string
  ) => Effect.Effect<void>
  /** Deletes a person as someone using the system would (it shows in pull as a deleted record). */
  readonly remove: (externalId: string) => Effect.Effect<boolean>
  /** Every person, in creation order. */
  readonly persons: () => Effect.Effect<ReadonlyArray<ConsentTarget.HeldPerson>>
  /** The faults `failNext` supports. */
  readonly faults: ReadonlyArray<FaultKind>
  /** Makes the next matching call(s) fail (`times`, default 1). */
  readonly failNext: (fault: Fault) => Effect.Effect<void>
  /** Removes every pending fault. */
  readonly clearFaults: () => Effect.Effect<void>
  /** Every request the targets made so far, in order. */
  readonly calls: () => Effect.Effect<ReadonlyArray<Call>>
}

/** Options of the in-memory target. */
export interface Options {
  /** Default `memory`. */
  readonly name?: string
  /** Default: marketing/email as `newsletter`, marketing/sms as `sms-offers`, profiling/any as `profiling`. */
  readonly mapping?: TargetMapping
  /** Statuses beyond granted / denied it holds; default `withdrawn`. */
  readonly holds?: ReadonlyArray<HeldStatus>
  /** Field names the system has; default the mapping's; `"any"` accepts every name. */
  readonly fields?: ReadonlyArray<string> | "any"
  /** Identifier types it finds and creates persons by; default `email`. */
  readonly identifiers?: ReadonlyArray<string>
  /** Most items per request; the system refuses more. Default 25. */
  readonly maxBatchSize?: number
  /** Changes per pull page; default 50. */
  readonly pageSize?: number
  /** Epoch millis; default Effect's Clock. */
  readonly now?: () => number
  /** The target is configured with credentials the system refuses: every call fails Unauthorized. */
  readonly badCredentials?: boolean
  /** Which primitive the target is built from (`one` exercises make's per-item path). Default `batch`. */
  readonly push?: "batch" | "one"
}

/** What `make` returns: the target, the backdoor into its system, and a second-connection factory. */
export interface MemoryTarget {
  readonly target: ConsentTarget.ConsentTarget
  readonly backdoor: Backdoor
  /** Another target over the same system, as after a restart. */
  readonly reconnect: (options?: {
    readonly badCredentials?: boolean
  }) => Effect.Effect<ConsentTarget.ConsentTarget>
}

interface FieldState {
  status: EffectiveStatus
  at: number
  policyVersion: string | undefined
}

interface Person {
  readonly externalId: string
  readonly identifiers: Record<string, Array<string>>
  readonly attributes: Record<string, AttributeValue>
  readonly fields: Map<string, FieldState>
  updatedAt: number
}

type Entry =
  | {
      readonly seq: number
      readonly kind: "field"
      readonly externalId: string
      readonly field: string
      readonly status: EffectiveStatus
      readonly at: number
      readonly policyVersion: string | undefined
    }
  | {
      readonly seq: number
      readonly kind: "record" | "deleted"
      readonly externalId: string
      readonly at: number
    }

/** An entry before the log numbers it. */
type NewEntry = Entry extends infer E ? (E extends Entry ? Omit<E, "seq"> : never) : never

interface PendingFault {
  readonly fault: Fault
  remaining: number
}

const iso = (ms: number): string => new Date(ms).toISOString()

const normal = (type: string, value: string): string =>
  type === "email" ? value.normalize("NFC").toLowerCase() : value

const CURSOR = /^m1\.(\d+)$/

/** The simulated system behind every target of one `make` call. */
class System {
  readonly persons = new Map<string, Person>()
  log: Array<Entry> = []
  seq = 0
  private nextId = 0
  readonly faults: Array<PendingFault> = []
  readonly calls: Array<Call> = []

  constructor(readonly identifierTypes: ReadonlyArray<string>) {}

  newId(): string {
    this.nextId++
    return `p${this.nextId.toString(36)}`
  }

  append(entry: NewEntry): void {
    this.seq++
    this.log.push({ ...entry, seq: this.seq } as Entry)
  }

  find(type: string, value: string): Person | undefined {
    const wanted = normal(type, value)
    for (const p of this.persons.values())
      for (const v of p.identifiers[type] ?? []) if (normal(type, v) === wanted) return p
    return undefined
  }

  /** The person a ref names: by externalId when given (never falling back), else by identifiers. */
  locate(ref: ConsentTarget.PersonRef): Person | undefined {
    if (ref.externalId !== undefined) return this.persons.get(ref.externalId)
    for (const type of this.identifierTypes)
      for (const v of ref.identifiers?.[type] ?? []) {
        const p = this.find(type, v)
        if (p !== undefined) return p
      }
    return undefined
  }

  create(
    identifiers: ConsentTarget.Identifiers,
    attributes: Readonly<Record<string, AttributeValue>>,
    at: number
  ) {
    const person: Person = {
      externalId: this.newId(),
      identifiers: Object.fromEntries(Object.entries(identifiers).map(([t, vs]) => [t, [...vs]])),
      attributes: { ...attributes },
      fields: new Map(),
      updatedAt: at
    }
    this.persons.set(person.externalId, person)
    this.append({ kind: "record", externalId: person.externalId, at })
    return person
  }

  /** Sets a field; unchanged status and policy version change nothing, which makes pushes idempotent. */
  set(
    person: Person,
    field: string,
    status: EffectiveStatus,
    at: number,
    policyVersion: string | undefined
  ): void {
    const held = person.fields.get(field)
    if (held !== undefined && held.status === status && held.policyVersion === policyVersion) return
    person.fields.set(field, { status, at, policyVersion })
    person.updatedAt = Math.max(person.updatedAt, at)
    this.append({ kind: "field", externalId: person.externalId, field, status, at, policyVersion })
  }

  /** Deletes a person and, since erasure means it, every log entry that holds their data. */
  remove(externalId: string, at: number): boolean {
    if (!this.persons.delete(externalId)) return false
    this.log = this.log.filter((e) => e.externalId !== externalId)
    this.append({ kind: "deleted", externalId, at })
    return true
  }

  held(p: Person): ConsentTarget.HeldPerson {
    const fields = new Map<string, ConsentTarget.HeldField>()
    for (const [name, f] of p.fields)
      fields.set(
        name,
        f.policyVersion === undefined
          ? { status: f.status, modifiedAt: iso(f.at) }
          : { status: f.status, modifiedAt: iso(f.at), policyVersion: f.policyVersion }
      )
    return {
      externalId: p.externalId,
      identifiers: Object.fromEntries(Object.entries(p.identifiers).map(([t, vs]) => [t, [...vs]])),
      fields
    }
  }

  /** Takes the next call-level fault for this operation, if one is pending. */
  takeFault(operation: AdapterError.Operation): Fault | undefined {
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i]!
      if (f.fault._tag === "Item") continue
      if (f.fault.operation !== undefined && f.fault.operation !== operation) continue
      f.remaining--
      if (f.remaining <= 0) this.faults.splice(i, 1)
      return f.fault
    }
    return undefined
  }

  /** Takes an item fault for this person, if one is pending. */
  takeItemFault(externalId: string): AdapterError.Reason | undefined {
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i]!
      if (f.fault._tag !== "Item" || f.fault.externalId !== externalId) continue
      f.remaining--
      if (f.remaining <= 0) this.faults.splice(i, 1)
      return f.fault.reason ?? "Conflict"
    }
    return undefined
  }
}

/** The default mapping of a memory target named `name`. */
export const defaultMapping = (name: string): TargetMapping => ({
  target: name,
  keys: [
    { purpose: "marketing", channel: "email", field: "newsletter" },
    { purpose: "marketing", channel: "sms", field: "sms-offers" },
    { purpose: "profiling", channel: "any", field: "profiling" }
  ],
  holds: ["withdrawn"]
})

const targetOver = (
  system: System,
  options: Options,
  badCredentials: boolean
): ConsentTarget.ConsentTarget => {
  const name = options.name ?? "memory"
  const mapping = options.mapping ?? defaultMapping(name)
  const maxBatchSize = options.maxBatchSize ?? 25
  const pageSize = Math.max(1, options.pageSize ?? 50)
  const nowFn = options.now
  const now: Effect.Effect<number> = nowFn === undefined ? Clock.currentTimeMillis : Effect.sync(nowFn)
  const fields = options.fields ?? mapping.keys.map((k) => k.field)

  /**
   * The API's front door: credentials, injected call faults and the batch limit, in the order a
   * real service checks them. `applied` is how many items a dropped push applies first.
   */
  const enter = (operation: AdapterError.Operation, items: number) =>
    Effect.gen(function* () {
      const at = yield* now
      const fail = (e: AdapterError.AdapterError) => {
        system.calls.push({ operation, items, at, failed: true })
        return Effect.fail(e)
      }
      if (badCredentials)
        return yield* fail(
          AdapterError.unauthorized(name, "the API key was refused", { operation, code: "401" })
        )
      const fault = system.takeFault(operation)
      if (fault?._tag === "RateLimited")
        return yield* fail(
          AdapterError.rateLimited(name, "too many requests", fault.retryAfter, { operation, code: "429" })
        )
      if (fault?._tag === "Unauthorized")
        return yield* fail(AdapterError.unauthorized(name, "the token expired", { operation, code: "401" }))
      if (fault?._tag === "Transport" && (operation !== "push" || fault.afterItems === undefined))
        return yield* fail(
          AdapterError.transport(name, "the connection was reset", { operation, code: "ECONNRESET" })
        )
      if (items > maxBatchSize)
        return yield* fail(
          AdapterError.invalid(name, `a request carries at most ${maxBatchSize} items`, {
            operation,
            code: "413"
          })
        )
      system.calls.push({ operation, items, at, failed: false })
      return { at, dropAfter: fault?._tag === "Transport" ? fault.afterItems : undefined }
    })

  const pushItem = (d: ConsentTarget.TargetDiff, at: number): ConsentTarget.PushResult => {
    let person = system.locate(d.ref)
    if (person === undefined && d.ref.externalId !== undefined)
      return ConsentTarget.failed(
        AdapterError.notFound(name, "no person has this externalId", { operation: "push", code: "404" })
      )
    if (person !== undefined) {
      const reason = system.takeItemFault(person.externalId)
      if (reason !== undefined)
        return ConsentTarget.failed(
          new AdapterError.AdapterError({
            reason,
            target: name,
            detail: "the person is locked",
            operation: "push"
          })
        )
    }
    person ??= system.create(d.ref.identifiers ?? {}, {}, at)
    for (const c of d.changes) system.set(person, c.field, c.to, at, c.because.policyVersion)
    return ConsentTarget.applied(person.externalId, iso(at))
  }

  const pushBatch = (diffs: ReadonlyArray<ConsentTarget.TargetDiff>) =>
    Effect.gen(function* () {
      const { at, dropAfter } = yield* enter("push", diffs.length)
      const out: Array<ConsentTarget.PushResult> = []
      for (const d of diffs) {
        if (dropAfter !== undefined && out.length >= dropAfter)
          return yield* Effect.fail(
            AdapterError.transport(name, "the connection was reset", {
              operation: "push",
              code: "ECONNRESET"
            })
          )
        out.push(pushItem(d, at))
      }
      if (dropAfter !== undefined)
        return yield* Effect.fail(
          AdapterError.transport(name, "the connection was reset", { operation: "push", code: "ECONNRESET" })
        )
      return out
    })

  const pullPage = (cursor: Option.Option<string>) =>
    Effect.gen(function* () {
      yield* enter("pull", 1)
      let after = 0
      if (Option.isSome(cursor)) {
        const m = CURSOR.exec(cursor.value)
        const seq = m === null ? Number.NaN : Number(m[1])
        if (!(seq >= 0 && seq <= system.seq))
          return yield* Effect.fail(
            AdapterError.invalid(name, "the cursor was not issued by this system", { operation: "pull" })
          )
        after = seq
      }
      const changes: Array<ConsentTarget.PulledChange> = []
      const records: Array<SourceRecord> = []
      const seen = new Set<string>()
      let last = after
      let taken = 0
      let i = 0
      while (i < system.log.length && system.log[i]!.seq <= after) i++
      for (; i < system.log.length && taken < pageSize; i++, taken++) {
        const e = system.log[i]!
        last = e.seq
        const person = system.persons.get(e.externalId)
        if (e.kind === "field") {
          // Held expired / pending states are our own readings pushed here, not the person's choices.
          if (e.status !== "granted" && e.status !== "denied" && e.status !== "withdrawn") continue
          changes.push({
            externalId: e.externalId,
            ...(person === undefined ? {} : { identifiers: system.held(person).identifiers }),
            field: e.field,
            status: e.status,
            modifiedAt: iso(e.at),
            ...(e.policyVersion === undefined ? {} : { policyVersion: e.policyVersion })
          })
        } else if (!seen.has(e.externalId)) {
          // One record per person per page, as it is now.
          seen.add(e.externalId)
          records.push(
            e.kind === "deleted" || person === undefined
              ? { source: name, id: e.externalId, deleted: true, updatedAt: iso(e.at) }
              : {
                  source: name,
                  id: person.externalId,
                  updatedAt: iso(person.updatedAt),
                  identifiers: system.held(person).identifiers,
                  attributes: { ...person.attributes }
                }
          )
        }
      }
      return { changes, records, cursor: `m1.${last}`, hasMore: i < system.log.length }
    })

  const readBatch = (refs: ReadonlyArray<ConsentTarget.PersonRef>) =>
    Effect.gen(function* () {
      yield* enter("read", refs.length)
      return refs.map((ref) => {
        const p = system.locate(ref)
        return p === undefined ? Option.none() : Option.some(system.held(p))
      })
    })

  const eraseBatch = (refs: ReadonlyArray<ConsentTarget.PersonRef>) =>
    Effect.gen(function* () {
      const { at } = yield* enter("erase", refs.length)
      return refs.map((ref) => {
        const p = system.locate(ref)
        return p !== undefined && system.remove(p.externalId, at)
          ? ConsentTarget.erased
          : ConsentTarget.absent
      })
    })

  const base = {
    name,
    mapping,
    capabilities: {
      holds: options.holds ?? ["withdrawn"],
      ...(fields === "any" ? {} : { fields }),
      identifiers: system.identifierTypes,
      records: true,
      policyVersion: true,
      maxBatchSize
    },
    pullPage,
    readBatch,
    eraseBatch
  }
  return options.push === "one"
    ? ConsentTarget.make({
        ...base,
        pushOne: (d) =>
          pushBatch([d]).pipe(
            Effect.flatMap((rs) => {
              const r = rs[0]!
              // As a one-item API would: an item failure is the request's failure.
              return r._tag === "Failed" ? Effect.fail(r.error) : Effect.succeed(r)
            })
          )
      })
    : ConsentTarget.make({ ...base, pushBatch })
}

/** An in-memory system, a target over it and the backdoor into it. */
export const make = (options: Options = {}): MemoryTarget => {
  const system = new System(options.identifiers ?? ["email"])
  const nowFn = options.now
  const now: Effect.Effect<number> = nowFn === undefined ? Clock.currentTimeMillis : Effect.sync(nowFn)
  const backdoor: Backdoor = {
    read: (externalId) =>
      Effect.sync(() => {
        const p = system.persons.get(externalId)
        return p === undefined ? Option.none() : Option.some(system.held(p))
      }),
    find: (type, value) => Effect.sync(() => Option.fromNullable(system.find(type, value)?.externalId)),
    create: (person) =>
      Effect.map(now, (at) => system.create(person.identifiers, person.attributes ?? {}, at).externalId),
    write: (externalId, field, status, modifiedAt, policyVersion) =>
      Effect.flatMap(now, (at) => {
        const p = system.persons.get(externalId)
        if (p === undefined) return Effect.dieMessage("backdoor.write: no person has this externalId")
        system.set(p, field, status, modifiedAt === undefined ? at : toMillis(modifiedAt), policyVersion)
        return Effect.void
      }),
    remove: (externalId) => Effect.map(now, (at) => system.remove(externalId, at)),
    persons: () => Effect.sync(() => [...system.persons.values()].map((p) => system.held(p))),
    faults: ["RateLimited", "Unauthorized", "Transport", "Item"],
    failNext: (fault) =>
      Effect.sync(() => {
        system.faults.push({ fault, remaining: Math.max(1, fault.times ?? 1) })
      }),
    clearFaults: () =>
      Effect.sync(() => {
        system.faults.length = 0
      }),
    calls: () => Effect.sync(() => [...system.calls])
  }
  return {
    target: targetOver(system, options, options.badCredentials === true),
    backdoor,
    reconnect: (again = {}) => Effect.sync(() => targetOver(system, options, again.badCredentials === true))
  }
}

/** A fresh in-memory target as the consent target service (for code that needs no backdoor). */
export const layer = (options: Options = {}): Layer.Layer<ConsentTarget.Tag> =>
  Layer.sync(ConsentTarget.Tag, () => make(options).target)
