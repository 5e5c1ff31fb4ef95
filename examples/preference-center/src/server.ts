/**
 * `npm start`: starts the emulators and the center in one process, loads the bundled sample and
 * prints a signed link to one person's center. PORT (default 3000) and, to keep links valid across
 * restarts, PREFERENCE_CENTER_SECRET (at least 32 bytes, hex) come from the environment.
 */
import { Redacted } from "effect"
import { startApp } from "./app.js"

const port = Number(process.env["PORT"] ?? 3000)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("PORT must be a port number")
  process.exit(2)
}
const hex = process.env["PREFERENCE_CENTER_SECRET"]
if (hex !== undefined && !/^(?:[0-9a-fA-F]{2}){32,}$/.test(hex)) {
  console.error("PREFERENCE_CENTER_SECRET must be at least 32 bytes in hex (64 hex digits)")
  process.exit(2)
}

const app = await startApp({
  port,
  ...(hex === undefined ? {} : { secret: Redacted.make<Uint8Array>(Buffer.from(hex, "hex")) })
})

// The person whose records are spread over five systems in the sample (CRM, shop, newsletter,
// support, app): the profile id is an opaque id, not personal data, so it may be printed.
const profileId = await app.profileIdOf({ source: "crm", id: "C-1001" })
console.log(`Preference center on ${app.url}`)
console.log(`Salesforce emulator on ${app.salesforce.url}, HubSpot emulator on ${app.hubspot.url}`)
console.log(`Signed link for profile ${profileId}, valid for 24 hours:`)
console.log(`  ${app.linkFor(profileId)}`)
console.log("Ctrl+C stops it.")

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  app.close().then(
    () => process.exit(0),
    () => process.exit(1)
  )
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
