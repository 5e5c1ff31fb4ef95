import { describe, expect, it } from "@effect/vitest"
import { ConsentTarget } from "@living-profile/core"
import { ConfigProvider, Effect, Either, Layer, Option } from "effect"
import { HubSpotConfig, layer, layerConfig } from "../src/index.js"
import { emulator, optionsFor, SUBSCRIPTIONS } from "./support/harness.js"

const drainRecords = (source: ConsentTarget.RecordSource) =>
  Effect.gen(function* () {
    const out: Array<ConsentTarget.RecordPage["records"][number]> = []
    let cursor = Option.none<string>()
    for (;;) {
      const page = yield* source.pull(cursor)
      out.push(...page.records)
      cursor = Option.some(page.cursor)
      if (!page.hasMore) return { records: out, cursor: page.cursor }
    }
  })

describe("record source and layers", () => {
  it.scopedLive("the layer provides core's RecordSource: contacts as identity records, intact", () =>
    Effect.gen(function* () {
      // hs_additional_emails is a HubSpot default property the emulator does not list by itself.
      const em = yield* emulator({ customProperties: ["note", "hs_additional_emails"] })
      const note = "ağ🎉".repeat(2_500)
      const c = em.backdoor.upsertContact({
        email: "ayşe.yılmaz.🎉@örnek.example",
        hs_additional_emails: "ayse@work.example;ayse@home.example",
        mobilephone: "+90 532 000 00 00",
        firstname: "Ayşe İpek",
        lastname: "Yılmaz-Öztürk 👩🏽‍💻",
        city: "İstanbul",
        zip: "34000",
        note
      })
      const source = yield* ConsentTarget.RecordSourceTag.pipe(
        Effect.provide(layer(optionsFor(em, { attributes: { note: "note" } })))
      )
      expect(source.name).toBe("hubspot")
      const { records } = yield* drainRecords(source)
      expect(records).toEqual([
        {
          source: "hubspot",
          id: c.id,
          updatedAt: c.updatedAt,
          identifiers: {
            email: ["ayşe.yılmaz.🎉@örnek.example", "ayse@work.example", "ayse@home.example"],
            phone: ["+90 532 000 00 00"]
          },
          attributes: {
            firstName: "Ayşe İpek",
            lastName: "Yılmaz-Öztürk 👩🏽‍💻",
            city: "İstanbul",
            postalCode: "34000",
            note
          }
        }
      ])
    })
  )

  it.scopedLive("layerConfig reads the token and base path from the environment only", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      em.backdoor.upsertContact({ email: "env@example.com" })
      const fromEnv = layerConfig(HubSpotConfig.fromEnv({ subscriptions: SUBSCRIPTIONS, pullSettle: 0 }))
      const env = ConfigProvider.fromMap(
        new Map([
          ["HUBSPOT_ACCESS_TOKEN", em.token],
          ["HUBSPOT_BASE_PATH", em.url]
        ])
      )
      const target = yield* ConsentTarget.Tag.pipe(Effect.provide(fromEnv), Effect.withConfigProvider(env))
      const { records } = yield* ConsentTarget.pullAll(target, Option.none())
      expect(records.map((r) => r.identifiers?.["email"])).toEqual([["env@example.com"]])
      // Without a token the layer does not build: a ConfigError, before any request.
      const missing = yield* Effect.either(
        Layer.build(fromEnv).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HUBSPOT_BASE_PATH", em.url]])))
        )
      )
      expect(Either.isLeft(missing) && missing.left._tag).not.toBe("HubSpotConfigError")
      expect(Either.isLeft(missing)).toBe(true)
    })
  )
})
