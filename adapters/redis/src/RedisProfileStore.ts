/**
 * The ProfileStore on Redis: the living profiles survive restarts and several processes share them.
 *
 * How it works (the README has the whole story):
 * - Redis holds the records (`rec`, keyed by a keyed hash of the record key, payloads optionally
 *   sealed with AES-256-GCM) and an ordered change log (`log`, a stream of record hashes). A write
 *   is one script: tombstone check, stale/unchanged check, `HSET` and `XADD`, all or nothing; when
 *   it returns, the batch is durable (as durable as the server's persistence). The batch travels
 *   as one packed argument and the script reads and writes it with one HMGET and one HSET per
 *   thousand records.
 * - Each process keeps core's in-memory engine as a replica of the log (`ProfileStore.makeReplica`)
 *   and applies every entry in log order, its own and other processes' alike, so matching and
 *   clustering are core's and nothing else's. The partition is a function of the set of records,
 *   so every replica computes the same one.
 * - Profile ids, members and aliases (`rp`, `pm:{id}`, `pa:{id}`, `alias`) are derived state in
 *   Redis, materialised from the replica by one compare-and-set script per log range (`mat` holds
 *   how far it is done), with ids assigned from what Redis holds (Materialise.ts), never from one
 *   process's history. A process killed mid-way leaves either its whole change or none of it, and
 *   the next writer or reader materialises whatever it left.
 * - A write with `events: false` returns once its batch is durable; its catch-up and
 *   materialisation run behind it, started by this process's next operation (a write starts them
 *   once its own script is on its way, so that the local work runs while the server runs the
 *   script) or on the next turn of the event loop. Every other operation of the process waits for
 *   them first, so the process reads its own writes; closing the store finishes them; a process
 *   dying first leaves them to the next writer, as after any crash. Other processes see the ids
 *   when that materialisation lands. A write with events materialises before it returns.
 * - Reads of profiles, records and profile ids go to Redis directly; `edges` and `pair`
 *   (explanations) and `stats` ask the replica after catching up.
 * - Erasure deletes the person's records, derived keys and profile data in one script that also
 *   adds their suppression tombstones (keyed hashes); later writes of the person are refused by the
 *   write script itself.
 *
 * What it costs: every process holds and matches every record (like the in-memory store), so more
 * processes give availability and shared state, not more matching throughput.
 */
import { Audit, type ConsentEvent, ProfileStore, ResolverConfig, SourceRecord } from "@living-profile/core"
import {
  Chunk,
  Config,
  ConfigError,
  Either,
  Duration,
  Effect,
  Layer,
  Option,
  Redacted,
  type Scope,
  Schedule,
  Stream
} from "effect"
import { Redis } from "ioredis"
import { type Assignment, assign, type Component, type Held, plan } from "./Materialise.js"
import * as ProfileKeys from "./ProfileKeys.js"
import { type Classified, classify } from "./RedisErrors.js"
import * as Sealing from "./Sealing.js"

/** A profile event (core's bundled types keep the type only through WriteResult). */
type Event = ProfileStore.WriteResult["events"][number]

type Rec = SourceRecord.SourceRecord
type RecordRef = SourceRecord.RecordRef
const { StoreError } = ProfileStore

/** Options of the store. */
export interface Options {
  /** `redis://[user:pass@]host:port/db` (default `redis://127.0.0.1:6379`). */
  readonly url?: string
  readonly username?: string
  readonly password?: Redacted.Redacted<string>
  /** Prefix of every key (default `lp:`); one prefix is one store. */
  readonly keyPrefix?: string
  /**
   * Secret of the keyed hashes naming records and suppression tombstones (HMAC-SHA-256). Required:
   * every process of one store must use the same one, and changing it orphans what is stored.
   */
  readonly secret: Redacted.Redacted<string>
  /** Seal record payloads, profile events and rectifications with AES-256-GCM (see Sealing.ts). */
  readonly encryption?: Sealing.Encryption
  /** The resolver configuration (default: core's defaults). Every process of one store must use the same. */
  readonly resolver?: ResolverConfig.ResolverConfig
  /** Log entries read per round trip when catching up (default 200). */
  readonly pageSize?: number
  /** Attempts of an operation that failed with a Transport error (default 5, backing off from 50 ms). */
  readonly attempts?: number
  readonly commandTimeout?: Duration.DurationInput
  readonly connectTimeout?: Duration.DurationInput
}

type Service = ProfileStore.ProfileStore["Type"]

/** The store, with what only a persistent store has. */
export interface RedisProfileStore extends Service {
  readonly keys: ProfileKeys.ProfileKeys
  /** The connection (for tests and tools; the store's keys are documented in ProfileKeys.ts). */
  readonly redis: Redis
  /** Catches up with the log and materialises what is pending. */
  readonly sync: Effect.Effect<void, ProfileStore.StoreError>
  /**
   * Compares every profile the replica computes with what Redis holds and rewrites the ones that
   * differ; returns how many components were checked. A repair tool: normal operation keeps them equal.
   */
  readonly reconcile: Effect.Effect<number, ProfileStore.StoreError>
  /** Rewrites every stored value under the current encryption key (key rotation); returns how many changed. */
  readonly reseal: Effect.Effect<number, ProfileStore.StoreError>
}

/** The ids a write script returns per record. */
const OUTCOME = {
  c: "created",
  u: "updated",
  n: "unchanged",
  s: "stale",
  x: "suppressed",
  r: "removed",
  k: "unknown"
}

/**
 * The write. KEYS: rec, log, tomb. ARGV: hasSuppressionKeys, upserts, removes, then every upsert's
 * hash and `<updatedAt ms>|<value>` (as stored) in one argument, each followed by a newline (JSON
 * and sealed values never hold a raw newline), then, only with suppression keys, per upsert (n, n
 * keys), then per remove its hash. Returns `{NEEDKEYS}` when tombstones exist and none were sent,
 * else {outcome letters, entry id or ''}. One argument and one HMGET per thousand records (not
 * 10,000 arguments and commands per 5,000): the client builds and the server parses far less. A
 * record named twice in a batch sees its first version, as if the upserts ran one by one.
 */
