import { consentTargetSuite } from "@living-profile/testkit/ConsentTargetSuite"
import { Effect } from "effect"
import { NewsletterTarget } from "../src/index.js"
import { backdoor, tempFile } from "./backdoor.js"

// A local file has no credentials to get wrong: the credentials group is switched off.
consentTargetSuite({
  name: "newsletter file",
  badCredentials: false,
  makeTarget: () =>
    Effect.map(tempFile, (path) => ({
      target: NewsletterTarget.make({ path, pageSize: 3 }),
      backdoor: backdoor(path),
      reconnect: () => Effect.sync(() => NewsletterTarget.make({ path, pageSize: 3 }))
    }))
})
