import { consentTargetSuite } from "@living-profile/testkit/ConsentTargetSuite"
import { Effect } from "effect"
import { make } from "../src/index.js"
import { emulator, optionsFor, refusedAuth } from "./support/Emulator.js"
import { kitAttributes, kitBackdoor } from "./support/KitBackdoor.js"

// One emulator per harness; the kit's free attribute names are mapped onto Contact fields by option.
consentTargetSuite({
  name: "Salesforce",
  makeTarget: ({ badCredentials }) =>
    Effect.gen(function* () {
      const em = yield* emulator()
      const options = optionsFor(em, { attributes: { Contact: kitAttributes } })
      const { target } = yield* make(badCredentials ? { ...options, auth: refusedAuth(em) } : options)
      const fields = target.mapping.keys.map((k) => k.field)
      return {
        target,
        backdoor: kitBackdoor(em, fields),
        reconnect: () => Effect.map(make(options), (a) => a.target)
      }
    })
})
