/**
 * The options of the Redis consent target, their defaults and validation, and the one place that
 * reads the environment (`fromEnv`: `REDIS_URL`, `REDIS_USERNAME`, `REDIS_PASSWORD`,
 * `REDIS_IDENTIFIER_SECRET`).
 */
import { randomBytes } from "node:crypto"
import type { ConsentDiff, ConsentEvent } from "@living-profile/core"
import { Config, Data, Duration, Either, Option, Redacted } from "effect"

/** Where the adapter connects when no URL is given. */
export const DEFAULT_URL = "redis://127.0.0.1:6379"

/** One of our consent keys and the hash field that holds it. */
export interface FieldMapping {
  /** Our purpose, e.g. `marketing`. */
  readonly purpose: string
  /** Our channel, e.g. `email`; `any` for a purpose-wide consent. */
  readonly channel: ConsentEvent.Channel
  /** The hash field name the edge reads; must not start with `__` (reserved for metadata). */
  readonly field: string
}

/** The default mapping: fields an edge service reads by their obvious names. */
export const DEFAULT_MAPPING: ReadonlyArray<FieldMapping> = [
  { purpose: "marketing", channel: "email", field: "marketing.email" },
  { purpose: "marketing", channel: "sms", field: "marketing.sms" },
  { purpose: "marketing", channel: "push", field: "marketing.push" },
  { purpose: "profiling", channel: "any", field: "profiling" },
  { purpose: "analytics", channel: "any", field: "analytics" }
]

/** How pull reads the change stream. */
export interface StreamOptions {
  /** The stream's key after the prefix (default `changes`: the key is `{prefix}changes`). */
  readonly key?: string
  /** Stream entries per pull page (default 500). */
  readonly pageSize?: number
}

/** What the adapter is configured with. */
export interface Options {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...` (default `redis://127.0.0.1:6379`). */
  readonly url?: string
  /** The ACL user (Redis 6+); overrides the URL's. */
  readonly username?: string
  /** **Secret.** The password; overrides the URL's. */
  readonly password?: Redacted.Redacted<string>
  /** Prefix of every key the adapter writes (default `lp:`). */
  readonly keyPrefix?: string
  /** The target name: `mapping.target` and the `source` of pulled events (default `redis`). */
  readonly name?: string
  /** Which keys the hash holds under which field names (default `DEFAULT_MAPPING`). */
  readonly mapping?: ReadonlyArray<FieldMapping>
  /** Statuses beyond granted / denied the hash holds verbatim (default all three). */
  readonly holds?: ReadonlyArray<ConsentDiff.HeldStatus>
  /** Identifier types a person is found and created by (default `email`). */
  readonly identifiers?: ReadonlyArray<string>
  /**
   * **Secret.** Key of the HMAC-SHA-256 that names identifier index keys. Default: random per
   * process, which is only fit for tests and single short-lived processes (see the README).
   */
  readonly identifierSecret?: Redacted.Redacted<string>
  /** The change stream. */
  readonly stream?: StreamOptions
  /** Diffs per pipeline, refs per read or erase (default 500). */
  readonly maxBatchSize?: number
  /** Time allowed for one command (default 5 s); a late answer is a Transport failure. */
  readonly commandTimeout?: Duration.DurationInput
  /** Time allowed to connect (default 5 s). */
  readonly connectTimeout?: Duration.DurationInput
}

/** Options with every default filled in. */
export interface Resolved {
  readonly url: string
  readonly username: string | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly keyPrefix: string
  readonly name: string
  readonly mapping: ReadonlyArray<FieldMapping>
  readonly holds: ReadonlyArray<ConsentDiff.HeldStatus>
  readonly identifiers: ReadonlyArray<string>
  readonly identifierSecret: Redacted.Redacted<string>
  readonly streamKey: string
  readonly pageSize: number
  readonly maxBatchSize: number
  readonly commandTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
}

/** The options do not describe a usable adapter; `problem` names the option and why. */
export class RedisConfigError extends Data.TaggedError("RedisConfigError")<{ readonly problem: string }> {
  override get message(): string {
    return `Redis adapter options: ${this.problem}`
  }
}

