/**
 * What the tests share: whether the real Redis answers (tests fail in CI without it and skip with
 * instructions elsewhere), a harness per test under its own random key prefix that is scanned and
 * deleted afterwards, the kit's backdoor written against the documented key layout (raw commands,
 * never the adapter), and throw-away redis-server processes for fault tests.
 */
import { execFile } from "node:child_process"
import { createHmac, randomUUID } from "node:crypto"
import { readFile, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { describe, it } from "@effect/vitest"
import type { ConsentTarget } from "@living-profile/core"
import type { Backdoor, Harness, MakeOptions } from "@living-profile/testkit/ConsentTargetSuite"
import { Effect, Option, Redacted, type Scope } from "effect"
import { Redis } from "ioredis"
import { make, type RedisConfig } from "../../src/index.js"

/** The shared server the tests run against. */
export const REDIS_URL = "redis://127.0.0.1:6379"
/** How to start it. */
export const START_REDIS = "redis-server --daemonize yes --port 6379 --save '' --appendonly no"
/** The identifier secret of the tests: the backdoor computes index keys with it independently. */
export const SECRET = "kit-identifier-secret"

const ping = async (url: string): Promise<boolean> => {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null
  })
  r.on("error", () => undefined)
  try {
    await r.connect()
    return (await r.ping()) === "PONG"
  } catch {
    return false
  } finally {
    r.disconnect()
  }
}

/** Whether the shared Redis answers. */
export const redisAnswers: boolean = await ping(REDIS_URL)

/**
 * Registers tests that need the shared Redis. Without it: in CI (`CI` set) a failing test, since
 * CI must not pass silently; elsewhere a skipped block that says how to start Redis.
 */
export const whenRedis = (register: () => void): void => {
  if (redisAnswers) {
    register()
    return
  }
  const message = `no Redis answers at ${REDIS_URL}; start one with: ${START_REDIS}`
  if (process.env["CI"] !== undefined) {
    describe("Redis", () => {
      it("answers at 127.0.0.1:6379", () => {
        throw new Error(message)
      })
    })
    return
  }
  console.warn(`[@living-profile/redis] skipping: ${message}`)
  describe.skip(message, () => {
    it("needs Redis", () => undefined)
  })
}

/** A fresh random key prefix. */
export const freshPrefix = (): string => `lp-test:${randomUUID().slice(0, 8)}:`

/** Every key under a prefix (SCAN, never KEYS). */
export const scanKeys = async (redis: Redis, prefix: string): Promise<Array<string>> => {
  const out: Array<string> = []
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    out.push(...keys)
    cursor = next
  } while (cursor !== "0")
  return out
}

/** A raw connection for the scope, and the prefix deleted (SCAN + DEL) when the scope ends. */
export const rawRedis = (
  prefix?: string,
  url: string = REDIS_URL
): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url)),
    (r) =>
      Effect.promise(async () => {
        if (prefix !== undefined) {
          const keys = await scanKeys(r, prefix)
          if (keys.length > 0) await r.del(...keys)
        }
        await r.quit()
      })
  )

/** The index key of an identifier, computed as the README documents it. */
export const identKey = (prefix: string, type: string, value: string): string => {
  const normal = type === "email" ? value.normalize("NFC").toLowerCase() : value
  const h = createHmac("sha256", SECRET).update(`${type}\u0000${normal}`, "utf8").digest("base64url")
  return `${prefix}ident:{${h}}`
}

/** An edge service recording a person's choice: XADD to the stream, then the hash, as documented. */
export const edgeWrite = async (
  r: Redis,
  prefix: string,
  externalId: string,
  field: string,
  status: string,
  modifiedAt: string,
  materialise = true
): Promise<string> => {
  const entry = await r.xadd(
    `${prefix}changes`,
    "*",
    "externalId",
    externalId,
    "field",
    field,
    "status",
    status,
    "modifiedAt",
    modifiedAt
  )
  if (entry === null) throw new Error("XADD returned no id")
  const m = r.multi().sadd(`${prefix}entries:{${externalId}}`, entry)
  if (materialise)
    m.hset(
      `${prefix}consent:{${externalId}}`,
      field,
      status,
      `__modifiedAt:${field}`,
      new Date(modifiedAt).toISOString()
    )
  await m.exec()
  return entry
}

/**
 * The kit's backdoor over the raw keys. Its one fault, `Item`, is a real Redis failure: the person's
 * consent key is swapped for a string, so that the next push gets `WRONGTYPE` for that item only;
 * the backdoor puts the hash back before its next read or write.
 */
