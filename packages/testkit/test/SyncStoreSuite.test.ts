import { SyncStore } from "@living-profile/core"
import { Effect } from "effect"
import { syncStoreSuite } from "../src/SyncStoreSuite.js"

// The reference store runs the suite first: an expectation it fails is the suite's mistake.
syncStoreSuite({ name: "SyncStore.makeMemory", makeStore: () => Effect.sync(SyncStore.makeMemory) })
