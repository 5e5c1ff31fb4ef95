/**
 * The SyncStore on Redis: what the sync engine checkpoints (cursors, known state, links, dirty
 * marks, the outbox and its dead letters) kept in Redis, so that any process resumes where the
 * last one stopped. Every operation is one command or one short Lua script, so each is atomic on
 * its own as the contract asks; scripts name every key they touch (see `RedisKeys.syncKeys`).
 *
 * Outbox items are stored in parts: the content as JSON and the four fields a store changes
 * (enqueuedAt, attempts, nextAttemptAt, lastError) apart, as the decimal text JavaScript writes.
 * That lets `enqueue` apply `Outbox.supersede` inside its script without re-encoding JSON in Lua
 * (whose encoder rounds numbers and turns empty arrays into objects).
 *
 * Failures are core's StoreError: `Transport` when the connection is the problem (retryable),
 * `Unknown` otherwise; details name the operation, the step and a code, never a value (items may
 * hold identifiers).
 */
import { Outbox, SyncStore } from "@living-profile/core"
import type { ConsentDiff } from "@living-profile/core"
import { Config, type ConfigError, Effect, Either, Layer, Option, Schema, type Scope } from "effect"
import type { Redis } from "ioredis"
import * as RedisClient from "./RedisClient.js"
import * as RedisConfig from "./RedisConfig.js"
import { classify } from "./RedisErrors.js"
import { encodeName, fromSortableNumber, type SyncKeys, sortableNumber, syncKeys } from "./RedisKeys.js"

const { StoreError } = SyncStore

// ---------------------------------------------------------------------------------------------
// Scripts

/**
 * Helpers of the outbox scripts. KEYS: pending, keys, due, age, dead, parked, dead-keys.
 * `unpend` removes a pending item's parts and index entries; `pend` writes them; `item` reads the
 * parts a reader needs (content, enqueuedAt, attempts, nextAttemptAt, lastError).
 */
const OUTBOX = `
local P, K, D, A, X, Z, XK = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local function unpend(id)
  local k, m = unpack(redis.call('HMGET', P, 'k:' .. id, 'm:' .. id))
  if not k then return false end
  redis.call('HDEL', P, 'c:' .. id, 'e:' .. id, 's:' .. id, 'a:' .. id, 'n:' .. id, 'x:' .. id, 'k:' .. id, 'm:' .. id)
  if redis.call('HGET', K, k) == id then redis.call('HDEL', K, k) end
  if m then redis.call('ZREM', D, m) end
  redis.call('ZREM', A, id)
  return true
end
local function pend(id, c, e, s, a, n, x, k, m)
  redis.call('HSET', P, 'c:' .. id, c, 'e:' .. id, e, 's:' .. id, s, 'a:' .. id, a, 'n:' .. id, n, 'k:' .. id, k, 'm:' .. id, m)
  if x ~= '' then redis.call('HSET', P, 'x:' .. id, x) end
  redis.call('HSET', K, k, id)
  redis.call('ZADD', D, 0, m)
  redis.call('ZADD', A, e, id)
end
local function item(id)
  local r = redis.call('HMGET', P, 'c:' .. id, 'e:' .. id, 'a:' .. id, 'n:' .. id, 'x:' .. id)
  if not r[1] then return false end
  return r
end
local function undead(id)
  local k = redis.call('HGET', X, 'k:' .. id)
  if not k then return false end
  redis.call('HDEL', X, 'c:' .. id, 'e:' .. id, 's:' .. id, 'a:' .. id, 'n:' .. id, 'x:' .. id, 'k:' .. id, 't:' .. id, 'p:' .. id, 'f:' .. id)
  redis.call('ZREM', Z, id)
  redis.call('ZREM', XK, k .. ' ' .. id)
  return true
end
`

/**
 * ARGV: id, content, enqueuedAt, S(enqueuedAt), attempts, nextAttemptAt, lastError or '', key,
 * target (encoded), S(nextAttemptAt). Returns the EnqueueOutcome. A replacement takes the content
 * and id of the new item, the earlier enqueuedAt, the previous attempts and lastError and the
 * later nextAttemptAt (Outbox.supersede), comparing numbers but copying their text.
 */
