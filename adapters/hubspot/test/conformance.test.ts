import { consentTargetSuite } from "@living-profile/testkit/ConsentTargetSuite"
import { kitHarness } from "./support/harness.js"

consentTargetSuite({ name: "HubSpot", makeTarget: kitHarness })