const WRITE = `
if ARGV[1] ~= '1' and redis.call('SCARD', KEYS[3]) > 0 then return {'NEEDKEYS'} end
local nu, nr = tonumber(ARGV[2]), tonumber(ARGV[3])
local withKeys = ARGV[1] == '1'
local packed, hs, vs, at = ARGV[4], {}, {}, {}
local pos, i = 1, 5
for k = 1, nu do
  local e = string.find(packed, '\\n', pos, true)
  hs[k] = string.sub(packed, pos, e - 1)
  local f = string.find(packed, '\\n', e + 1, true)
  vs[k] = string.sub(packed, e + 1, f - 1)
  pos = f + 1
  if withKeys then at[k] = i; i = i + 1 + tonumber(ARGV[i]) end
end
local olds = {}
for k = 1, nu, 1000 do
  local got = redis.call('HMGET', KEYS[1], unpack(hs, k, math.min(k + 999, nu)))
  for j = 1, #got do olds[k + j - 1] = got[j] end
end
local out, ups, rms, sets, now = {}, {}, {}, {}, {}
for k = 1, nu do
  local h, v = hs[k], vs[k]
  local old = now[h]
  if old == nil then old = olds[k] end
  local sup = false
  -- A stored record belongs to someone not erased: only new records can bring an erased person back.
  if not old and withKeys then
    local a = at[k]
    for j = 1, tonumber(ARGV[a]) do
      if redis.call('SISMEMBER', KEYS[3], ARGV[a + j]) == 1 then sup = true end
    end
  end
  if sup then out[k] = 'x'
  elseif not old then
    sets[#sets + 1] = h; sets[#sets + 1] = v; now[h] = v; ups[#ups + 1] = h; out[k] = 'c'
  elseif old == v then out[k] = 'n'
  else
    local ob, nb = string.find(old, '|', 1, true), string.find(v, '|', 1, true)
    if string.sub(old, ob + 1) == string.sub(v, nb + 1) then out[k] = 'n'
    elseif tonumber(string.sub(v, 1, nb - 1)) < tonumber(string.sub(old, 1, ob - 1)) then out[k] = 's'
    else sets[#sets + 1] = h; sets[#sets + 1] = v; now[h] = v; ups[#ups + 1] = h; out[k] = 'u' end
  end
end
for k = 1, #sets, 2000 do redis.call('HSET', KEYS[1], unpack(sets, k, math.min(k + 1999, #sets))) end
for _ = 1, nr do
  local h = ARGV[i]; i = i + 1
  if redis.call('HDEL', KEYS[1], h) == 1 then rms[#rms + 1] = h; out[#out + 1] = 'r' else out[#out + 1] = 'k' end
end
local id = ''
if #ups + #rms > 0 then
  id = redis.call('XADD', KEYS[2], '*', 'u', table.concat(ups, ','), 'r', table.concat(rms, ','))
end
return {table.concat(out), id}
`

/**
 * Compare-and-set of the derived state. KEYS: mat. ARGV: expected mat, new mat, then commands as
 * (argument count, arguments...). Runs them and moves mat only while mat is still the expected one.
 */
const MATERIALISE = `
if (redis.call('GET', KEYS[1]) or '0-0') ~= ARGV[1] then return 0 end
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local args = {}
  for j = 1, n do args[j] = ARGV[i + j] end
  redis.call(unpack(args))
  i = i + n + 1
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`

/**
 * Erasure. KEYS: rec, log, tomb, mat, rp, alias. ARGV: expected mat (which must also be the last
 * log entry: everything before the erasure is materialised), member count, members, alias count,
 * aliases, key count, keys to delete, then the tombstones. Returns -1 when the log moved on, else
 * the number of tombstones added.
 */
const ERASE = `
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local head = '0-0'
if #last > 0 then head = last[1][1] end
if (redis.call('GET', KEYS[4]) or '0-0') ~= ARGV[1] or head ~= ARGV[1] then return -1 end
local i = 2
local nm = tonumber(ARGV[i]); i = i + 1
local members = {}
for j = 1, nm do members[j] = ARGV[i]; i = i + 1 end
local na = tonumber(ARGV[i]); i = i + 1
for _ = 1, na do redis.call('HDEL', KEYS[6], ARGV[i]); i = i + 1 end
local nk = tonumber(ARGV[i]); i = i + 1
for _ = 1, nk do redis.call('DEL', ARGV[i]); i = i + 1 end
for j = 1, nm do
  redis.call('HDEL', KEYS[1], members[j]); redis.call('HDEL', KEYS[5], members[j])
end
local added = 0
while i <= #ARGV do added = added + redis.call('SADD', KEYS[3], ARGV[i]); i = i + 1 end
local id = redis.call('XADD', KEYS[2], '*', 'e', table.concat(members, ','))
return added
`

/** Appends to a profile's list while the profile exists. KEYS: members, list. ARGV: values... */
const APPEND_TO_PROFILE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
return 1
`

/** Sets the audit head and appends the entry when the head is the expected one. KEYS: head, list. ARGV: expected, entry. */
const AUDIT = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[2])
return 1
`

