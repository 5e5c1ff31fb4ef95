/**
 * Runs the quickstart in-process, as `npm start` does, and checks what it claims: the sample's
 * partition, the two explanations, and that the withdrawal reached both emulators (read through
 * their backdoors, not through the adapters or the SDKs the report itself used).
 */
import type { HubSpotEmulator, SalesforceEmulator } from "@living-profile/emulators"
import { beforeAll, describe, expect, it } from "vitest"
import { AYSE, MEHMET, run, type Summary, ZEYNEP } from "../src/main.js"
import { loadSample } from "../src/sample.js"

// packages/cli/test/samplePartition.ts: 36 records, 15 people (the acceptance truth of the sample).
const SAMPLE_RECORDS = 36
const SAMPLE_PEOPLE = 15
const AYSE_RECORDS = ["crm/C-1001", "shop/S-2001", "newsletter/N-3001", "support/T-4001", "app/A-5001"]
// The household: Mehmet's, Zeynep's, and the family newsletter record that is neither's for sure.
const DEMIR_RECORDS = new Set(["crm/C-1007", "shop/S-2007", "crm/C-1008", "app/A-5008", "newsletter/N-3007"])

interface Seen {
  readonly salesforce: {
    readonly contacts: ReadonlyArray<SalesforceEmulator.BackdoorRecord>
    readonly consents: ReadonlyArray<SalesforceEmulator.BackdoorRecord>
  }
  readonly hubspot: ReadonlyArray<HubSpotEmulator.SubscriptionSnapshot>
  readonly email: string
}

let lines: Array<string> = []
let summary: Summary
let seen: Seen | undefined

/** The lines of the section whose heading starts with `== <number>.`, heading excluded. */
const section = (number: string): Array<string> => {
  const start = lines.findIndex((l) => l.startsWith(`== ${number}. `))
  if (start < 0) throw new Error(`no section ${number} in the report`)
  const end = lines.findIndex((l, i) => i > start && l.startsWith("== "))
  return lines.slice(start + 1, end < 0 ? lines.length : end)
}

beforeAll(async () => {
  lines = []
  summary = await run((line) => lines.push(line), {
    inspect: ({ salesforce, hubspot }, person) => {
      seen = {
        salesforce: {
          contacts: salesforce.backdoor.query("Contact"),
          consents: salesforce.backdoor.query("ContactPointTypeConsent")
        },
        hubspot: hubspot.backdoor.subscriptions(person.email),
        email: person.email
      }
    }
  })
})

