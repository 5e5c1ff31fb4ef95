/**
 * The persistent profile store of `--store <url>`: a RedisProfileStore, its secrets read from the
 * environment, opened for one run and closed at its end. Messages name the store by its URL
 * without credentials and name environment variables, never their values.
 */
import { ProfileStore, type ResolverConfig } from "@living-profile/core"
import type { RedisErrors, RedisProfileStore } from "@living-profile/redis"
import { ConfigProvider, Effect, Either } from "effect"
import { errnoCode, runEffect, StoreFailure, UsageError } from "./ExitCode.js"

/** The variable holding the secret of the store's keyed hashes (required with `--store`). */
export const secretVariable = "LIVING_PROFILE_SECRET"
/** The variable holding the key prefix when `--key-prefix` is not given. */
export const keyPrefixVariable = "LIVING_PROFILE_KEY_PREFIX"
/** The key prefix when neither `--key-prefix` nor the variable is given. */
export const defaultKeyPrefix = "lp:"

// Loaded when a store is used: the other commands need neither the adapter nor its client.
const adapter = () => import("@living-profile/redis")

const encryptionKeys = "LIVING_PROFILE_ENCRYPTION_KEYS"
const encryptionCurrent = "LIVING_PROFILE_ENCRYPTION_CURRENT"

/** What `--store` and its companions say. */
export interface StoreOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  readonly url: string
  /** The key prefix (default: `LIVING_PROFILE_KEY_PREFIX`, else `lp:`); one prefix is one store. */
  readonly keyPrefix?: string | undefined
  /** Where the secrets are read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/** A store checked and ready to open: the adapter's options but the resolver config. */
export interface StoreSettings {
  /** The URL without credentials, for messages and summaries. */
  readonly display: string
  readonly keyPrefix: string
  readonly options: Omit<RedisProfileStore.Options, "resolver">
}

/** The URL without user and password. */
const displayOf = (url: URL): string =>
  `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`

/**
 * Checks the URL and reads the environment, before anything is opened: a bad URL, a missing
 * `LIVING_PROFILE_SECRET` or half an encryption key ring is a usage error (exit code 2).
 */
export const settings = async (options: StoreOptions): Promise<StoreSettings> => {
  const env = options.env ?? process.env
  let url: URL
  try {
    url = new URL(options.url)
  } catch {
    throw new UsageError({ detail: "--store must be a URL such as redis://127.0.0.1:6379/0" })
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw new UsageError({
      detail: `--store: unsupported scheme "${url.protocol}" (redis: or rediss: expected)`
    })
  if (!/^\/?(\d+)?$/.test(url.pathname))
    throw new UsageError({
      detail: "--store: the path must be a database number, as in redis://127.0.0.1:6379/0"
    })
  const secret = env[secretVariable]
  if (secret === undefined || secret.trim() === "")
    throw new UsageError({
      detail: `--store needs the environment variable ${secretVariable}: the secret of the store's keyed hashes, the same for every run on one store`
    })
  if ((env[encryptionKeys] === undefined) !== (env[encryptionCurrent] === undefined))
    throw new UsageError({
      detail: `${encryptionKeys} and ${encryptionCurrent} go together: set both or neither`
    })
  // The adapter's own reading of the environment (encryption key ring, REDIS_USERNAME, REDIS_PASSWORD).
  const provider = ConfigProvider.fromMap(
    new Map(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
  )
  const { RedisProfileStore } = await adapter()
  const read = Effect.runSync(Effect.either(Effect.withConfigProvider(RedisProfileStore.fromEnv(), provider)))
  // The variables checked above are all it requires: anything else is a bug, reported without values.
  if (Either.isLeft(read)) throw new Error("reading the store's environment failed")
  const fromEnv = read.right
  const keyPrefix = options.keyPrefix ?? fromEnv.keyPrefix ?? defaultKeyPrefix
  // An empty prefix would share the keyspace with everything else in the database.
  if (keyPrefix === "")
    throw new UsageError({ detail: `--key-prefix (or ${keyPrefixVariable}) must not be empty` })
  return { display: displayOf(url), keyPrefix, options: { ...fromEnv, url: options.url, keyPrefix } }
}

/**
 * Opens the store under the resolver config, connects (so that a wrong URL, refused credentials
 * or a database the server lacks fail at once, before any input is read), runs `use` on it and
 * closes the connection whatever happens. A failure of the store becomes a StoreFailure (exit code 5).
 */
export const withStore = async <A>(
  settings: StoreSettings,
  config: ResolverConfig.ResolverConfig,
  use: (store: RedisProfileStore.RedisProfileStore) => Promise<A>
): Promise<A> => {
  const { RedisErrors, RedisProfileStore } = await adapter()
  return runEffect(
    Effect.scoped(
      Effect.flatMap(RedisProfileStore.make({ ...settings.options, resolver: config }), (store) =>
        Effect.tryPromise({
          try: async () => {
            await connect(store, settings.display, RedisErrors.classify)
            return await use(store)
          },
          catch: (e) => e
        })
      )
    ).pipe(
      Effect.mapError((e) =>
        e instanceof ProfileStore.StoreError
          ? new StoreFailure({ store: settings.display, detail: e.detail })
          : e
      )
    )
  )
}

/**
 * Connects and pings. ioredis reports why a connection failed (a refused socket, refused
 * credentials, a failed SELECT of the database, after which it would go on in database 0) only
 * to its `error` event, so the first such event decides.
 */
const connect = async (
  store: RedisProfileStore.RedisProfileStore,
  display: string,
  classify: typeof RedisErrors.classify
): Promise<void> => {
  let failure: unknown
  const listener = (e: unknown) => {
    failure ??= e
  }
  store.redis.on("error", listener)
  let thrown: unknown
  try {
    // The store connects when it opens; an older adapter connects lazily.
    if (store.redis.status !== "ready") await store.redis.connect()
    // Answered after the connection's setup commands (AUTH, SELECT), whose failures precede it.
    await store.redis.ping()
  } catch (e) {
    thrown = e
  } finally {
    store.redis.off("error", listener)
  }
  const cause = failure ?? thrown
  if (cause === undefined) return
  // Drop it now: the store's polite QUIT at the end would wait for a reconnection that fails again.
  store.redis.disconnect()
  const { reason, code } = classify(cause)
  const why = code === undefined ? "" : ` (${code})`
  const detail =
    reason === "Unauthorized"
      ? `the server refused the credentials${why}`
      : reason === "Transport"
        ? `cannot connect${why}`
        : `the server refused to set up the connection${why}, for example a database number beyond its databases`
  throw new StoreFailure({ store: display, detail })
}

/**
 * Brings the stored profiles up to date with the change log when a writer stopped between
 * writing records and materialising their profiles. Otherwise it costs two reads, not a catch-up:
 * catching up replays the whole log into this process.
 */
export const settle = async (store: RedisProfileStore.RedisProfileStore): Promise<void> => {
  const lagging = await runEffect(
    Effect.tryPromise({
      try: async () => {
        const [last] = await store.redis.xrevrange(store.keys.log, "+", "-", "COUNT", 1)
        const mat = (await store.redis.get(store.keys.mat)) ?? "0-0"
        return last !== undefined && last[0] !== mat
      },
      catch: (e) => {
        const code = errnoCode(e)
        return new ProfileStore.StoreError({
          reason: "Transport",
          detail: `reading the change log failed${code === undefined ? "" : ` (${code})`}`
        })
      }
    })
  )
  if (lagging) await runEffect(store.sync)
}