/** Replaces a hash field when it still holds the expected value. KEYS: hash. ARGV: field, expected, value. */
const RESEAL = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`

interface Scripted extends Redis {
  lpWrite(rec: string, log: string, tomb: string, ...args: Array<string>): Promise<[string, string?]>
  lpMaterialise(mat: string, ...args: Array<string>): Promise<number>
  lpErase(...keysAndArgs: Array<string>): Promise<number>
  lpAppendToProfile(members: string, list: string, ...args: Array<string>): Promise<number>
  lpAudit(head: string, list: string, expected: string, entry: string): Promise<number>
  lpReseal(hash: string, field: string, expected: string, value: string): Promise<number>
}

/** Orders stream ids (`ms-seq`). */
const compareIds = (a: string, b: string): number => {
  const [am, as] = a.split("-")
  const [bm, bs] = b.split("-")
  const dm = Number(am) - Number(bm)
  return dm !== 0 ? dm : Number(as) - Number(bs)
}

/** A page of log entries as XRANGE returns it. */
type Page = Array<[string, Array<string>]>

/** The derived state's mark and a page of the log after the cursor, read together. */
interface Fetched {
  readonly mat: string
  readonly page: Page
}

const split = (s: string | undefined): Array<string> => (s === undefined || s === "" ? [] : s.split(","))

const fieldsOf = (flat: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

const timeOf = (r: Rec): number => (r.updatedAt === undefined ? 0 : Date.parse(r.updatedAt))

const HMGET_CHUNK = 1_000

/** A failed Redis call as a StoreError naming the step and the failure's code, never the reply text. */
const storeError = (step: string, lastConnection?: () => Classified | undefined) => (e: unknown) => {
  if (e instanceof ProfileStore.StoreError) return e
  if (e instanceof Sealing.SealingError)
    return new StoreError({ reason: "Unknown", detail: `${step}: ${e.problem}` })
  const { reason, code } = classify(e, lastConnection?.())
  return new StoreError({
    reason: reason === "Transport" ? "Transport" : "Unknown",
    detail: `${step} failed${code === undefined ? "" : ` (${code})`}`
  })
}

/** Makes the store; the connection closes with the scope. */
export const make = (
  options: Options
): Effect.Effect<RedisProfileStore, ProfileStore.StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const sealer = yield* Effect.try({
      try: () => (options.encryption === undefined ? Sealing.plain : Sealing.make(options.encryption)),
      catch: storeError("encryption")
    })
    let last: Classified | undefined
    const lastConnection = () => last
    const url = options.url ?? "redis://127.0.0.1:6379"
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const r = new Redis(url, {
          ...(options.username === undefined ? {} : { username: options.username }),
          ...(options.password === undefined ? {} : { password: Redacted.value(options.password) }),
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          // Reconnect soon after a restart; the store's own attempts bound how long an operation waits.
          retryStrategy: (times: number) => Math.min(100 * times, 1_000),
          disconnectTimeout: 200,
          commandTimeout: Duration.toMillis(Duration.decode(options.commandTimeout ?? Duration.seconds(30))),
          connectTimeout: Duration.toMillis(Duration.decode(options.connectTimeout ?? Duration.seconds(5))),
          scripts: {
            lpWrite: { lua: WRITE, numberOfKeys: 3 },
            lpMaterialise: { lua: MATERIALISE, numberOfKeys: 1 },
            lpErase: { lua: ERASE, numberOfKeys: 6 },
            lpAppendToProfile: { lua: APPEND_TO_PROFILE, numberOfKeys: 2 },
            lpAudit: { lua: AUDIT, numberOfKeys: 2 },
            lpReseal: { lua: RESEAL, numberOfKeys: 1 }
          }
        })
        // Only the classification is kept: socket and reply messages may name hosts or echo values.
        r.on("error", (e: unknown) => {
          last = classify(e, last)
        })
        r.on("ready", () => {
          last = undefined
        })
        return r as Scripted
      }),
      (r) =>
        Effect.promise(() =>
          r.quit().then(
            () => undefined,
            () => undefined
          )
        ).pipe(
          Effect.timeout(Duration.seconds(1)),
          Effect.ignore,
          Effect.ensuring(Effect.sync(() => r.disconnect()))
        )
    )
    yield* Effect.tryPromise({
      try: () => verify(redis, url, ProfileKeys.make(options.keyPrefix ?? "lp:"), sealer),
      catch: (e) => {
        if (e instanceof ProfileStore.StoreError || e instanceof Sealing.SealingError)
          return storeError("open")(e)
        const { reason, code } = classify(e, last)
        const why = code === undefined ? "" : ` (${code})`
        return new StoreError({
          reason: reason === "Transport" ? "Transport" : "Unknown",
          detail:
            reason === "Transport"
              ? `cannot connect${why}`
              : reason === "Unauthorized"
                ? `the server refused the credentials${why}`
                : `the server refused to set up the connection${why}`
        })
      }
    })
    const { store, flush } = makeOn(redis, options, sealer, lastConnection)
    // Before the connection closes: what runs behind the last write (bounded; if it cannot finish,
    // the next write or sync of any process materialises it, as after a crash).
    yield* Effect.addFinalizer(() => flush.pipe(Effect.timeout(Duration.seconds(10)), Effect.ignore))
    return store
  })

/**
 * Checks, once at open, what would otherwise fail late or silently: that the connection is on the
 * database the URL names (a SELECT the server refuses leaves ioredis on database 0), and that every
 * encryption key matches the key the store's values under its id were sealed with (a process with
 * a different key would otherwise write values nobody else can open).
 */
const verify = async (
  redis: Scripted,
  url: string,
  keys: ProfileKeys.ProfileKeys,
  sealer: Sealing.Sealer
) => {
  const path = /^rediss?:\/\/[^/]*\/(\d+)/.exec(url)?.[1]
  const info = await redis.client("INFO")
  const db = /\bdb=(\d+)/.exec(String(info))?.[1]
  if (db !== undefined && db !== (path ?? "0"))
    throw new StoreError({ reason: "Unknown", detail: `open: the server refused database ${path ?? "0"}` })
  for (const [id, check] of sealer.checks) {
    await redis.hsetnx(keys.keyChecks, id, check)
    if ((await redis.hget(keys.keyChecks, id)) !== check)
      throw new Sealing.SealingError({
        problem: `key "${id}" differs from the key this store's values under "${id}" were sealed with`
      })
  }
}

