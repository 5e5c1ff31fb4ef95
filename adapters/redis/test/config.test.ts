import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Redacted } from "effect"
import { RedisConfig } from "../src/index.js"

describe("RedisConfig", () => {
  it("fills in the defaults", () => {
    const r = Either.getOrThrow(RedisConfig.resolve({}))
    expect(r.url).toBe("redis://127.0.0.1:6379")
    expect(r.keyPrefix).toBe("lp:")
    expect(r.name).toBe("redis")
    expect(r.maxBatchSize).toBe(500)
    expect(r.streamKey).toBe("changes")
    expect(r.mapping.map((m) => `${m.purpose}/${m.channel}`)).toEqual([
      "marketing/email",
      "marketing/sms",
      "marketing/push",
      "profiling/any",
      "analytics/any"
    ])
    // The per-process secret is the same for every target of the process.
    const again = Either.getOrThrow(RedisConfig.resolve({}))
    expect(Redacted.value(again.identifierSecret)).toBe(Redacted.value(r.identifierSecret))
  })

  it("refuses unusable options without echoing a URL's password", () => {
    const bad = (o: RedisConfig.Options) => Either.isLeft(RedisConfig.resolve(o))
    expect(bad({ url: "http://x" })).toBe(true)
    expect(bad({ keyPrefix: "a{b}" })).toBe(true)
    expect(bad({ mapping: [] })).toBe(true)
    expect(bad({ mapping: [{ purpose: "p", channel: "any", field: "__x" }] })).toBe(true)
    expect(bad({ maxBatchSize: 0 })).toBe(true)
    const e = RedisConfig.resolve({ url: "redis://:hunter2@%zz" })
    expect(Either.isLeft(e) ? e.left.message : "").not.toContain("hunter2")
  })

  it.effect("fromEnv reads REDIS_URL and the secrets as Redacted", () =>
    Effect.gen(function* () {
      const options = yield* RedisConfig.fromEnv({ keyPrefix: "app:" }).pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([
              ["REDIS_URL", "redis://10.0.0.5:6380/2"],
              ["REDIS_PASSWORD", "pw-secret"],
              ["REDIS_IDENTIFIER_SECRET", "hmac-secret"]
            ])
          )
        )
      )
      expect(options.url).toBe("redis://10.0.0.5:6380/2")
      expect(options.keyPrefix).toBe("app:")
      expect(options.password !== undefined && Redacted.value(options.password)).toBe("pw-secret")
      expect(String(options.password)).not.toContain("pw-secret")
      expect(options.identifierSecret !== undefined && Redacted.value(options.identifierSecret)).toBe(
        "hmac-secret"
      )
      const none = yield* RedisConfig.fromEnv().pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      expect(none).toEqual({})
    })
  )
})
