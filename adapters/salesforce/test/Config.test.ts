import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { ConfigProvider, Effect, Either, Layer, Option, Redacted } from "effect"
import { layerConfig, SalesforceClient, SalesforceConfig } from "../src/index.js"
import { emulator, person } from "./support/Emulator.js"

const base: SalesforceConfig.Options = {
  loginUrl: "https://login.salesforce.com",
  auth: { type: "client-credentials", clientId: "id", clientSecret: Redacted.make("secret") }
}

const problem = (options: SalesforceConfig.Options) =>
  Either.match(SalesforceConfig.resolve(options), { onLeft: (e) => e.detail, onRight: () => "ok" })

describe("options", () => {
  it("defaults: API 60.0, collections of 200, calls of 4,000, pages of 2,000, Contact and Lead, the default mapping", () => {
    const resolved = Either.getOrThrow(SalesforceConfig.resolve(base))
    expect(resolved).toMatchObject({
      name: "salesforce",
      apiVersion: "60.0",
      batchSize: 200,
      maxBatchSize: 4000,
      pageSize: 2000,
      objects: ["Contact", "Lead"]
    })
    expect(resolved.mapping.keys.map((k) => `${k.purpose}/${k.channel} -> ${k.field}`)).toEqual([
      "marketing/email -> ContactPointTypeConsent:Marketing:Email",
      "marketing/phone -> ContactPointTypeConsent:Marketing:Phone",
      "marketing/post -> ContactPointTypeConsent:Marketing:MailingAddress",
      "marketing/any -> Individual.HasOptedOutSolicit",
      "processing/any -> Individual.HasOptedOutProcessing",
      "profiling/any -> Individual.HasOptedOutProfiling",
      "analytics/any -> Individual.HasOptedOutTracking"
    ])
  })

  it("refuses what cannot work, naming the option and not its value", () => {
    expect(problem({ ...base, apiVersion: "57.0" })).toContain("option apiVersion")
    expect(problem({ ...base, batchSize: 201 })).toContain("option batchSize")
    expect(problem({ ...base, maxBatchSize: 10_001 })).toContain("option maxBatchSize")
    expect(problem({ ...base, pageSize: 100 })).toContain("option pageSize")
    expect(problem({ ...base, loginUrl: "ftp://x" })).toContain("option loginUrl")
    expect(problem({ ...base, instanceUrl: "https://acme.lightning.force.com" })).toContain(
      "option instanceUrl"
    )
    expect(problem({ ...base, objects: ["Lead"] })).toContain("option objects")
    expect(problem({ ...base, attributes: { Contact: { x: "Bad Field; DELETE" } } })).toContain(
      "option attributes.Contact.x"
    )
    const twice: SalesforceConfig.ConsentKey = {
      kind: "Individual",
      purpose: "a",
      channel: "any",
      flag: "HasOptedOutSolicit"
    }
    expect(problem({ ...base, consent: [twice, { ...twice, purpose: "b" }] })).toContain("option consent[1]")
  })
})

describe("layerConfig", () => {
  it.scopedLive("reads the environment and provides the core tags and the client", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const p = person(em)
      const c = em.credentials
      const env = ConfigProvider.fromMap(
        new Map([
          ["SALESFORCE_LOGIN_URL", em.url],
          ["SALESFORCE_USERNAME", c.username],
          ["SALESFORCE_PASSWORD", c.password],
          ["SALESFORCE_CLIENT_ID", c.clientId],
          ["SALESFORCE_CLIENT_SECRET", c.clientSecret],
          ["SALESFORCE_API_VERSION", "62.0"]
        ])
      )
      const context = yield* Layer.build(layerConfig().pipe(Layer.provide(Layer.setConfigProvider(env))))
      const target = yield* Effect.provide(ConsentTarget.Tag, Layer.succeedContext(context))
      const [held] = yield* target.read([{ externalId: p.contactId }])
      expect(Option.isSome(held!)).toBe(true)
      const client = yield* Effect.provide(SalesforceClient.Tag, Layer.succeedContext(context))
      expect(client.config.apiVersion).toBe("62.0")
      expect(em.backdoor.requestLog.some((r) => r.path.startsWith("/services/data/v62.0/"))).toBe(true)
      expect(Option.map(yield* client.usage, (u) => u.limit)).toEqual(Option.some(15_000))
    })
  )

  it.effect("a username without a password is a configuration error", () =>
    Effect.gen(function* () {
      const env = ConfigProvider.fromMap(
        new Map([
          ["SALESFORCE_LOGIN_URL", "https://login.salesforce.com"],
          ["SALESFORCE_USERNAME", "u"],
          ["SALESFORCE_CLIENT_ID", "id"],
          ["SALESFORCE_CLIENT_SECRET", "s"]
        ])
      )
      const error = yield* Effect.flip(Effect.withConfigProvider(SalesforceConfig.fromEnv(), env))
      expect(String(error)).toContain("SALESFORCE_PASSWORD")
    })
  )
})