const makeOn = (
  redis: Scripted,
  options: Options,
  sealer: Sealing.Sealer,
  lastConnection: () => Classified | undefined
): { readonly store: RedisProfileStore; readonly flush: Effect.Effect<void, ProfileStore.StoreError> } => {
  const config = options.resolver ?? ResolverConfig.defaults
  const keys = ProfileKeys.make(options.keyPrefix ?? "lp:")
  const secret = Buffer.from(Redacted.value(options.secret), "utf8")
  const pageSize = options.pageSize ?? 200
  const replica = ProfileStore.makeReplica(config, { suppressionSecret: options.secret })
  /** Record hash -> reference, and record key -> hash, for every record the replica holds. */
  const refs = new Map<string, RecordRef>()
  const hashes = new Map<string, string>()
  const hashOf = (ref: RecordRef) =>
    hashes.get(SourceRecord.recordKey(ref)) ?? ProfileKeys.recordHash(secret, ref)
  /** The last log entry the replica applied. */
  let cursor = "0-0"
  /** What the replica changed in log entries not yet materialised. */
  const touchedHashes = new Set<string>()
  const touchedLocal = new Set<string>()
  /** Cluster-cap warnings of the replica, which materialisation cannot see, for the next write's events. */
  const warnings: Array<Event> = []
  /** Records of this process's own entries, so that catching up need not read them back. */
  const own = new Map<string, Array<Rec>>()
  const lock = Effect.unsafeMakeSemaphore(1)
  const attempts = options.attempts ?? 5

  const decode = (value: string): Rec => JSON.parse(sealer.open(value.slice(value.indexOf("|") + 1))) as Rec

  const hmget = async (key: string, fields: ReadonlyArray<string>): Promise<Array<string | null>> => {
    if (fields.length <= HMGET_CHUNK) return fields.length === 0 ? [] : redis.hmget(key, ...fields)
    const p = redis.pipeline()
    for (let i = 0; i < fields.length; i += HMGET_CHUNK) p.hmget(key, ...fields.slice(i, i + HMGET_CHUNK))
    const results = (await p.exec()) ?? []
    const out: Array<string | null> = []
    for (const [err, value] of results) {
      if (err) throw err
      out.push(...(value as Array<string | null>))
    }
    return out
  }

  const localIdsOf = (events: ReadonlyArray<Event>) => {
    for (const e of events) {
      switch (e._tag) {
        case "ProfileSplit":
          for (const id of e.into) touchedLocal.add(id)
          break
        case "ProfileCreated":
        case "ProfileMerged":
        case "RecordAttached":
        case "RecordDetached":
          touchedLocal.add(e.profileId)
          break
        case "ClusterCapReached":
          warnings.push(e)
          break
        default:
          break
      }
    }
  }

  /** Reads `mat` and the first page of log entries after the cursor in one round trip. */
  const fetchPage = async (): Promise<Fetched> => {
    const replies =
      (await redis
        .pipeline()
        .get(keys.mat)
        .xrange(keys.log, cursor === "0-0" ? "-" : `(${cursor}`, "+", "COUNT", pageSize)
        .exec()) ?? []
    for (const [e] of replies) if (e) throw e
    if (replies.length !== 2) throw new StoreError({ reason: "Unknown", detail: "catch-up: no reply" })
    return { mat: (replies[0]![1] as string | null) ?? "0-0", page: replies[1]![1] as Page }
  }

  /**
   * Applies every log entry after the cursor to the replica, starting from `first` when given (a
   * page read earlier: entries the replica has applied since are skipped).
   */
  const catchUp = async (first?: Fetched): Promise<void> => {
    const { mat, page: firstPage } = first ?? (await fetchPage())
    let page: Page | undefined = firstPage
    for (;;) {
      if (page === undefined)
        page = (await redis.xrange(
          keys.log,
          cursor === "0-0" ? "-" : `(${cursor}`,
          "+",
          "COUNT",
          pageSize
        )) as Page
      const full = page.length >= pageSize
      page = page.filter(([id]) => compareIds(id, cursor) > 0)
      if (page.length === 0) {
        if (full) {
          page = undefined
          continue
        }
        return
      }
      const entries = page.map(([id, flat]) => ({ id, fields: fieldsOf(flat) }))
      const need: Array<string> = []
      for (const e of entries) if (!own.has(e.id)) need.push(...split(e.fields.u))
      const values = await hmget(keys.rec, need)
      const fetched = new Map<string, string | null>()
      need.forEach((h, i) => {
        fetched.set(h, values[i] ?? null)
      })
      for (const { id, fields } of entries) {
        const ups = split(fields.u)
        const upserts: Array<Rec> = []
        const upsertHashes: Array<string> = []
        const mine = own.get(id)
        own.delete(id)
        if (mine !== undefined) {
          // The entry lists exactly the records this process wrote as created or updated, in order.
          upserts.push(...mine)
          upsertHashes.push(...ups)
        } else {
          // A record removed or erased since is skipped; a newer version is applied early (and is unchanged at its own entry).
          for (const h of ups) {
            const v = fetched.get(h)
            if (v === null || v === undefined) continue
            upserts.push(decode(v))
            upsertHashes.push(h)
          }
        }
        const gone = [...split(fields.r), ...split(fields.e)]
        const removes: Array<RecordRef> = []
        for (const h of gone) {
          const ref = refs.get(h)
          if (ref !== undefined) removes.push(ref)
        }
        const pending = compareIds(id, mat) > 0
        const result = Effect.runSync(replica.write({ upserts, removes, events: pending }))
        upserts.forEach((r, i) => {
          const ref = { source: r.source, id: r.id }
          refs.set(upsertHashes[i]!, ref)
          hashes.set(SourceRecord.recordKey(ref), upsertHashes[i]!)
        })
        for (const h of gone) {
          const ref = refs.get(h)
          if (ref === undefined || replica.localProfileOf(ref) !== undefined) continue
          // Removed for good: keep the hash only while derived state may still name it.
          if (!pending) {
            refs.delete(h)
            hashes.delete(SourceRecord.recordKey(ref))
          }
        }
        if (pending) {
          for (const h of ups) touchedHashes.add(h)
          for (const h of gone) touchedHashes.add(h)
          localIdsOf(result.events)
        }
        cursor = id
      }
      // A short page was the end of the log when it was read.
      if (!full) return
      page = undefined
    }
  }

  /** The components the touched records and profiles now form, closed over the old profiles they held. */
  const gather = async (): Promise<{ components: Array<Component>; dead: Set<string>; held: Held }> => {
    const comps = new Map<string, Array<string>>()
    const covered = new Set<string>()
    const dead = new Set<string>()
    let frontier: Array<string> = []
    const addLocal = (local: string) => {
      const members = replica.membersOf(local)
      if (members === undefined || members.length === 0) return
      const current = replica.localProfileOf(members[0]!)!
      if (comps.has(current)) return
      const hashes = members.map(hashOf)
      comps.set(current, hashes)
      for (const h of hashes) covered.add(h)
      frontier.push(...hashes)
    }
    const addHash = (h: string) => {
      if (covered.has(h) || dead.has(h)) return
      const ref = refs.get(h)
      const local = ref === undefined ? undefined : replica.localProfileOf(ref)
      if (local !== undefined) addLocal(local)
      else {
        dead.add(h)
        frontier.push(h)
      }
    }
    for (const local of touchedLocal) addLocal(local)
    for (const h of touchedHashes) addHash(h)
    const profileOf = new Map<string, string>()
    const membersOf = new Map<string, ReadonlySet<string>>()
    const absorbedOf = new Map<string, ReadonlyArray<string>>()
    while (frontier.length > 0) {
      const batch = frontier
      frontier = []
      const held = await hmget(keys.rp, batch)
      const fresh: Array<string> = []
      batch.forEach((h, i) => {
        const id = held[i]
        if (id === null || id === undefined) return
        profileOf.set(h, id)
        if (!membersOf.has(id) && !fresh.includes(id)) fresh.push(id)
      })
      if (fresh.length === 0) continue
      const p = redis.pipeline()
      for (const id of fresh) p.smembers(keys.members(id)).smembers(keys.absorbed(id))
      const results = (await p.exec()) ?? []
      fresh.forEach((id, i) => {
        const [e1, members] = results[2 * i]!
        const [e2, absorbed] = results[2 * i + 1]!
        if (e1 || e2) throw e1 ?? e2
        membersOf.set(id, new Set(members as Array<string>))
        absorbedOf.set(id, absorbed as Array<string>)
      })
      for (const id of fresh) for (const m of membersOf.get(id)!) addHash(m)
    }
    return {
      components: [...comps.values()].map((members) => ({ members })),
      dead,
      held: { profileOf, membersOf, absorbedOf }
    }
  }

  /** Drops the hashes of records that are gone once no derived state names them. */
  const forgetDead = (dead: Iterable<string>) => {
    for (const h of dead) {
      const ref = refs.get(h)
      if (ref === undefined || replica.localProfileOf(ref) !== undefined) continue
      refs.delete(h)
      hashes.delete(SourceRecord.recordKey(ref))
    }
  }

  /**
   * One compare-and-set of the derived state, from `mat` to the cursor, for what is touched:
   * its events, or undefined when another process moved `mat` first.
   */
  const materialiseFrom = async (mat: string, withEvents: boolean): Promise<Array<Event> | undefined> => {
    const { components, dead, held } = await gather()
    const assignment: Assignment = assign(components, held)
    const fresh: Array<string> = []
    if (assignment.fresh > 0) {
      const last = await redis.incrby(keys.seq, assignment.fresh)
      for (let n = last - assignment.fresh + 1; n <= last; n++) fresh.push(ProfileKeys.profileId(n))
    }
    const p = plan(keys, components, dead, held, assignment, fresh, (h) => refs.get(h), withEvents)
    const args: Array<string> = [mat, cursor]
    for (const c of p.commands) args.push(String(c.length), ...c)
    if ((await redis.lpMaterialise(keys.mat, ...args)) !== 1) return undefined
    touchedHashes.clear()
    touchedLocal.clear()
    forgetDead(dead)
    return [...p.events]
  }

  /** Writes the derived state of what the replica applied beyond `mat`; returns its events. */
  const materialise = async (withEvents: boolean): Promise<Array<Event>> => {
    for (;;) {
      const mat = (await redis.get(keys.mat)) ?? "0-0"
      if (compareIds(mat, cursor) >= 0) {
        if (compareIds(mat, cursor) > 0) {
          await catchUp()
          continue
        }
        touchedHashes.clear()
        touchedLocal.clear()
        return []
      }
      const events = await materialiseFrom(mat, withEvents)
      if (events !== undefined) return events
      // Another process materialised first: catch up with what it saw and try again.
      await catchUp()
    }
  }

  const sync = async (withEvents = false, first?: Fetched) => {
    await catchUp(first)
    return materialise(withEvents)
  }

  /**
   * The catch-up and materialisation of the last `events: false` write, started by the next
   * operation (a write starts it once its own script is on its way, so that this local work runs
   * while the server runs the script) or on the next turn of the event loop, whichever is first.
   * Every other operation of this process waits for it.
   */
  let behind: { readonly start: () => Promise<void> } | undefined
  /** A catch-up or materialisation that failed behind a write: the next settle does it itself. */
  let unsettled = false

  const leaveBehind = (first: Fetched) => {
    let started: Promise<void> | undefined
    const start = () =>
      (started ??= sync(false, first).then(
        () => undefined,
        () => {
          unsettled = true
        }
      ))
    behind = { start }
    setImmediate(start)
  }

  /** Finishes what runs behind the last write (and what a failed run left); call under the lock. */
  const settle = async () => {
    while (behind !== undefined) {
      const b = behind
      await b.start()
      if (behind === b) behind = undefined
    }
    if (unsettled) {
      // A repair is several round trips: while disconnected, fail at once rather than time out in each.
      if (redis.status !== "ready")
        throw new StoreError({ reason: "Transport", detail: "catch-up failed (not connected)" })
      await sync()
      unsettled = false
    }
  }

  /** Runs a step as an Effect failing with StoreError, retrying Transport failures. */
  const attempt = <A>(step: string, f: () => Promise<A>): Effect.Effect<A, ProfileStore.StoreError> =>
    Effect.tryPromise({ try: f, catch: storeError(step, lastConnection) }).pipe(
      Effect.retry({
        times: attempts - 1,
        schedule: Schedule.exponential(Duration.millis(50)),
        while: (e) => e.reason === "Transport"
      })
    )

  /** Settles under the lock when something runs behind a write (a no-op otherwise). */
  const settled = Effect.suspend(() =>
    behind === undefined && !unsettled ? Effect.void : lock.withPermits(1)(attempt("settle", settle))
  )

  /**
   * Runs a step: `locked` under the store's lock after settling, `read` after settling (so that
   * this process's reads see its writes), `free` as it is, `write` under the lock (it settles itself).
   */
  const run = <A>(
    step: string,
    f: () => Promise<A>,
    mode: "locked" | "read" | "free" | "write" = "locked"
  ): Effect.Effect<A, ProfileStore.StoreError> => {
    switch (mode) {
      case "locked":
        return lock.withPermits(1)(
          attempt(step, async () => {
            await settle()
            return f()
          })
        )
      case "write":
        return lock.withPermits(1)(attempt(step, f))
      case "read":
        return Effect.zipRight(settled, attempt(step, f))
      case "free":
        return attempt(step, f)
    }
  }

  const write = async (batch: ProfileStore.WriteBatch): Promise<ProfileStore.WriteResult> => {
    const upserts = batch.upserts === undefined ? [] : [...batch.upserts]
    const removes = batch.removes === undefined ? [] : [...batch.removes]
    const hashes = upserts.map(hashOf)
    const values = upserts.map((r) => `${timeOf(r)}|${sealer.seal(JSON.stringify(r))}`)
    const pairs: Array<string> = []
    for (let i = 0; i < upserts.length; i++) pairs.push(hashes[i]!, values[i]!)
    const packed = pairs.length === 0 ? "" : `${pairs.join("\n")}\n`
    const build = (withKeys: boolean) => {
      const args: Array<string> = [
        withKeys ? "1" : "0",
        String(upserts.length),
        String(removes.length),
        packed
      ]
      if (withKeys)
        for (const r of upserts) {
          const supp = ProfileStore.suppressionKeys(r, config, secret)
          args.push(String(supp.length), ...supp)
        }
      for (const ref of removes) args.push(hashOf(ref))
      return args
    }
    // The script goes out first; the previous write's catch-up and materialisation (local work,
    // mostly) run while the server runs it: its outcome does not depend on them.
    const sent = redis.lpWrite(keys.rec, keys.log, keys.tomb, ...build(false))
    // Awaited below; this only keeps a failure from counting as unhandled while settling.
    sent.catch(() => undefined)
    await settle()
    let reply = await sent
    if (reply[0] === "NEEDKEYS") reply = await redis.lpWrite(keys.rec, keys.log, keys.tomb, ...build(true))
    const outcomes = reply[0]
    const entry = reply[1] ?? ""
    const counts = { created: 0, updated: 0, unchanged: 0, stale: 0, removed: 0, unknown: 0, suppressed: 0 }
    const mine: Array<Rec> = []
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i] as keyof typeof OUTCOME
      counts[OUTCOME[o] as keyof typeof counts]++
      if ((o === "c" || o === "u") && i < upserts.length) mine.push(upserts[i]!)
    }
    if (entry !== "" && compareIds(entry, cursor) > 0) own.set(entry, mine)
    if (batch.events === false) {
      // Acknowledged: the batch is durable. Its derived state is written before this process's
      // next operation of any kind, or by any process's next write or sync should this one die.
      leaveBehind(await fetchPage())
      return { ...counts, events: [] }
    }
    const events = await sync(true)
    const capped = warnings.splice(0)
    return { ...counts, events: [...events, ...capped] }
  }

  /** The current id of a profile id or alias, or undefined. */
  const resolveId = async (profileId: string): Promise<string | undefined> => {
    let current = profileId
    for (let hops = 0; hops < 100; hops++) {
      if ((await redis.exists(keys.members(current))) === 1) return current
      const next = await redis.hget(keys.alias, current)
      if (next === null) return undefined
      current = next
    }
    return undefined
  }

  const readProfiles = async (ids: ReadonlyArray<string>): Promise<Array<ProfileStore.StoredProfile>> => {
    if (ids.length === 0) return []
    const p = redis.pipeline()
    for (const id of ids) p.smembers(keys.members(id)).smembers(keys.absorbed(id))
    const results = (await p.exec()) ?? []
    const members: Array<Array<string>> = []
    const owners: Array<Array<string>> = []
    ids.forEach((id, i) => {
      const [e1, m] = results[2 * i]!
      const [e2, a] = results[2 * i + 1]!
      if (e1 || e2) throw e1 ?? e2
      members.push(m as Array<string>)
      owners.push([id, ...(a as Array<string>)])
    })
    const values = await hmget(keys.rec, members.flat())
    const q = redis.pipeline()
    for (const list of owners)
      for (const id of list) q.lrange(keys.events(id), 0, -1).lrange(keys.rectifications(id), 0, -1)
    const lists = (await q.exec()) ?? []
    const out: Array<ProfileStore.StoredProfile> = []
    let v = 0
    let l = 0
    ids.forEach((profileId, i) => {
      const records: Array<Rec> = []
      for (let k = 0; k < members[i]!.length; k++) {
        const value = values[v++]
        if (value !== null && value !== undefined) records.push(decode(value))
      }
      records.sort((a, b) => (a.source + a.id < b.source + b.id ? -1 : 1))
      const profileEvents: Array<ConsentEvent.ConsentEvent> = []
      const rectifications: Array<ProfileStore.Rectification> = []
      for (let k = 0; k < owners[i]!.length; k++) {
        const [e1, evs] = lists[l++]!
        const [e2, recs] = lists[l++]!
        if (e1 || e2) throw e1 ?? e2
        for (const s of evs as Array<string>) profileEvents.push(JSON.parse(sealer.open(s)))
        for (const s of recs as Array<string>) rectifications.push(JSON.parse(sealer.open(s)))
      }
      if (records.length > 0) out.push({ profileId, records, profileEvents, rectifications })
    })
    return out
  }

  const appendToProfile = async (profileId: string, list: (id: string) => string, values: Array<string>) => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await resolveId(profileId)
      if (current === undefined) return false
      if (values.length === 0) return true
      if ((await redis.lpAppendToProfile(keys.members(current), list(current), ...values)) === 1) return true
    }
    throw new StoreError({ reason: "Conflict", detail: "the profile kept changing while appending to it" })
  }

  const erase = async (profileId: string): Promise<Option.Option<ProfileStore.Erased>> => {
    for (let attempt = 0; attempt < 50; attempt++) {
      await sync()
      const current = await resolveId(profileId)
      if (current === undefined) return Option.none()
      const [members, absorbed] = await Promise.all([
        redis.smembers(keys.members(current)),
        redis.smembers(keys.absorbed(current))
      ])
      const values = await hmget(keys.rec, members)
      const records = values.flatMap((v) => (v === null ? [] : [decode(v)]))
      // The replica is caught up: identifiers other live records carry are left out.
      const tombstones = new Set(replica.tombstonesFor(records.map((r) => ({ source: r.source, id: r.id }))))
      const owners = [current, ...absorbed]
      const drop = owners.flatMap((id) => [
        keys.members(id),
        keys.absorbed(id),
        keys.events(id),
        keys.rectifications(id)
      ])
      const added = await redis.lpErase(
        keys.rec,
        keys.log,
        keys.tomb,
        keys.mat,
        keys.rp,
        keys.alias,
        cursor,
        String(members.length),
        ...members,
        String(absorbed.length),
        ...absorbed,
        String(drop.length),
        ...drop,
        ...tombstones
      )
      if (added < 0) continue
      await sync()
      return Option.some({
        profileId: current,
        records: records.map((r) => ({ source: r.source, id: r.id })),
        tombstones: added
      })
    }
    throw new StoreError({ reason: "Conflict", detail: "the log kept moving while erasing" })
  }

  const appendAudit = async (input: Audit.AuditInput): Promise<Audit.AuditEntry> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const head = (await redis.get(keys.auditHead)) ?? ""
      const entry = Audit.next(head === "" ? undefined : (JSON.parse(head) as Audit.AuditEntry), input)
      if ((await redis.lpAudit(keys.auditHead, keys.audit, head, JSON.stringify(entry))) === 1) return entry
    }
    throw new StoreError({ reason: "Conflict", detail: "the audit log kept moving while appending" })
  }

  const reconcile = async (): Promise<number> => {
    await sync()
    for (const c of replica.components()) touchedLocal.add(c.id)
    // Hashes Redis assigns that the replica does not hold any more.
    let scan = "0"
    do {
      const [next, flat] = await redis.hscan(keys.rp, scan, "COUNT", 1000)
      scan = next
      for (let i = 0; i < flat.length; i += 2) if (!refs.has(flat[i]!)) touchedHashes.add(flat[i]!)
    } while (scan !== "0")
    const n = touchedLocal.size
    // Force a materialisation even when mat is at the cursor: rewind the guard by re-applying at the same id.
    const mat = (await redis.get(keys.mat)) ?? "0-0"
    if (compareIds(mat, cursor) === 0 && (await materialiseFrom(mat, false)) !== undefined) return n
    await materialise(false)
    return n
  }

  const reseal = async (): Promise<number> => {
    let changed = 0
    const resealHash = async (key: string) => {
      let scan = "0"
      do {
        const [next, flat] = await redis.hscan(key, scan, "COUNT", 500)
        scan = next
        for (let i = 0; i < flat.length; i += 2) {
          const field = flat[i]!
          const value = flat[i + 1]!
          const bar = value.indexOf("|")
          const body = value.slice(bar + 1)
          if (sealer.isCurrent(body)) continue
          const fresh = `${value.slice(0, bar)}|${sealer.seal(sealer.open(body))}`
          changed += await redis.lpReseal(key, field, value, fresh)
        }
      } while (scan !== "0")
    }
    await resealHash(keys.rec)
    // Profile lists: rewritten whole under a guard of their own content.
    let scan = "0"
    do {
      const [next, found] = await redis.scan(
        scan,
        "MATCH",
        `${keys.pattern.slice(0, -1)}p[er]:*`,
        "COUNT",
        500
      )
      scan = next
      for (const key of found) {
        const items = await redis.lrange(key, 0, -1)
        if (items.every((s) => sealer.isCurrent(s))) continue
        const m = redis.multi()
        m.del(key)
        m.rpush(key, ...items.map((s) => sealer.seal(sealer.open(s))))
        await redis.watch(key)
        const now = await redis.lrange(key, 0, -1)
        if (now.length !== items.length || now.some((s, i) => s !== items[i])) {
          await redis.unwatch()
          continue
        }
        if ((await m.exec()) !== null) changed += items.length
      }
    } while (scan !== "0")
    return changed
  }

  const pages: Stream.Stream<ProfileStore.StoredProfile, ProfileStore.StoreError> =
    Stream.paginateChunkEffect("0", (scan) =>
      run(
        "scan profiles",
        async () => {
          const [next, found] = await redis.scan(
            scan,
            "MATCH",
            `${keys.pattern.slice(0, -1)}pm:*`,
            "COUNT",
            1000
          )
          const ids = found.map((k) => k.slice(k.indexOf("{") + 1, -1))
          const profiles = await readProfiles(ids)
          return [profiles, next === "0" ? Option.none<string>() : Option.some(next)] as const
        },
        "free"
      ).pipe(Effect.map(([profiles, next]) => [Chunk.unsafeFromArray(profiles), next] as const))
    )

  /** Materialises first when the derived state lags the log (a writer killed before it materialised). */
  const upToDate = async () => {
    const [mat, last] = await Promise.all([
      redis.get(keys.mat),
      redis.xrevrange(keys.log, "+", "-", "COUNT", 1)
    ])
    const head = last[0]?.[0] ?? "0-0"
    if ((mat ?? "0-0") !== head) await sync()
  }

  const profilesStream: Stream.Stream<ProfileStore.StoredProfile, ProfileStore.StoreError> = Stream.unwrap(
    Effect.as(run("profiles", upToDate), pages)
  )

  const store: RedisProfileStore = {
    config,
    keys,
    redis,
    write: (batch) => run("write", () => write(batch), "write"),
    profile: (profileId) =>
      run(
        "profile",
        async () => {
          const current = await resolveId(profileId)
          if (current === undefined) return Option.none()
          const [p] = await readProfiles([current])
          return Option.fromNullable(p)
        },
        "read"
      ),
    profileIdOf: (ref) =>
      run("profileIdOf", async () => Option.fromNullable(await redis.hget(keys.rp, hashOf(ref))), "read"),
    record: (ref) =>
      run(
        "record",
        async () => {
          const v = await redis.hget(keys.rec, hashOf(ref))
          return v === null ? Option.none() : Option.some(decode(v))
        },
        "free"
      ),
    edges: (profileId) =>
      run("edges", async () => {
        await sync()
        const current = await resolveId(profileId)
        if (current === undefined) return []
        const members = new Set(await redis.smembers(keys.members(current)))
        const first = [...members].map((h) => refs.get(h)).find((r) => r !== undefined)
        const local = first === undefined ? undefined : replica.localProfileOf(first)
        if (local === undefined) return []
        const edges = Effect.runSync(replica.edges(local))
        return edges.filter((e) => members.has(hashOf(e.a)) && members.has(hashOf(e.b)))
      }),
    pair: (a, b) =>
      run("pair", async () => {
        await sync()
        const state = Effect.runSync(replica.pair(a, b))
        if (Option.isNone(state)) return state
        const [pa, pb] = await redis.hmget(keys.rp, hashOf(a), hashOf(b))
        return Option.some({ ...state.value, profileA: pa ?? undefined, profileB: pb ?? undefined })
      }),
    profiles: profilesStream,
    stats: run("stats", async () => {
      await sync()
      return replica.engineStats()
    }),
    addProfileEvents: (profileId, events) =>
      run(
        "addProfileEvents",
        () =>
          appendToProfile(
            profileId,
            keys.events,
            events.map((e) => sealer.seal(JSON.stringify(e)))
          ),
        "read"
      ),
    addRectification: (profileId, rectification) =>
      run(
        "addRectification",
        () => appendToProfile(profileId, keys.rectifications, [sealer.seal(JSON.stringify(rectification))]),
        "read"
      ),
    erase: (profileId) => run("erase", () => erase(profileId)),
    appendAudit: (input) => run("appendAudit", () => appendAudit(input), "free"),
    auditEntries: run(
      "auditEntries",
      async () => (await redis.lrange(keys.audit, 0, -1)).map((s) => JSON.parse(s) as Audit.AuditEntry),
      "free"
    ),
    sync: run("sync", async () => {
      await sync()
    }),
    reconcile: run("reconcile", reconcile),
    reseal: run("reseal", reseal, "free")
  }
  return { store, flush: settled }
}

