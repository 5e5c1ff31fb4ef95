/**
 * The ioredis connection of the adapter: made from resolved options, closed with its scope, with
 * the adapter's Lua scripts defined on it and its last connection failure remembered (ioredis
 * reports `MaxRetriesPerRequestError` to the caller and the cause only to its `error` event).
 */
import { Duration, Effect, Redacted, type Scope } from "effect"
import { type ChainableCommander, Redis } from "ioredis"
import type { Resolved } from "./RedisConfig.js"
import { type Classified, classify } from "./RedisErrors.js"
import { MODIFIED_AT, POLICY_VERSION } from "./RedisKeys.js"

/**
 * Sets a person's fields, one change per 4 arguments after the header. KEYS: consent, person.
 * ARGV: now, mode (`id`: the person must exist; `ident`: create the record when missing),
 * identifiers JSON, index JSON, then (field, status, hasPolicyVersion, policyVersion) per change.
 * A field already holding the status and policy version keeps its modification time, so that a
 * re-pushed diff changes nothing. Returns 0 when the person does not exist, else 1.
 */
const PUSH = `
if redis.call('EXISTS', KEYS[2]) == 0 then
  if ARGV[2] ~= 'ident' then return 0 end
  redis.call('HSET', KEYS[2], 'identifiers', ARGV[3], 'index', ARGV[4], 'createdAt', ARGV[1])
end
for i = 5, #ARGV, 4 do
  local f, s, hasPv, pv = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local held = redis.call('HMGET', KEYS[1], f, '${POLICY_VERSION}' .. f)
  local same = held[1] == s and ((hasPv == '1' and held[2] == pv) or (hasPv ~= '1' and not held[2]))
  if not same then
    redis.call('HSET', KEYS[1], f, s, '${MODIFIED_AT}' .. f, ARGV[1])
    if hasPv == '1' then
      redis.call('HSET', KEYS[1], '${POLICY_VERSION}' .. f, pv)
    else
      redis.call('HDEL', KEYS[1], '${POLICY_VERSION}' .. f)
    end
  end
end
return 1
`

/**
 * Applies one change read from the stream to the consent hash. KEYS: consent, person, entries.
 * ARGV: field, status, modifiedAt (ISO, toISOString form), hasPolicyVersion, policyVersion, entry id.
 * Returns false when the person does not exist (erased, or never known), else their identifiers
 * JSON (or an empty string). A change older than what the hash holds does not replace it, so that
 * replaying the stream cannot roll a field back.
 */
const PULLED = `
local ids = redis.call('HGET', KEYS[2], 'identifiers')
if not ids then return false end
redis.call('SADD', KEYS[3], ARGV[6])
local f = ARGV[1]
local at = redis.call('HGET', KEYS[1], '${MODIFIED_AT}' .. f)
if (not at) or at <= ARGV[3] then
  redis.call('HSET', KEYS[1], f, ARGV[2], '${MODIFIED_AT}' .. f, ARGV[3])
  if ARGV[4] == '1' then
    redis.call('HSET', KEYS[1], '${POLICY_VERSION}' .. f, ARGV[5])
  else
    redis.call('HDEL', KEYS[1], '${POLICY_VERSION}' .. f)
  end
end
return ids
`

/** Deletes an index key only while it still names this person. KEYS: index key. ARGV: externalId. */
const DEL_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/** The scripts as commands on a pipeline. */
export interface ScriptPipeline extends ChainableCommander {
  lpPush(consent: string, person: string, ...args: Array<string>): ScriptPipeline
  lpPulled(consent: string, person: string, entries: string, ...args: Array<string>): ScriptPipeline
  lpDelIf(key: string, externalId: string): ScriptPipeline
}

/** A connection and what the adapter needs to know about it. */
export interface RedisClient {
  readonly redis: Redis
  /** A pipeline that also carries the adapter's scripts (sent as EVALSHA, loaded on NOSCRIPT). */
  readonly pipeline: () => ScriptPipeline
  /** How the last connection attempt failed (e.g. Transport `ECONNREFUSED`), or undefined once connected. */
  readonly lastConnection: () => Classified | undefined
}

/** Connects (lazily: the first command connects) and closes the connection when the scope ends. */
export const connect = (resolved: Resolved): Effect.Effect<RedisClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let last: Classified | undefined
      // An object literal: ioredis' option types do not accept a RedisOptions variable under
      // exactOptionalPropertyTypes (see TOOLCHAIN.md).
      const redis = new Redis(resolved.url, {
        ...(resolved.username === undefined ? {} : { username: resolved.username }),
        ...(resolved.password === undefined ? {} : { password: Redacted.value(resolved.password) }),
        lazyConnect: true,
        // One resend after a reconnect at most: the adapter reports Transport and the engine retries.
        maxRetriesPerRequest: 1,
        commandTimeout: Duration.toMillis(resolved.commandTimeout),
        connectTimeout: Duration.toMillis(resolved.connectTimeout),
        scripts: {
          lpPush: { lua: PUSH, numberOfKeys: 2 },
          lpPulled: { lua: PULLED, numberOfKeys: 3 },
          lpDelIf: { lua: DEL_IF, numberOfKeys: 1 }
        }
      })
      // Only the classification is kept: socket and reply messages may name hosts or echo values.
      redis.on("error", (e: unknown) => {
        last = classify(e, last)
      })
      redis.on("ready", () => {
        last = undefined
      })
      return {
        redis,
        pipeline: () => redis.pipeline() as ScriptPipeline,
        lastConnection: () => last
      }
    }),
    ({ redis }) =>
      Effect.promise(() =>
        redis.quit().then(
          () => undefined,
          () => undefined
        )
      ).pipe(
        Effect.timeout(Duration.seconds(1)),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => redis.disconnect()))
      )
  )
