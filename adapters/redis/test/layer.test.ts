import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { layer, layerConfig, RedisConfig } from "../src/index.js"
import { freshPrefix, optionsFor, rawRedis, REDIS_URL, whenRedis } from "./support/redis.js"

whenRedis(() =>
  describe("layers", () => {
    it.scopedLive("layer(options) provides core's ConsentTarget tag", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        yield* rawRedis(prefix)
        const page = yield* Effect.flatMap(ConsentTarget.Tag, (t) => t.pull(Option.none())).pipe(
          Effect.provide(layer(optionsFor(prefix)))
        )
        expect(page.changes).toEqual([])
      })
    )

    it.scopedLive("layerConfig reads REDIS_URL when the layer is built", () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        yield* rawRedis(prefix)
        const provider = ConfigProvider.fromMap(new Map([["REDIS_URL", REDIS_URL]]))
        const Live = layerConfig(RedisConfig.fromEnv({ keyPrefix: prefix, name: "edge" })).pipe(
          Layer.provide(Layer.setConfigProvider(provider))
        )
        const name = yield* Effect.map(ConsentTarget.Tag, (t) => t.name).pipe(Effect.provide(Live))
        expect(name).toBe("edge")
      })
    )
  })
)
