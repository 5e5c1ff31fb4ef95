import { ProfileStore } from "@living-profile/core"
import { Effect } from "effect"
import { profileStoreSuite } from "../src/ProfileStoreSuite.js"

// The in-memory reference store runs the kit first; every call is a new, empty store.
profileStoreSuite({
  name: "memory",
  makeStore: (config) => Effect.sync(() => ProfileStore.makeMemory(config))
})
