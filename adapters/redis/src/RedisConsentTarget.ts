/**
 * The Redis consent target, built with core's `ConsentTarget.make`: push writes the materialised
 * consent hash of each person (one Lua script per diff, pipelined per batch), pull reads the
 * change stream that other services append to and materialises each change too, read is one
 * `HGETALL` per person, erase removes every key of the person and scrubs their stream entries.
 * The key layout is in `RedisKeys.ts`.
 */
import { randomBytes } from "node:crypto"
import { AdapterError, ConsentTarget, type ConsentLedger } from "@living-profile/core"
import { Clock, Effect, Option } from "effect"
import type { RedisClient, ScriptPipeline } from "./RedisClient.js"
import { type Resolved, mappingOf } from "./RedisConfig.js"
import { fromRedis } from "./RedisErrors.js"
import * as RedisKeys from "./RedisKeys.js"

/** Stream ids as cursors: `r1.<ms>-<seq>`, the id of the last entry a page covered. */
const CURSOR = /^r1\.(\d+-\d+)$/
/** The cursor of an empty stream: every real entry id is after it. */
const START = "0-0"

const PULLED_STATUSES: ReadonlySet<string> = new Set(["granted", "denied", "withdrawn"])

/** A fresh externalId: 128 random bits, URL-safe, without the braces of a hash tag. */
export const newExternalId = (): string => randomBytes(16).toString("base64url")

type Results = Array<[error: Error | null, result: unknown]>