const ENQUEUE = `${OUTBOX}
local id, k = ARGV[1], ARGV[8]
if redis.call('HEXISTS', X, 'k:' .. id) == 1 then return 'dead' end
local prev = redis.call('HGET', K, k)
if prev and redis.call('HEXISTS', P, 'k:' .. prev) == 1 then
  if prev == id then return 'unchanged' end
  local pe, ps, pa, pn, px, pm = unpack(redis.call('HMGET', P, 'e:' .. prev, 's:' .. prev, 'a:' .. prev, 'n:' .. prev, 'x:' .. prev, 'm:' .. prev))
  local e, s, n, sn = ARGV[3], ARGV[4], ARGV[6], ARGV[10]
  if tonumber(pe) < tonumber(e) then e, s = pe, ps end
  if tonumber(pn) > tonumber(n) then
    local at = string.find(pm, ' ', 1, true)
    n, sn = pn, string.sub(pm, at + 1, at + 16)
  end
  unpend(prev)
  pend(id, ARGV[2], e, s, pa, n, px or '', k, ARGV[9] .. ' ' .. sn .. s .. id)
  return 'replaced'
end
unpend(id)
pend(id, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], k, ARGV[9] .. ' ' .. ARGV[10] .. ARGV[4] .. id)
return 'added'
`

/** ARGV: key, '1' to remove it. The parts of the item pending under the key, or nil. */
const PENDING_FOR = `${OUTBOX}
local id = redis.call('HGET', K, ARGV[1])
if not id then return false end
local r = item(id)
if r and ARGV[2] == '1' then unpend(id) end
return r
`

/** ARGV: lower and upper ZRANGEBYLEX bounds, limit, length of a member before its id. */
const DUE = `${OUTBOX}
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYLEX', D, ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])) do
  local r = item(string.sub(m, tonumber(ARGV[4]) + 1))
  if r then out[#out + 1] = r end
end
return out
`

/** Every pending item, oldest first. */
const PENDING = `${OUTBOX}
local out = {}
for _, id in ipairs(redis.call('ZRANGE', A, 0, -1)) do
  local r = item(id)
  if r then out[#out + 1] = r end
end
return out
`

/** ARGV as ENQUEUE's. Replaces a pending item of the same id; 0 when none is pending. */
const RESCHEDULE = `${OUTBOX}
local id = ARGV[1]
if redis.call('HEXISTS', P, 'k:' .. id) == 0 then return 0 end
unpend(id)
pend(id, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9] .. ' ' .. ARGV[10] .. ARGV[4] .. id)
return 1
`

/** ARGV: id. 1 when it was pending (and now is not), else 0. */
const COMPLETE = `${OUTBOX}
if unpend(ARGV[1]) then return 1 end
return 0
`

/**
 * ARGV: id, content, enqueuedAt, S(enqueuedAt), attempts, nextAttemptAt, lastError or '', key,
 * target (encoded), parkedAt, failure JSON.
 */
const PARK = `${OUTBOX}
local id = ARGV[1]
unpend(id)
undead(id)
redis.call('HSET', X, 'c:' .. id, ARGV[2], 'e:' .. id, ARGV[3], 's:' .. id, ARGV[4], 'a:' .. id, ARGV[5], 'n:' .. id, ARGV[6], 'k:' .. id, ARGV[8], 't:' .. id, ARGV[9], 'p:' .. id, ARGV[10], 'f:' .. id, ARGV[11])
if ARGV[7] ~= '' then redis.call('HSET', X, 'x:' .. id, ARGV[7]) end
redis.call('ZADD', Z, ARGV[10], id)
redis.call('ZADD', XK, 0, ARGV[8] .. ' ' .. id)
`

