import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { Duration, Effect, Either, Redacted } from "effect"
import { HubSpotConfig, make } from "../src/index.js"

const base: HubSpotConfig.Options = {
  accessToken: Redacted.make("pat-na1-test"),
  subscriptions: [{ purpose: "marketing", subscriptionId: "1001" }]
}

describe("HubSpotConfig", () => {
  it("fills in the defaults", () => {
    const r = HubSpotConfig.resolve(base)
    expect(Either.isRight(r)).toBe(true)
    if (Either.isLeft(r)) return
    expect(r.right.name).toBe("hubspot")
    expect(r.right.basePath).toBe("https://api.hubapi.com")
    expect(r.right.batchSize).toBe(100)
    expect(r.right.burstBudget).toEqual({ max: 90, windowMs: 10_000 })
    expect(r.right.searchBudget).toEqual({ max: 4, windowMs: 1_000 })
    expect(r.right.pullPageSize).toBe(200)
    expect(Duration.toMillis(r.right.pullSettle)).toBe(10_000)
    expect(r.right.legalBasis).toEqual(HubSpotConfig.defaultLegalBasis)
    expect(HubSpotConfig.mappingOf(r.right)).toEqual({
      target: "hubspot",
      keys: [{ purpose: "marketing", channel: "email", field: "1001" }]
    })
  })

  it.each([
    ["no subscriptions", { subscriptions: [] }],
    ["a name for an id", { subscriptions: [{ purpose: "marketing", subscriptionId: "Newsletter" }] }],
    [
      "a channel other than email",
      { subscriptions: [{ purpose: "marketing", subscriptionId: 1, channel: "sms" as "email" }] }
    ],
    [
      "one type mapped twice",
      {
        subscriptions: [
          { purpose: "a", subscriptionId: 1 },
          { purpose: "b", subscriptionId: "1" }
        ]
      }
    ],
    ["batches above 100", { batchSize: 101 }],
    ["search pages above 200", { pullPageSize: 201 }],
    ["an empty budget", { burstBudget: { max: 0, windowMs: 10_000 } }],
    ["a base path that is not a URL", { basePath: "api.hubapi.com" }]
  ] as const)("refuses %s", (_, patch) => {
    const r = HubSpotConfig.resolve({ ...base, ...patch })
    expect(Either.isLeft(r) && r.left._tag).toBe("HubSpotConfigError")
  })

  it.effect("make fails with the config error, and never shows the token", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(make({ ...base, batchSize: 0 }))
      expect(e.message).toContain("batchSize")
      expect(String(Redacted.make("pat-na1-test"))).not.toContain("pat-na1")
    })
  )

  it.effect("the target declares what HubSpot supports", () =>
    Effect.gen(function* () {
      const { target } = yield* make({
        ...base,
        subscriptions: [
          { purpose: "marketing", subscriptionId: 1001 },
          { purpose: "marketing", subscriptionId: 1002 }
        ]
      })
      expect(target.capabilities).toEqual({
        holds: [],
        fields: ["1001", "1002"],
        identifiers: ["email"],
        pull: true,
        read: true,
        erase: true,
        records: false,
        policyVersion: false,
        maxBatchSize: 100
      })
      expect(Either.isRight(ConsentTarget.checkMapping(target))).toBe(true)
    })
  )
})