/** A layer providing core's ProfileStore tag. */
export const layer = (options: Options): Layer.Layer<ProfileStore.ProfileStore, ProfileStore.StoreError> =>
  Layer.scoped(ProfileStore.ProfileStore, make(options))

/**
 * Options from the environment: `REDIS_URL` (default `redis://127.0.0.1:6379`), `REDIS_USERNAME`,
 * `REDIS_PASSWORD` (redacted), `LIVING_PROFILE_SECRET` (redacted, required),
 * `LIVING_PROFILE_KEY_PREFIX` (default `lp:`), and for encryption `LIVING_PROFILE_ENCRYPTION_KEYS`
 * (redacted, `id:base64key,id:base64key`) with `LIVING_PROFILE_ENCRYPTION_CURRENT`.
 */
export const fromEnv = (
  rest: Omit<Options, "url" | "username" | "password" | "secret" | "keyPrefix" | "encryption"> = {}
): Config.Config<Options> =>
  Config.all({
    url: Config.option(Config.string("REDIS_URL")),
    username: Config.option(Config.string("REDIS_USERNAME")),
    password: Config.option(Config.redacted("REDIS_PASSWORD")),
    secret: Config.redacted("LIVING_PROFILE_SECRET"),
    keyPrefix: Config.option(Config.string("LIVING_PROFILE_KEY_PREFIX")),
    keys: Config.option(Config.redacted("LIVING_PROFILE_ENCRYPTION_KEYS")),
    current: Config.option(Config.string("LIVING_PROFILE_ENCRYPTION_CURRENT"))
  }).pipe(
    Config.mapOrFail((c) =>
      Option.isSome(c.keys) !== Option.isSome(c.current)
        ? Either.left(
            ConfigError.InvalidData(
              [],
              "LIVING_PROFILE_ENCRYPTION_KEYS and LIVING_PROFILE_ENCRYPTION_CURRENT go together: set both or neither"
            )
          )
        : Either.right({ ...rest, ...optionsOf(c) })
    )
  )