describe("quickstart", () => {
  it("resolves the bundled sample into its 15 people", () => {
    expect(summary.records).toBe(SAMPLE_RECORDS)
    expect(summary.profiles).toBe(SAMPLE_PEOPLE)
    expect(lines).toContain(
      `== 1. Living profiles: ${SAMPLE_RECORDS} records from 5 sources (app, crm, newsletter, shop, support) -> ${SAMPLE_PEOPLE} profiles ==`
    )
    // Every profile is printed with its records, attributes with provenance, and consent.
    expect(section("1").filter((l) => /^p\S+ {2}\d+ record\(s\): /.test(l))).toHaveLength(SAMPLE_PEOPLE)
    expect(section("1")).toContain(
      "    firstName  Ayşe                       <- app/A-5001 @ 2025-05-20 (mostRecent, 5 of 5)"
    )
  })

  it("explains Ayşe's merge: her five records, the edges between them, rule and evidence", () => {
    expect(summary.merged.records.map((r) => `${r.source}/${r.id}`).sort()).toEqual([...AYSE_RECORDS].sort())
    expect(summary.merged.edges.length).toBeGreaterThanOrEqual(AYSE_RECORDS.length - 1)
    const text = section("2").join("\n")
    expect(text).toContain(`profile ${summary.merged.profileId}: 5 records held together by`)
    expect(text).toMatch(/crm\/C-1001 -- app\/A-5001: fuzzy rule: score 21 >= threshold 17/)
    expect(text).toMatch(/identifier rule: shared phone/)
    expect(text).toContain("birthDate exact +9")
    expect(summary.merged.profileId).toBe(
      lines.find((l) => l.startsWith("p") && l.includes(`${AYSE.source}/${AYSE.id}`))?.split(" ")[0]
    )
  })

  it("explains why the Demir household stays two people: vetoed", () => {
    expect(summary.household.a).toEqual(MEHMET)
    expect(summary.household.b).toEqual(ZEYNEP)
    expect(summary.household.vetoed).toBe(true)
    expect(summary.household.sameProfile).toBe(false)
    expect(summary.household.outcome).toBe("separate")
    const text = section("2b").join("\n")
    expect(text).toContain("crm/C-1007 and crm/C-1008: separate")
    expect(text).toContain("vetoed: true")
    expect(text).toContain("reason: vetoed: strong conflicting evidence")
    // The family e-mail is named by its type, and as the reason it links nobody.
    expect(text).toContain("shared identifier types: email; ambiguous: email")
  })

  it("the Demir explanation shows no personal data: nobody else's, and no identifier values at all", () => {
    const text = section("2b").join("\n")
    expect(text.length).toBeGreaterThan(0)
    const forbidden = new Set<string>()
    for (const r of loadSample()) {
      const household = DEMIR_RECORDS.has(`${r.source}/${r.id}`)
      for (const values of Object.values(r.identifiers ?? {})) for (const v of values) forbidden.add(v)
      if (household) continue
      for (const v of Object.values(r.attributes ?? {}))
        if (typeof v === "string" || typeof v === "number") forbidden.add(String(v))
    }
    const leaked = [...forbidden].filter((value) => {
      const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      // Whole values only: "Can" (a name) must not match inside "candidate".
      return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, "iu").test(text)
    })
    expect(leaked).toEqual([])
  })

  it("records the withdrawal on the profile and diffs it for both targets", () => {
    expect(section("3").join("\n")).toContain(
      "now marketing/email: withdrawn (preference-center)   (was granted, crm)"
    )
    const withdrawal = (c: { readonly because: { readonly eventId: string } }) =>
      c.because.eventId === summary.withdrawalEventId
    expect(summary.diffs.salesforce.changes).toEqual([
      expect.objectContaining({
        key: "marketing/email",
        field: "ContactPointTypeConsent:Marketing:Email",
        from: "granted",
        to: "denied"
      })
    ])
    expect(summary.diffs.salesforce.changes.every(withdrawal)).toBe(true)
    expect(summary.diffs.hubspot.changes).toEqual([
      expect.objectContaining({ key: "marketing/email", field: "1001", from: "granted", to: "denied" }),
      expect.objectContaining({ key: "newsletter/email", field: "1004", from: null, to: "granted" })
    ])
    expect(withdrawal(summary.diffs.hubspot.changes[0]!)).toBe(true)
    expect(section("4").join("\n")).toContain(
      "marketing/email -> 1001 (Marketing Information): granted => denied"
    )
  })

  it("the withdrawal is in the Salesforce emulator: consent record OptOut, HasOptedOutOfEmail set", () => {
    expect(seen).toBeDefined()
    const contact = seen!.salesforce.contacts.find((c) => String(c["Email"]).toLowerCase() === seen!.email)
    expect(contact?.["HasOptedOutOfEmail"]).toBe(true)
    const records = seen!.salesforce.consents.filter(
      (r) => r["PartyId"] === contact?.["IndividualId"] && r["ContactPointType"] === "Email"
    )
    // The adapter updates the person's existing consent record rather than adding a second one.
    expect(records).toHaveLength(1)
    expect(records[0]?.["PrivacyConsentStatus"]).toBe("OptOut")
    expect(records[0]?.["CaptureSource"]).toBe("preference-center")
  })

  it("the withdrawal is in the HubSpot emulator: Marketing Information unsubscribed, newsletter subscribed", () => {
    const status = (id: string) => seen?.hubspot.find((s) => s.subscriptionId === id)
    expect(status("1001")?.status).toBe("UNSUBSCRIBED")
    expect(status("1001")?.legalBasis).toBe("CONSENT_WITH_NOTICE")
    expect(status("1004")?.status).toBe("SUBSCRIBED")
  })

  it("reads both systems back through the real SDKs and says every change arrived", () => {
    expect(summary.arrived).toEqual({ salesforce: true, hubspot: true })
    const text = section("5").join("\n")
    expect(text).toContain("salesforce: push of 1 change(s) -> Applied")
    expect(text).toContain("hubspot: push of 2 change(s) -> Applied")
    expect(text).toMatch(/Contact \w+: HasOptedOutOfEmail = true/)
    expect(text).toMatch(/ContactPointTypeConsent "Marketing Email" \(Marketing, Email\): OptOut/)
    expect(text).toMatch(/1001 Marketing Information: UNSUBSCRIBED \(PUBLIC_API/)
    expect(lines.slice(-2)).toEqual(["Salesforce: every change arrived", "HubSpot: every change arrived"])
  })
})
