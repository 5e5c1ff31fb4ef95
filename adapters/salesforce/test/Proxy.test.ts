import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"

// Before anything loads jsforce: a proxy nobody listens on, as a developer machine may have set.
vi.hoisted(() => {
  process.env["HTTPS_PROXY"] = "http://127.0.0.1:9"
})

import { Connection } from "@jsforce/jsforce-node"
import { Effect, Option } from "effect"
import { make } from "../src/index.js"
import { emulator, optionsFor, person } from "./support/Emulator.js"

describe("HTTP(S)_PROXY", () => {
  it.scopedLive("jsforce alone sends loopback calls to the proxy; the adapter goes direct", () =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const c = em.credentials
      // The control: plain jsforce, loaded with the variable set, cannot reach the emulator.
      const plain = new Connection({
        loginUrl: em.url,
        version: "60.0",
        oauth2: { loginUrl: em.url, clientId: c.clientId, clientSecret: c.clientSecret }
      })
      const refused = yield* Effect.promise(() =>
        plain.login(c.username, c.password).then(
          () => undefined,
          (e: unknown) => e
        )
      )
      expect(refused).toMatchObject({ code: "ECONNREFUSED" })
      const p = person(em)
      const { target } = yield* make(optionsFor(em))
      const [held] = yield* target.read([{ externalId: p.contactId }])
      expect(Option.isSome(held!)).toBe(true)
    })
  )
})