export const backdoorOf = (r: Redis, prefix: string): Backdoor => {
  const swapped = new Map<string, Record<string, string>>()
  const restore = async () => {
    for (const [key, saved] of swapped) {
      await r.del(key)
      if (Object.keys(saved).length > 0) await r.hset(key, saved)
    }
    swapped.clear()
  }
  return {
    faults: ["Item"],
    failNext: (fault) =>
      Effect.promise(async () => {
        if (fault._tag !== "Item") throw new Error(`the Redis backdoor cannot inject ${fault._tag}`)
        const key = `${prefix}consent:{${fault.externalId}}`
        swapped.set(key, await r.hgetall(key))
        await r.set(key, "kit-fault: not a hash")
      }),
    read: (id) =>
      Effect.promise(async () => {
        await restore()
        const [ids, hash] = await Promise.all([
          r.hget(`${prefix}person:{${id}}`, "identifiers"),
          r.hgetall(`${prefix}consent:{${id}}`)
        ])
        if (ids === null) return Option.none()
        const fields = new Map<string, ConsentTarget.HeldField>()
        for (const [f, v] of Object.entries(hash)) {
          if (f.startsWith("__")) continue
          const modifiedAt = hash[`__modifiedAt:${f}`]
          const policyVersion = hash[`__policyVersion:${f}`]
          fields.set(f, {
            status: v as ConsentTarget.HeldField["status"],
            ...(modifiedAt === undefined ? {} : { modifiedAt }),
            ...(policyVersion === undefined ? {} : { policyVersion })
          })
        }
        return Option.some({
          externalId: id,
          identifiers: JSON.parse(ids) as ConsentTarget.Identifiers,
          fields
        })
      }),
    find: (type, value) =>
      Effect.promise(async () => Option.fromNullable(await r.get(identKey(prefix, type, value)))),
    create: ({ identifiers, attributes }) =>
      Effect.promise(async () => {
        const id = `bd-${randomUUID()}`
        const index: Array<string> = []
        for (const [type, values] of Object.entries(identifiers))
          for (const v of values) {
            const k = identKey(prefix, type, v)
            if ((await r.set(k, id, "NX")) === "OK") index.push(k)
          }
        await r.hset(
          `${prefix}person:{${id}}`,
          "identifiers",
          JSON.stringify(identifiers),
          "attributes",
          JSON.stringify(attributes ?? {}),
          "index",
          JSON.stringify(index),
          "createdAt",
          new Date().toISOString()
        )
        return id
      }),
    write: (id, field, status, modifiedAt) =>
      Effect.promise(async () => {
        await restore()
        await edgeWrite(r, prefix, id, field, status, modifiedAt)
      })
  }
}

/** Adapter options for a prefix. */
export const optionsFor = (
  prefix: string,
  overrides: Partial<RedisConfig.Options> = {}
): RedisConfig.Options => ({
  url: REDIS_URL,
  keyPrefix: prefix,
  identifierSecret: Redacted.make(SECRET),
  ...overrides
})

/** One kit test's harness: its own prefix, cleaned up when the test ends. */
export const kitHarness = (o: MakeOptions): Effect.Effect<Harness, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const prefix = freshPrefix()
    const r = yield* rawRedis(prefix)
    // A user that does not exist: the real server refuses it with WRONGPASS.
    const bad = o.badCredentials ? { username: "lp-kit-nobody", password: Redacted.make("wrong") } : {}
    const options = optionsFor(prefix, { maxBatchSize: 50, stream: { pageSize: 3 }, ...bad })
    const { target } = yield* make(options)
    return {
      target,
      backdoor: backdoorOf(r, prefix),
      reconnect: () => Effect.map(make(options), (a) => a.target)
    }
  })

const run = promisify(execFile)

/** A free TCP port on 127.0.0.1 (nothing listens on it once this returns). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      const port = typeof a === "object" && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })

/** A throw-away redis-server this test started. */
export interface Throwaway {
  readonly port: number
  readonly url: string
  /** Kills it (by its pid). */
  readonly kill: () => Promise<void>
  /** Starts it again on the same port. */
  readonly restart: () => Promise<void>
}

const waitFor = async (check: () => Promise<boolean>, ms = 5_000): Promise<void> => {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error("timed out waiting")
}

/** Starts a redis-server on a free port for the scope; killed when it ends. */
export const throwaway = (args: ReadonlyArray<string> = []): Effect.Effect<Throwaway, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const port = await freePort()
      const pidfile = join(tmpdir(), `lp-redis-${port}.pid`)
      let pid: number | undefined
      const alive = (): boolean => {
        if (pid === undefined) return false
        try {
          process.kill(pid, 0)
          return true
        } catch {
          return false
        }
      }
      const start = async () => {
        // A SIGKILLed server leaves its pidfile: remove it, or the old pid would be read as the new one.
        await rm(pidfile, { force: true })
        pid = undefined
        await run("redis-server", [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--daemonize",
          "yes",
          "--pidfile",
          pidfile,
          ...args
        ])
        await waitFor(async () => {
          try {
            pid = Number((await readFile(pidfile, "utf8")).trim())
            return pid > 0
          } catch {
            return false
          }
        })
        // Up once it answers at all (a NOAUTH answer counts).
        await waitFor(async () => {
          try {
            await run("redis-cli", ["-p", String(port), "ping"])
            return true
          } catch {
            return false
          }
        })
      }
      const kill = async () => {
        if (pid !== undefined && alive()) process.kill(pid, "SIGKILL")
        await waitFor(async () => !alive())
        await rm(pidfile, { force: true })
      }
      await start()
      return { port, url: `redis://127.0.0.1:${port}`, kill, restart: start }
    }),
    (t) => Effect.promise(() => t.kill())
  )
