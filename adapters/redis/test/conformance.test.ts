import { consentTargetSuite } from "@living-profile/testkit/ConsentTargetSuite"
import { kitHarness, whenRedis } from "./support/redis.js"

whenRedis(() => consentTargetSuite({ name: "Redis", makeTarget: kitHarness }))
