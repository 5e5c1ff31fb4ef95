/**
 * Whether the real Redis answers, as the Redis adapter's tests decide it: without it the tests fail
 * in CI (`CI` set), since CI must not pass silently, and are skipped elsewhere with a message that
 * says how to start one.
 */
import { Redis } from "ioredis"
import { describe, it } from "vitest"

/** The server the tests run against. */
export const REDIS_URL = "redis://127.0.0.1:6379"
/** How to start it. */
export const START_REDIS = "redis-server --daemonize yes --port 6379 --save '' --appendonly no"

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

/** Whether Redis answers at REDIS_URL. */
export const redisAnswers: boolean = await ping(REDIS_URL)

/** Registers tests that need Redis: failing in CI without it, skipped with instructions elsewhere. */
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
  console.warn(`[@living-profile/example-distributed] skipping: ${message}`)
  describe.skip(message, () => {
    it("needs Redis", () => undefined)
  })
}

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
