/**
 * The RedisProfileStore runs the kit's ProfileStore suite against the real Redis, each test under
 * its own key prefix, deleted afterwards.
 */
import { profileStoreSuite } from "@living-profile/testkit/ProfileStoreSuite"
import { Effect, Redacted } from "effect"
import { makeProfileStore } from "../src/index.js"
import { freshPrefix, rawRedis, REDIS_URL, whenRedis } from "./support/redis.js"

whenRedis(() =>
  profileStoreSuite({
    name: "redis",
    makeStore: (config) =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        yield* rawRedis(prefix)
        return yield* makeProfileStore({
          url: REDIS_URL,
          keyPrefix: prefix,
          secret: Redacted.make("kit-store-secret"),
          resolver: config
        })
      })
  })
)