/** A consent target over a connection. */
export const make = (client: RedisClient, config: Resolved): ConsentTarget.ConsentTarget => {
  const name = config.name
  const keys = RedisKeys.make(config.keyPrefix, config.streamKey, config.identifierSecret)
  const fields = new Set(config.mapping.map((m) => m.field))
  const { redis } = client

  const fail = (operation: AdapterError.Operation, step: string) => (e: unknown) =>
    fromRedis(e, { target: name, operation, step, lastConnection: client.lastConnection() })

  const run = <A>(operation: AdapterError.Operation, step: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: fail(operation, step) })

  /** Runs a pipeline; per-command errors stay in the results for the caller to place. */
  const exec = (operation: AdapterError.Operation, step: string, p: ScriptPipeline) =>
    run(operation, step, async () => ((await p.exec()) ?? []) as Results)

  /** The results of a pipeline whose every command must succeed. */
  const all = (operation: AdapterError.Operation, step: string, p: ScriptPipeline) =>
    Effect.flatMap(exec(operation, step, p), (rs) => {
      for (const [e] of rs) if (e !== null) return Effect.fail(fail(operation, step)(e))
      return Effect.succeed(rs.map(([, r]) => r))
    })

  const nowIso = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

  /** The index keys a ref's identifiers name, in the order of the declared types. */
  const identKeys = (ref: ConsentTarget.PersonRef): Array<string> => {
    const out: Array<string> = []
    for (const type of config.identifiers)
      for (const v of ref.identifiers?.[type] ?? []) out.push(keys.ident(type, v))
    return out
  }

  /**
   * The externalId each ref names: by externalId when given (never falling back to identifiers: the
   * person may have been erased on purpose), else the first identifier the index knows.
   */
  const locate = (operation: AdapterError.Operation, refs: ReadonlyArray<ConsentTarget.PersonRef>) =>
    Effect.gen(function* () {
      const p = client.pipeline()
      const asks: Array<{ readonly ref: number; readonly kind: "id" | "ident"; readonly value: string }> = []
      refs.forEach((ref, i) => {
        if (ref.externalId !== undefined) {
          asks.push({ ref: i, kind: "id", value: ref.externalId })
          p.exists(keys.person(ref.externalId))
        } else
          for (const k of identKeys(ref)) {
            asks.push({ ref: i, kind: "ident", value: k })
            p.get(k)
          }
      })
      const found: Array<string | undefined> = new Array(refs.length).fill(undefined)
      if (asks.length === 0) return found
      const rs = yield* all(operation, "locate persons", p)
      asks.forEach((a, k) => {
        const r = rs[k]
        if (found[a.ref] !== undefined) return
        if (a.kind === "id" && r === 1) found[a.ref] = a.value
        if (a.kind === "ident" && typeof r === "string" && r.length > 0) found[a.ref] = r
      })
      return found
    })

  /**
   * Claims a new externalId for a person named by identifiers only: `SET NX` on the first index
   * key, so that two processes creating the same person agree on one id (find first, never two).
   */
  const claim = (ref: ConsentTarget.PersonRef) =>
    Effect.gen(function* () {
      const [first, ...rest] = identKeys(ref)
      if (first === undefined) return undefined
      const id = newExternalId()
      const won = yield* run("push", "SET NX ident", () => redis.set(first, id, "NX"))
      if (won !== "OK") {
        const other = yield* run("push", "GET ident", () => redis.get(first))
        return other === null ? undefined : { id: other, index: [] as Array<string> }
      }
      const index = [first]
      // The person's other identifiers name them too, unless somebody holds one already.
      for (const k of rest)
        if ((yield* run("push", "SET NX ident", () => redis.set(k, id, "NX"))) === "OK") index.push(k)
      return { id, index }
    })

  const pushBatch = (diffs: ReadonlyArray<ConsentTarget.TargetDiff>) =>
    Effect.gen(function* () {
      const at = yield* nowIso
      const found = yield* locate(
        "push",
        diffs.map((d) => d.ref)
      )
      const index: Array<ReadonlyArray<string>> = diffs.map(() => [])
      for (let i = 0; i < diffs.length; i++) {
        const d = diffs[i]!
        if (found[i] !== undefined || d.ref.externalId !== undefined) continue
        const claimed = yield* claim(d.ref)
        if (claimed !== undefined) {
          found[i] = claimed.id
          index[i] = claimed.index
        }
      }
      const p = client.pipeline()
      const sent: Array<number> = []
      diffs.forEach((d, i) => {
        const id = found[i]
        if (id === undefined) return
        const args: Array<string> = [
          at,
          d.ref.externalId === undefined ? "ident" : "id",
          JSON.stringify(d.ref.identifiers ?? {}),
          JSON.stringify(index[i])
        ]
        for (const c of d.changes) {
          const pv = c.because.policyVersion
          args.push(c.field, c.to, pv === undefined ? "0" : "1", pv ?? "")
        }
        p.lpPush(keys.consent(id), keys.person(id), ...args)
        sent.push(i)
      })
      const rs = sent.length === 0 ? [] : yield* exec("push", "apply diff", p)
      const out: Array<ConsentTarget.PushResult> = diffs.map(() =>
        ConsentTarget.failed(
          AdapterError.notFound(name, "no person has this externalId", { operation: "push" })
        )
      )
      sent.forEach((i, k) => {
        const [e, r] = rs[k] ?? [new Error("missing reply"), undefined]
        if (e !== null) out[i] = ConsentTarget.failed(fail("push", "apply diff")(e))
        else if (r === 1) out[i] = ConsentTarget.applied(found[i]!, at)
      })
      return out
    })

  const pullPage = (cursor: Option.Option<string>) =>
    Effect.gen(function* () {
      let after = START
      if (Option.isSome(cursor)) {
        const m = CURSOR.exec(cursor.value)
        if (m === null)
          return yield* Effect.fail(
            AdapterError.invalid(name, "the cursor was not issued by this target", { operation: "pull" })
          )
        after = m[1]!
      }
      const entries = yield* run("pull", "XRANGE", () =>
        redis.xrange(keys.stream, `(${after}`, "+", "COUNT", config.pageSize + 1)
      )
      const page = entries.slice(0, config.pageSize)
      const p = client.pipeline()
      const sent: Array<Omit<ConsentTarget.PulledChange, "identifiers"> & { readonly entry: string }> = []
      for (const [entry, flat] of page) {
        const f = new Map<string, string>()
        for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!)
        const externalId = f.get("externalId")
        const field = f.get("field")
        const status = f.get("status")
        const ms = Date.parse(f.get("modifiedAt") ?? "")
        // A malformed entry, a field we do not map or a held reading of ours is not a change of
        // the person: skipped, the cursor moving past it.
        if (externalId === undefined || externalId.length === 0) continue
        if (field === undefined || !fields.has(field)) continue
        if (status === undefined || !PULLED_STATUSES.has(status) || Number.isNaN(ms)) continue
        const modifiedAt = new Date(ms).toISOString()
        const policyVersion = f.get("policyVersion")
        const hasPv = policyVersion !== undefined && policyVersion.length > 0
        p.lpPulled(
          keys.consent(externalId),
          keys.person(externalId),
          keys.entries(externalId),
          field,
          status,
          modifiedAt,
          hasPv ? "1" : "0",
          hasPv ? policyVersion : "",
          entry
        )
        sent.push({
          entry,
          externalId,
          field,
          status: status as ConsentLedger.EffectiveStatus as ConsentTarget.PulledChange["status"],
          modifiedAt,
          ...(hasPv ? { policyVersion } : {})
        })
      }
      const rs = sent.length === 0 ? [] : yield* all("pull", "apply pulled change", p)
      const changes: Array<ConsentTarget.PulledChange> = []
      const orphans: Array<string> = []
      sent.forEach(({ entry, ...change }, k) => {
        const r = rs[k]
        if (typeof r !== "string") {
          // The person is gone (erased): the entry is theirs and must not stay behind.
          orphans.push(entry)
          return
        }
        const identifiers = parseIdentifiers(r)
        changes.push(identifiers === undefined ? change : { ...change, identifiers })
      })
      if (orphans.length > 0) yield* run("pull", "XDEL orphans", () => redis.xdel(keys.stream, ...orphans))
      const last = page[page.length - 1]
      return {
        changes,
        cursor: `r1.${last === undefined ? after : last[0]}`,
        hasMore: entries.length > config.pageSize
      }
    })

  const readBatch = (refs: ReadonlyArray<ConsentTarget.PersonRef>) =>
    Effect.gen(function* () {
      const found = yield* locate("read", refs)
      const ids = found.filter((id): id is string => id !== undefined)
      const p = client.pipeline()
      for (const id of ids) p.hget(keys.person(id), "identifiers").hgetall(keys.consent(id))
      const rs = ids.length === 0 ? [] : yield* all("read", "HGETALL consent", p)
      const held = new Map<string, ConsentTarget.HeldPerson>()
      ids.forEach((id, k) => {
        const identifiers = rs[2 * k]
        const hash = rs[2 * k + 1]
        if (typeof identifiers !== "string") return
        held.set(id, {
          externalId: id,
          identifiers: parseIdentifiers(identifiers) ?? {},
          fields: fieldsOf(typeof hash === "object" && hash !== null ? (hash as Record<string, string>) : {})
        })
      })
      return found.map((id) => (id === undefined ? Option.none() : Option.fromNullable(held.get(id))))
    })

  const eraseBatch = (refs: ReadonlyArray<ConsentTarget.PersonRef>) =>
    Effect.gen(function* () {
      const found = yield* locate("erase", refs)
      const ids = [...new Set(found.filter((id): id is string => id !== undefined))]
      if (ids.length === 0) return refs.map(() => ConsentTarget.absent)
      const look = client.pipeline()
      for (const id of ids) look.hmget(keys.person(id), "index", "identifiers").smembers(keys.entries(id))
      const rs = yield* all("erase", "read person index", look)
      // Index keys and stream entries first, the person's keys last: an erase cut short leaves the
      // person in place, so that running it again finishes the job.
      const scrub = client.pipeline()
      let scrubbing = 0
      ids.forEach((id, k) => {
        const [index, identifiers] = (rs[2 * k] ?? []) as ReadonlyArray<string | null>
        const entries = rs[2 * k + 1]
        // The keys recorded at creation (whatever the secret was then) and those of the current secret.
        const named = new Set([
          ...parseList(index),
          ...identKeys({ identifiers: parseIdentifiers(identifiers ?? "") ?? {} })
        ])
        for (const key of named) {
          scrub.lpDelIf(key, id)
          scrubbing++
        }
        if (Array.isArray(entries) && entries.length > 0) {
          scrub.xdel(keys.stream, ...(entries as Array<string>))
          scrubbing++
        }
      })
      if (scrubbing > 0) yield* all("erase", "delete index and stream entries", scrub)
      const del = client.pipeline()
      for (const id of ids) del.del(keys.consent(id), keys.person(id), keys.entries(id))
      const deleted = yield* all("erase", "DEL person", del)
      const erasedIds = new Set<string>()
      ids.forEach((id, k) => {
        if (typeof deleted[k] === "number" && deleted[k] > 0) erasedIds.add(id)
      })
      // The first ref naming an erased person reports it; a second in the same call finds nothing.
      return found.map((id) => {
        if (id === undefined || !erasedIds.has(id)) return ConsentTarget.absent
        erasedIds.delete(id)
        return ConsentTarget.erased
      })
    })

  return ConsentTarget.make({
    name,
    mapping: mappingOf(config),
    capabilities: {
      holds: config.holds,
      fields: [...fields],
      identifiers: config.identifiers,
      records: false,
      policyVersion: true,
      maxBatchSize: config.maxBatchSize
    },
    pushBatch,
    pullPage,
    readBatch,
    eraseBatch
  })
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The identifiers JSON of a person record; undefined when empty or unreadable. */
export const parseIdentifiers = (text: string): ConsentTarget.Identifiers | undefined => {
  const v = parseJson(text)
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined
  const out: Record<string, Array<string>> = {}
  for (const [type, values] of Object.entries(v))
    if (Array.isArray(values)) out[type] = values.filter((x): x is string => typeof x === "string")
  return Object.keys(out).length === 0 ? undefined : out
}

const parseList = (text: unknown): Array<string> => {
  if (typeof text !== "string") return []
  const v = parseJson(text)
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []
}

const STATUSES: ReadonlySet<string> = new Set(["granted", "denied", "withdrawn", "expired", "pending"])

/** The held fields of a consent hash as `HGETALL` returns it (metadata fields folded in). */
export const fieldsOf = (hash: Readonly<Record<string, string>>): Map<string, ConsentTarget.HeldField> => {
  const out = new Map<string, ConsentTarget.HeldField>()
  for (const [field, status] of Object.entries(hash)) {
    if (field.startsWith("__") || !STATUSES.has(status)) continue
    const modifiedAt = hash[RedisKeys.MODIFIED_AT + field]
    const policyVersion = hash[RedisKeys.POLICY_VERSION + field]
    out.set(field, {
      status: status as ConsentLedger.EffectiveStatus,
      ...(modifiedAt === undefined ? {} : { modifiedAt }),
      ...(policyVersion === undefined ? {} : { policyVersion })
    })
  }
  return out
}