/** Every dead letter, oldest first: the item's parts, parkedAt and failure. */
const DEAD_LETTERS = `${OUTBOX}
local out = {}
for _, id in ipairs(redis.call('ZRANGE', Z, 0, -1)) do
  local r = redis.call('HMGET', X, 'c:' .. id, 'e:' .. id, 'a:' .. id, 'n:' .. id, 'x:' .. id, 'p:' .. id, 'f:' .. id)
  if r[1] then out[#out + 1] = r end
end
return out
`

/**
 * ARGV: id, now, S(now). Nil when no dead letter has the id; else the parts of the item now
 * pending under its key: a newer one already there, or the letter's item with no attempts, no
 * lastError, due at now.
 */
const REQUEUE = `${OUTBOX}
local id = ARGV[1]
local c, e, s, k, t = unpack(redis.call('HMGET', X, 'c:' .. id, 'e:' .. id, 's:' .. id, 'k:' .. id, 't:' .. id))
if not c then return false end
undead(id)
local current = redis.call('HGET', K, k)
if current then
  local r = item(current)
  if r then return r end
end
unpend(id)
pend(id, c, e, s, '0', ARGV[2], '', k, t .. ' ' .. ARGV[3] .. s .. id)
return item(id)
`

/** ARGV: key. Removes the dead letters of the key; returns how many. */
const CLEAR_DEAD = `${OUTBOX}
local k = ARGV[1]
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYLEX', XK, '[' .. k .. ' ', '(' .. k .. '!')) do
  local id = string.sub(m, #k + 2)
  if redis.call('HGET', X, 'k:' .. id) == k then
    undead(id)
    n = n + 1
  else
    redis.call('ZREM', XK, m)
  end
end
return n
`

/**
 * KEYS: link-to, links-of, link-seq. ARGV: pair JSON, profile (encoded), member JSON. Moves the
 * link to the end of the profile's links unless it is linked to that profile already.
 */