// Drawn once per process: two targets of one process then agree on index keys without configuration.
const processSecret = Redacted.make(randomBytes(32).toString("base64"))

const positiveInt = (n: number): boolean => Number.isInteger(n) && n >= 1

/** Validates options and fills in the defaults. */
export const resolve = (options: Options = {}): Either.Either<Resolved, RedisConfigError> => {
  const fail = (problem: string) => Either.left(new RedisConfigError({ problem }))
  const url = options.url ?? DEFAULT_URL
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
      return fail("url must start with redis:// or rediss://")
  } catch {
    // The URL may hold a password: say what is wrong, never echo it.
    return fail("url is not a URL")
  }
  const name = options.name ?? "redis"
  if (name.length === 0) return fail("name must not be empty")
  const keyPrefix = options.keyPrefix ?? "lp:"
  // Braces would move the hash tag off the person's id and break Cluster slot placement.
  if (/[{}]/.test(keyPrefix)) return fail("keyPrefix must not contain { or }")
  const mapping = options.mapping ?? DEFAULT_MAPPING
  if (mapping.length === 0) return fail("mapping must map at least one key")
  const seen = new Set<string>()
  for (const m of mapping) {
    if (m.field.length === 0 || m.purpose.length === 0) return fail("a mapping has an empty purpose or field")
    if (m.field.startsWith("__")) return fail(`field "${m.field}" starts with __, which is reserved`)
    if (seen.has(m.field)) return fail(`field "${m.field}" is mapped twice`)
    seen.add(m.field)
  }
  const streamKey = options.stream?.key ?? "changes"
  if (streamKey.length === 0 || /[{}]/.test(streamKey))
    return fail("stream.key must be non-empty, without braces")
  const pageSize = options.stream?.pageSize ?? 500
  if (!positiveInt(pageSize)) return fail("stream.pageSize must be a positive integer")
  const maxBatchSize = options.maxBatchSize ?? 500
  if (!positiveInt(maxBatchSize)) return fail("maxBatchSize must be a positive integer")
  const identifiers = options.identifiers ?? ["email"]
  if (identifiers.some((t) => t.length === 0)) return fail("identifiers has an empty type")
  return Either.right({
    url,
    username: options.username,
    password: options.password,
    keyPrefix,
    name,
    mapping,
    holds: options.holds ?? ["withdrawn", "expired", "pending"],
    identifiers,
    identifierSecret: options.identifierSecret ?? processSecret,
    streamKey,
    pageSize,
    maxBatchSize,
    commandTimeout: Duration.decode(options.commandTimeout ?? Duration.seconds(5)),
    connectTimeout: Duration.decode(options.connectTimeout ?? Duration.seconds(5))
  })
}

/** The target mapping the adapter declares. */
export const mappingOf = (resolved: Resolved): ConsentDiff.TargetMapping => ({
  target: resolved.name,
  keys: resolved.mapping.map((m) => ({ purpose: m.purpose, channel: m.channel, field: m.field })),
  holds: resolved.holds
})

/**
 * Options read from the environment: `REDIS_URL`, `REDIS_USERNAME`, `REDIS_PASSWORD` (redacted)
 * and `REDIS_IDENTIFIER_SECRET` (redacted), each optional; the rest comes from `rest`.
 */
export const fromEnv = (
  rest: Omit<Options, "url" | "username" | "password" | "identifierSecret"> = {}
): Config.Config<Options> =>
  Config.all({
    url: Config.option(Config.string("REDIS_URL")),
    username: Config.option(Config.string("REDIS_USERNAME")),
    password: Config.option(Config.redacted("REDIS_PASSWORD")),
    identifierSecret: Config.option(Config.redacted("REDIS_IDENTIFIER_SECRET"))
  }).pipe(
    Config.map(({ url, username, password, identifierSecret }) => ({
      ...rest,
      ...(Option.isSome(url) ? { url: url.value } : {}),
      ...(Option.isSome(username) ? { username: username.value } : {}),
      ...(Option.isSome(password) ? { password: password.value } : {}),
      ...(Option.isSome(identifierSecret) ? { identifierSecret: identifierSecret.value } : {})
    }))
  )