const optionsOf = (c: {
  readonly url: Option.Option<string>
  readonly username: Option.Option<string>
  readonly password: Option.Option<Redacted.Redacted<string>>
  readonly secret: Redacted.Redacted<string>
  readonly keyPrefix: Option.Option<string>
  readonly keys: Option.Option<Redacted.Redacted<string>>
  readonly current: Option.Option<string>
}): Options => ({
  secret: c.secret,
  ...(Option.isSome(c.url) ? { url: c.url.value } : {}),
  ...(Option.isSome(c.username) ? { username: c.username.value } : {}),
  ...(Option.isSome(c.password) ? { password: c.password.value } : {}),
  ...(Option.isSome(c.keyPrefix) ? { keyPrefix: c.keyPrefix.value } : {}),
  ...(Option.isSome(c.keys) && Option.isSome(c.current)
    ? { encryption: { keys: parseKeyRing(Redacted.value(c.keys.value)), current: c.current.value } }
    : {})
})

const parseKeyRing = (text: string): Record<string, Redacted.Redacted<string>> => {
  const out: Record<string, Redacted.Redacted<string>> = {}
  for (const part of text.split(",")) {
    const at = part.indexOf(":")
    if (at > 0) out[part.slice(0, at).trim()] = Redacted.make(part.slice(at + 1).trim())
  }
  return out
}

/** The layer from a Config, e.g. `fromEnv()`, read when the layer is built. */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<ProfileStore.ProfileStore, ProfileStore.StoreError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(config, layer))

/** The hash naming a record under `secret`, as the store computes it (for tools and tests). */
export const recordHashWith = (secret: Redacted.Redacted<string>, ref: RecordRef): string =>
  ProfileKeys.recordHash(Buffer.from(Redacted.value(secret), "utf8"), ref)