const LINK = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
local head = ARGV[2] .. ' '
if old then
  if string.sub(old, 1, #head) == head then return 0 end
  redis.call('ZREM', KEYS[2], old)
end
local m = head .. string.format('%016d', redis.call('INCR', KEYS[3])) .. ' ' .. ARGV[3]
redis.call('ZADD', KEYS[2], 0, m)
redis.call('HSET', KEYS[1], ARGV[1], m)
return 1
`

/** KEYS: link-to, links-of. ARGV: pair JSON. */
const UNLINK = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
redis.call('ZREM', KEYS[2], old)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`

/** KEYS: marks, counter. ARGV: profile ids. A profile already marked keeps its place. */
const MARK_DIRTY = `
for i = 1, #ARGV do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[2]), ARGV[i])
  end
end
return #ARGV
`

const SCRIPTS = {
  lpSyncEnqueue: { lua: ENQUEUE, numberOfKeys: 7 },
  lpSyncPendingFor: { lua: PENDING_FOR, numberOfKeys: 7 },
  lpSyncDue: { lua: DUE, numberOfKeys: 7 },
  lpSyncPending: { lua: PENDING, numberOfKeys: 7 },
  lpSyncReschedule: { lua: RESCHEDULE, numberOfKeys: 7 },
  lpSyncComplete: { lua: COMPLETE, numberOfKeys: 7 },
  lpSyncPark: { lua: PARK, numberOfKeys: 7 },
  lpSyncDeadLetters: { lua: DEAD_LETTERS, numberOfKeys: 7 },
  lpSyncRequeue: { lua: REQUEUE, numberOfKeys: 7 },
  lpSyncClearDead: { lua: CLEAR_DEAD, numberOfKeys: 7 },
  lpSyncLink: { lua: LINK, numberOfKeys: 3 },
  lpSyncUnlink: { lua: UNLINK, numberOfKeys: 2 },
  lpSyncMarkDirty: { lua: MARK_DIRTY, numberOfKeys: 2 }
} as const

/** The scripts as commands of the connection (EVALSHA, loaded on NOSCRIPT). */
type Scripts = { readonly [K in keyof typeof SCRIPTS]: (...keysAndArgs: Array<string>) => Promise<unknown> }

// ---------------------------------------------------------------------------------------------
// Encoding

/** The store's name in details. */
const NAME = "SyncStore"

/** Schema of a KnownState as the store keeps it. */
const KnownStateJson = Schema.parseJson(
  Schema.Struct({
    status: Outbox.EffectiveStatus,
    at: Schema.optionalWith(Schema.String, { exact: true }),
    eventId: Schema.optionalWith(Schema.String, { exact: true })
  })
)

/** The key an item is pending under: `<kind>:<target>:<profile>`. */
const keyName = (kind: Outbox.Kind, target: string, profileId: string): string =>
  `${kind}:${encodeName(target)}:${encodeName(profileId)}`

/**
 * The parts of an item as the scripts take them (ENQUEUE's ARGV 1-10). Core's JSON codec does the
 * encoding (its built typings export the Item schema as a type only).
 */
const partsOf = (item: Outbox.Item): Array<string> => {
  const {
    enqueuedAt: _e,
    attempts: _a,
    nextAttemptAt: _n,
    lastError,
    ...content
  } = JSON.parse(Outbox.toJson(item)) as Outbox.Item
  // The numbers as JavaScript holds them (JSON would turn a non-finite one into null).
  return [
    item.id,
    JSON.stringify(content),
    String(item.enqueuedAt),
    sortableNumber(item.enqueuedAt),
    String(item.attempts),
    String(item.nextAttemptAt),
    lastError === undefined ? "" : JSON.stringify(lastError),
    keyName(item._tag, item.target, item.profileId),
    encodeName(item.target),
    sortableNumber(item.nextAttemptAt)
  ]
}

const corrupt = (step: string, what: string) =>
  new StoreError({ reason: "Unknown", detail: `${NAME} ${step}: ${what} does not decode` })

/** The item's JSON from its stored parts (content, enqueuedAt, attempts, nextAttemptAt, lastError). */
const itemJson = ([content, enqueuedAt, attempts, nextAttemptAt, lastError]: ReadonlyArray<
  string | null
>): string => {
  if (content === null || content === undefined || !content.endsWith("}")) throw new Error("no content")
  const fields = [
    `"enqueuedAt":${JSON.stringify(Number(enqueuedAt))}`,
    `"attempts":${JSON.stringify(Number(attempts))}`,
    `"nextAttemptAt":${JSON.stringify(Number(nextAttemptAt))}`,
    ...(lastError === null || lastError === undefined ? [] : [`"lastError":${lastError}`])
  ].join(",")
  return `${content.slice(0, -1)}${content === "{}" ? "" : ","}${fields}}`
}

const strings = (raw: unknown): ReadonlyArray<string | null> =>
  Array.isArray(raw) ? raw.map((v) => (typeof v === "string" ? v : null)) : []

/** An item from the parts a script returned. */
const itemOf = (step: string, raw: unknown): Effect.Effect<Outbox.Item, SyncStore.StoreError> =>
  Effect.flatMap(
    Effect.try({ try: () => itemJson(strings(raw)), catch: () => corrupt(step, "a stored outbox item") }),
    (json) =>
      Either.match(Outbox.fromJson(json), {
        onLeft: () => Effect.fail(corrupt(step, "a stored outbox item")),
        onRight: Effect.succeed
      })
  )

/** A dead letter from the parts a script returned: the item's, then parkedAt and failure. */
const deadLetterOf = (raw: unknown): Effect.Effect<Outbox.DeadLetter, SyncStore.StoreError> =>
  Effect.flatMap(
    Effect.try({
      try: () => {
        const parts = strings(raw)
        const [parkedAt, failure] = [parts[5], parts[6]]
        if (typeof parkedAt !== "string" || typeof failure !== "string") throw new Error("no letter")
        return `{"item":${itemJson(parts)},"parkedAt":${JSON.stringify(Number(parkedAt))},"failure":${failure}}`
      },
      catch: () => corrupt("deadLetters", "a stored dead letter")
    }),
    (json) =>
      Either.match(Outbox.deadLetterFromJson(json), {
        onLeft: () => Effect.fail(corrupt("deadLetters", "a stored dead letter")),
        onRight: Effect.succeed
      })
  )

/** A link's member of `linksOf` ends with this JSON; the pair JSON names it in `linkTo`. */
const LinkJson = Schema.parseJson(Schema.Tuple(Schema.String, Schema.String, Schema.String))

const linkOf = (member: string): Effect.Effect<SyncStore.Link, SyncStore.StoreError> => {
  // `<profile> <seq> <JSON>`: the encoded profile and the sequence hold no space.
  const first = member.indexOf(" ")
  const json = member.slice(member.indexOf(" ", first + 1) + 1)
  return Either.match(Schema.decodeUnknownEither(LinkJson)(json), {
    onLeft: () => Effect.fail(corrupt("links", "a stored link")),
    onRight: ([profileId, target, externalId]) => Effect.succeed({ target, externalId, profileId })
  })
}

/** A count argument for Redis: a whole number, at least 0. */
const count = (limit: number): number => (Number.isNaN(limit) ? 0 : Math.max(0, Math.floor(limit)))

// ---------------------------------------------------------------------------------------------
// The store

/** A SyncStore over a connection (which it does not close); its keys are under `config.keyPrefix`. */
export const make = (client: RedisClient.RedisClient, config: RedisConfig.Resolved): SyncStore.Service => {
  const keys: SyncKeys = syncKeys(config.keyPrefix)
  const redis: Redis = client.redis
  for (const [name, definition] of Object.entries(SCRIPTS)) redis.defineCommand(name, definition)
  const scripts = redis as unknown as Scripts

  /** Runs one command or script as `step` of an operation, failing with StoreError. */
  const run = <A>(step: string, f: () => Promise<A>): Effect.Effect<A, SyncStore.StoreError> =>
    Effect.tryPromise({
      try: f,
      catch: (e) => {
        const { reason, code } = classify(e, client.lastConnection())
        return new StoreError({
          reason: reason === "Transport" ? "Transport" : "Unknown",
          detail: `${NAME} ${step} failed${code === undefined ? "" : ` (${code})`}`
        })
      }
    })

  /** Encodes what the caller gave: an item the Item schema refuses is the caller's mistake. */
  const encode = <A>(step: string, f: () => A): Effect.Effect<A, SyncStore.StoreError> =>
    Effect.try({
      try: f,
      catch: () => new StoreError({ reason: "Unknown", detail: `${NAME} ${step}: the value does not encode` })
    })

  const outbox = (script: keyof Scripts, step: string, args: ReadonlyArray<string>) =>
    run(step, () => scripts[script](...keys.outbox, ...args))

  const items = (step: string, raw: unknown) =>
    Effect.forEach(Array.isArray(raw) ? raw : [], (r) => itemOf(step, r))

  const maybeItem = (step: string, raw: unknown) =>
    raw === null || raw === undefined ? Effect.succeedNone : Effect.asSome(itemOf(step, raw))

  const pendingFor = (step: string, kind: Outbox.Kind, target: string, profileId: string, remove: boolean) =>
    Effect.flatMap(
      outbox("lpSyncPendingFor", step, [keyName(kind, target, profileId), remove ? "1" : "0"]),
      (raw) => maybeItem(step, raw)
    )

  const pair = (target: string, externalId: string) => JSON.stringify([target, externalId])
  const linksRange = (profileId: string) =>
    [`[${encodeName(profileId)} `, `(${encodeName(profileId)}!`] as const

  return {
    cursor: (source) =>
      Effect.map(
        run("cursor: HGET", () => redis.hget(keys.cursors, source)),
        Option.fromNullable
      ),
    setCursor: (source, cursor) =>
      Effect.asVoid(run("setCursor: HSET", () => redis.hset(keys.cursors, source, cursor))),
    lastSync: (target) =>
      Effect.flatMap(
        run("lastSync: HGET", () => redis.hget(keys.lastSync, target)),
        (text) => {
          if (text === null) return Effect.succeedNone
          const at = Number(text)
          return Number.isNaN(at)
            ? Effect.fail(corrupt("lastSync", "the stored instant"))
            : Effect.succeedSome(at)
        }
      ),
    setLastSync: (target, at) =>
      Effect.asVoid(run("setLastSync: HSET", () => redis.hset(keys.lastSync, target, String(at)))),

    known: (target, profileId) =>
      Effect.flatMap(
        run("known: HGETALL", () => redis.hgetall(keys.known(target, profileId))),
        (hash) =>
          Effect.map(
            Effect.forEach(Object.entries(hash), ([field, json]) =>
              Effect.map(
                Effect.mapError(Schema.decodeUnknown(KnownStateJson)(json), () =>
                  corrupt("known", "a stored known state")
                ),
                (state): readonly [string, ConsentDiff.KnownState] => [field, state]
              )
            ),
            (entries) => new Map(entries)
          )
      ),
    setKnown: (target, profileId, fields) =>
      Effect.gen(function* () {
        if (fields.size === 0) return
        const args = yield* encode("setKnown", () =>
          [...fields].flatMap(([field, state]) => [field, Schema.encodeSync(KnownStateJson)(state)])
        )
        yield* run("setKnown: HSET", () => redis.hset(keys.known(target, profileId), ...args))
      }),
    forget: (target, profileId) =>
      Effect.asVoid(run("forget: DEL", () => redis.del(keys.known(target, profileId)))),

    linked: (target, externalId) =>
      Effect.flatMap(
        run("linked: HGET", () => redis.hget(keys.linkTo, pair(target, externalId))),
        (member) =>
          member === null ? Effect.succeedNone : Effect.asSome(Effect.map(linkOf(member), (l) => l.profileId))
      ),
    links: (profileId) =>
      Effect.flatMap(
        run("links: ZRANGEBYLEX", () => redis.zrangebylex(keys.linksOf, ...linksRange(profileId))),
        (members) => Effect.forEach(members, linkOf)
      ),
    link: (link) =>
      Effect.asVoid(
        run("link: script", () =>
          scripts.lpSyncLink(
            keys.linkTo,
            keys.linksOf,
            keys.linkSeq,
            pair(link.target, link.externalId),
            encodeName(link.profileId),
            JSON.stringify([link.profileId, link.target, link.externalId])
          )
        )
      ),
    unlink: (target, externalId) =>
      Effect.asVoid(
        run("unlink: script", () => scripts.lpSyncUnlink(keys.linkTo, keys.linksOf, pair(target, externalId)))
      ),

    markDirty: (profileIds) =>
      profileIds.length === 0
        ? Effect.void
        : Effect.asVoid(
            run("markDirty: script", () => scripts.lpSyncMarkDirty(keys.dirty, keys.dirtySeq, ...profileIds))
          ),
    dirty: (limit) =>
      count(limit) === 0
        ? Effect.succeed([])
        : run("dirty: ZRANGE", () => redis.zrange(keys.dirty, 0, String(count(limit) - 1))),
    clearDirty: (profileIds) =>
      profileIds.length === 0
        ? Effect.void
        : Effect.asVoid(run("clearDirty: ZREM", () => redis.zrem(keys.dirty, ...profileIds))),

    enqueue: (item) =>
      Effect.flatMap(
        encode("enqueue", () => partsOf(item)),
        (args) =>
          Effect.flatMap(outbox("lpSyncEnqueue", "enqueue: script", args), (outcome) =>
            outcome === "added" || outcome === "replaced" || outcome === "unchanged" || outcome === "dead"
              ? Effect.succeed(outcome as SyncStore.EnqueueOutcome)
              : Effect.fail(corrupt("enqueue", "the script's answer"))
          )
      ),
    pendingFor: (kind, target, profileId) => pendingFor("pendingFor: script", kind, target, profileId, false),
    cancel: (kind, target, profileId) => pendingFor("cancel: script", kind, target, profileId, true),
    due: (target, now, limit) => {
      if (count(limit) === 0) return Effect.succeed([])
      const head = `${encodeName(target)} `
      return Effect.flatMap(
        outbox("lpSyncDue", "due: script", [
          `[${head}`,
          // After every member of the target whose nextAttemptAt is at most now: hex digits < "~".
          `[${head}${sortableNumber(now)}~`,
          String(count(limit)),
          String(head.length + 32)
        ]),
        (raw) => items("due", raw)
      )
    },
    nextDue: (target) => {
      const head = `${encodeName(target)} `
      return Effect.map(
        run("nextDue: ZRANGEBYLEX", () =>
          redis.zrangebylex(keys.due, `[${head}`, `(${encodeName(target)}!`, "LIMIT", 0, 1)
        ),
        (members) =>
          Option.map(Option.fromNullable(members[0]), (m) =>
            fromSortableNumber(m.slice(head.length, head.length + 16))
          )
      )
    },
    pending: Effect.flatMap(outbox("lpSyncPending", "pending: script", []), (raw) => items("pending", raw)),
    oldestPending: Effect.flatMap(
      run("oldestPending: ZRANGE", () => redis.zrange(keys.age, 0, "0", "WITHSCORES")),
      (reply) => {
        const score = reply[1]
        if (score === undefined) return Effect.succeedNone
        const at = Number(score)
        return Number.isNaN(at)
          ? Effect.fail(corrupt("oldestPending", "a stored instant"))
          : Effect.succeedSome(at)
      }
    ),
    reschedule: (item) =>
      Effect.flatMap(
        encode("reschedule", () => partsOf(item)),
        (args) => Effect.map(outbox("lpSyncReschedule", "reschedule: script", args), (r) => r === 1)
      ),
    complete: (id) => Effect.map(outbox("lpSyncComplete", "complete: script", [id]), (r) => r === 1),
    park: (letter) =>
      Effect.flatMap(
        encode("park", () => {
          const parts = partsOf(letter.item).slice(0, 9)
          const { failure } = JSON.parse(Outbox.deadLetterToJson(letter)) as Outbox.DeadLetter
          return [...parts, String(letter.parkedAt), JSON.stringify(failure)]
        }),
        (args) => Effect.asVoid(outbox("lpSyncPark", "park: script", args))
      ),
    deadLetters: Effect.flatMap(outbox("lpSyncDeadLetters", "deadLetters: script", []), (raw) =>
      Effect.forEach(Array.isArray(raw) ? raw : [], deadLetterOf)
    ),
    requeue: (id, now) =>
      Effect.flatMap(
        outbox("lpSyncRequeue", "requeue: script", [id, String(now), sortableNumber(now)]),
        (raw) => maybeItem("requeue", raw)
      ),
    clearDeadLetters: (kind, target, profileId) =>
      Effect.map(
        outbox("lpSyncClearDead", "clearDeadLetters: script", [keyName(kind, target, profileId)]),
        (n) => Number(n)
      )
  }
}

/** Makes a SyncStore with a connection of its own from options; the connection closes with the scope. */
export const makeSyncStore = (
  options: RedisConfig.Options = {}
): Effect.Effect<SyncStore.Service, RedisConfig.RedisConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* RedisConfig.resolve(options)
    const client = yield* RedisClient.connect(config)
    return make(client, config)
  })

/** A layer providing core's SyncStore tag from options. */
export const layerSyncStore = (
  options: RedisConfig.Options = {}
): Layer.Layer<SyncStore.SyncStore, RedisConfig.RedisConfigError> =>
  Layer.scoped(SyncStore.SyncStore, makeSyncStore(options))

/** The same layer from a Config, e.g. `RedisConfig.fromEnv(...)`, read when the layer is built. */
export const layerSyncStoreConfig = (
  config: Config.Config.Wrap<RedisConfig.Options>
): Layer.Layer<SyncStore.SyncStore, RedisConfig.RedisConfigError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layerSyncStore))
