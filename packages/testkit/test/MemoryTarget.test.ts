import { MemoryTarget } from "@living-profile/core"
import { Effect } from "effect"
import { consentTargetSuite } from "../src/ConsentTargetSuite.js"

// Two builds of the reference target: from a batch primitive, and from a one-item primitive with
// free-form fields and small pull pages, so both of make's paths and multi-page pulls are covered.
consentTargetSuite({
  name: "MemoryTarget",
  makeTarget: (o) => Effect.sync(() => MemoryTarget.make({ ...o, pageSize: 3 }))
})
consentTargetSuite({
  name: "MemoryTarget (pushOne, any field)",
  makeTarget: (o) =>
    Effect.sync(() => MemoryTarget.make({ ...o, push: "one", fields: "any", maxBatchSize: 2 }))
})
