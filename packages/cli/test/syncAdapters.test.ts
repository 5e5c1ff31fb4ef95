/**
 * `living-profile sync` with the `salesforce` and `hubspot` kinds, run as the built binary against
 * both emulators started in this process. The secrets reach the child through its environment
 * only; what the systems hold is read back through the emulators' backdoors, never through the
 * adapters.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { HubSpotEmulator, SalesforceEmulator } from "@living-profile/emulators"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { jsonLines, requireBuild, runCli, tempDir } from "./helpers.js"

beforeAll(requireBuild)

/** "Marketing Information" in the HubSpot emulator, mapped to marketing/email. */
const SUBSCRIPTION = 1001
/** The HubSpot token reaches the command under a variable the config names. */
const TOKEN_VARIABLE = "LP_TEST_HUBSPOT_TOKEN"
/** The people were set up an hour ago (HubSpot's pull leaves the last seconds for the next one). */
const HOUR_AGO = Date.now() - 3_600_000
const hourAgoIso = new Date(HOUR_AGO).toISOString()

const ada = "ada@example.org"
const ben = "ben@example.org"
const cleo = "cleo@example.org"

type Line = Record<string, unknown> & { readonly type: string }
const lines = (stdout: string): Array<Line> => jsonLines(stdout) as Array<Line>

/**
 * Both systems as their users left them. Salesforce: Ada has opted in to marketing e-mail (a
 * consent record), Ben is a Contact with no choice recorded. HubSpot: Ada and Ben are contacts,
 * Ben unsubscribed from marketing e-mail, and Cleo, whom Salesforce does not know, subscribed.
 */
const setup = async () => {
  const sf = await SalesforceEmulator.start()
  const hs = await HubSpotEmulator.start()
  const { dir, cleanup } = tempDir()
  const at = { at: HOUR_AGO }
  const purpose = sf.backdoor.insert("DataUsePurpose", { Name: "Marketing", CanDataSubjectOptOut: true }, at)
  const adaIndividual = sf.backdoor.insert("Individual", { FirstName: "Ada", LastName: "Lovelace" }, at)
  const adaContact = sf.backdoor.insert(
    "Contact",
    { FirstName: "Ada", LastName: "Lovelace", Email: ada, IndividualId: adaIndividual["Id"] },
    at
  )
  sf.backdoor.insert(
    "ContactPointTypeConsent",
    {
      Name: "Marketing Email",
      PartyId: adaIndividual["Id"],
      DataUsePurposeId: purpose["Id"],
      ContactPointType: "Email",
      PrivacyConsentStatus: "OptIn",
      CaptureDate: hourAgoIso,
      EffectiveFrom: hourAgoIso,
      CaptureSource: "web form"
    },
    at
  )
  const benContact = sf.backdoor.insert("Contact", { FirstName: "Ben", LastName: "Okafor", Email: ben }, at)
  // HubSpot stamps a contact changed by a status at its own clock's now: set it back meanwhile.
  hs.clock.advance(-3_600_000)
  hs.backdoor.upsertContact({ email: ada, firstname: "Ada", lastname: "Lovelace" })
  hs.backdoor.upsertContact({ email: ben, firstname: "Ben", lastname: "Okafor" })
  hs.backdoor.upsertContact({ email: cleo, firstname: "Cleo", lastname: "Dahl" })
  hs.backdoor.setSubscription(ben, SUBSCRIPTION, "UNSUBSCRIBED", { source: "hubspot-user" })
  hs.backdoor.setSubscription(cleo, SUBSCRIPTION, "SUBSCRIBED", {
    legalBasis: "CONSENT_WITH_NOTICE",
    source: "hubspot-user"
  })
  hs.clock.advance(3_600_000)

  // The shop knows all three: their records are resolved into profiles before the first cycle.
  writeFileSync(
    join(dir, "shop.ndjson"),
    [
      { id: "s1", identifiers: { email: [ada] }, attributes: { firstName: "Ada", lastName: "Lovelace" } },
      { id: "s2", identifiers: { email: [ben] }, attributes: { firstName: "Ben", lastName: "Okafor" } },
      { id: "s3", identifiers: { email: [cleo] }, attributes: { firstName: "Cleo", lastName: "Dahl" } }
    ]
      .map((r) => `${JSON.stringify({ source: "shop", ...r })}\n`)
      .join("")
  )
  const config = (targets: ReadonlyArray<object> = defaultTargets): string => {
    const path = join(dir, "sync.json")
    writeFileSync(
      path,
      JSON.stringify(
        { targets, records: "shop.ndjson", retry: { maxAttempts: 3, base: "10 millis" } },
        null,
        2
      )
    )
    return path
  }
  const defaultTargets = [
    { name: "salesforce", kind: "salesforce", options: { loginUrl: sf.url, flow: "password" } },
    {
      name: "hubspot",
      kind: "hubspot",
      options: {
        basePath: hs.url,
        env: { HUBSPOT_ACCESS_TOKEN: TOKEN_VARIABLE },
        subscriptions: [{ purpose: "marketing", subscriptionId: SUBSCRIPTION, name: "Marketing Information" }]
      }
    }
  ]
  const c = sf.credentials
  // The child's environment: no credentials or proxies of the machine running the tests, ours only.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(SALESFORCE_|HUBSPOT_|LP_TEST_)/.test(k) && !/^(http|https|no)_proxy$/i.test(k)
    )
  )
  const env: Record<string, string | undefined> = {
    ...base,
    SALESFORCE_CLIENT_ID: c.clientId,
    SALESFORCE_CLIENT_SECRET: c.clientSecret,
    SALESFORCE_USERNAME: c.username,
    SALESFORCE_PASSWORD: c.password,
    [TOKEN_VARIABLE]: hs.token
  }
  const secrets = [c.clientSecret, c.password, hs.token]
  /** Everything both systems hold, for comparison. */
  const state = () => ({
    salesforce: ["Contact", "Lead", "Individual", "ContactPointTypeConsent", "DataUsePurpose"].map((o) =>
      sf.backdoor.query(o, undefined, { includeDeleted: true })
    ),
    hubspot: {
      contacts: hs.backdoor.contacts(),
      subscriptions: [ada, ben, cleo].map((e) => hs.backdoor.subscriptions(e))
    }
  })
  const close = async () => {
    cleanup()
    await sf.close()
    await hs.close()
  }
  return {
    sf,
    hs,
    config,
    defaultTargets,
    env,
    secrets,
    state,
    close,
    adaContactId: String(adaContact["Id"]),
    benContactId: String(benContact["Id"])
  }
}

type Setup = Awaited<ReturnType<typeof setup>>
let current: Setup | undefined
const fresh = async (): Promise<Setup> => {
  current = await setup()
  return current
}
afterEach(async () => {
  await current?.close()
  current = undefined
})

/** The marketing e-mail status HubSpot holds for an address. */
const hubspotStatus = (s: Setup, email: string) =>
  s.hs.backdoor.subscriptions(email).find((x) => x.subscriptionId === String(SUBSCRIPTION))?.status

/** The marketing e-mail consent records of a Contact's Individual. */
const salesforceConsent = (s: Setup, contactId: string) => {
  const individual = s.sf.backdoor.get("Contact", contactId)?.["IndividualId"]
  return individual === undefined || individual === null
    ? []
    : s.sf.backdoor.query(
        "ContactPointTypeConsent",
        (r) => r["PartyId"] === individual && r["ContactPointType"] === "Email"
      )
}

describe("sync with the salesforce and hubspot kinds", () => {
  it("--once carries a choice made in either system to the other, and a second run finds them in step", async () => {
    const s = await fresh()
    expect(hubspotStatus(s, ada)).toBe("NOT_SPECIFIED")
    const r = await runCli(["sync", "--config", s.config(), "--once"], undefined, [], s.env)
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const out = lines(r.stdout)
    const pulls = out.filter((l) => l.type === "pull")
    expect(pulls.map((p) => [p["source"], p["error"]])).toEqual([
      ["salesforce", undefined],
      ["hubspot", undefined]
    ])
    const outcomes = out.filter((l) => l.type === "outcome")
    expect(outcomes.map((o) => [o["target"], o["outcome"]]).sort()).toEqual([
      ["hubspot", "applied"],
      ["salesforce", "applied"],
      ["salesforce", "applied"]
    ])
    expect(out.at(-1)).toMatchObject({ type: "cycle", dryRun: false, applied: 3, pending: 0, deadLetters: 0 })

    // Salesforce -> HubSpot: Ada's opt-in.
    expect(hubspotStatus(s, ada)).toBe("SUBSCRIBED")
    // HubSpot -> Salesforce: Ben's unsubscribe, as a consent record on an Individual and the checkbox.
    expect(salesforceConsent(s, s.benContactId).map((c) => c["PrivacyConsentStatus"])).toEqual(["OptOut"])
    expect(s.sf.backdoor.get("Contact", s.benContactId)?.["HasOptedOutOfEmail"]).toBe(true)
    // HubSpot -> Salesforce: Cleo, unknown there, becomes a Contact who opted in.
    const cleos = s.sf.backdoor.query("Contact", (c) => c["Email"] === cleo)
    expect(cleos).toHaveLength(1)
    expect(salesforceConsent(s, String(cleos[0]!["Id"])).map((c) => c["PrivacyConsentStatus"])).toEqual([
      "OptIn"
    ])
    // Nothing went back to where it came from.
    expect(salesforceConsent(s, s.adaContactId).map((c) => c["PrivacyConsentStatus"])).toEqual(["OptIn"])
    expect(hubspotStatus(s, ben)).toBe("UNSUBSCRIBED")
    expect(hubspotStatus(s, cleo)).toBe("SUBSCRIBED")

    // Neither personal data nor secrets reach the output.
    for (const text of [ada, ben, cleo, "Lovelace", ...s.secrets]) expect(r.stdout).not.toContain(text)

    // A new run (the command keeps its state in memory) pulls both again and has nothing to push:
    // no echo comes back as a change. The HubSpot pull must see the statuses written just now, which
    // its default settle window (10 s, for HubSpot's search index) would leave for a later pull.
    const before = s.state()
    const settled = s.defaultTargets.map((t) =>
      t.kind === "hubspot" ? { ...t, options: { ...t.options, pullSettle: "0 millis" } } : t
    )
    const again = await runCli(["sync", "--config", s.config(settled), "--once"], undefined, [], s.env)
    expect(again.stderr).toBe("")
    expect(again.code).toBe(0)
    expect(lines(again.stdout).filter((l) => l.type === "diff")).toEqual([])
    expect(lines(again.stdout).at(-1)).toMatchObject({ type: "cycle", applied: 0, deadLetters: 0 })
    expect(s.state()).toEqual(before)
  })

  it("--once --dry-run prints the diffs for both systems and changes nothing in either", async () => {
    const s = await fresh()
    const before = s.state()
    const r = await runCli(["sync", "--config", s.config(), "--once", "--dry-run"], undefined, [], s.env)
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const out = lines(r.stdout)
    const diffs = out.filter((l) => l.type === "diff")
    expect(diffs.every((d) => d["status"] === "dry-run")).toBe(true)
    expect(diffs.map((d) => d["target"]).sort()).toEqual(["hubspot", "salesforce", "salesforce"])
    expect(out.filter((l) => l.type === "outcome")).toEqual([])
    expect(out.at(-1)).toMatchObject({ type: "cycle", dryRun: true, diffs: 3, applied: 0 })
    expect(s.state()).toEqual(before)
    expect(hubspotStatus(s, ada)).toBe("NOT_SPECIFIED")
  })

  it("a missing secret is a usage error (exit 2) naming the variable, before any request", async () => {
    const s = await fresh()
    const config = s.config()
    const run = (env: Record<string, string | undefined>) =>
      runCli(["sync", "--config", config, "--once"], undefined, [], env)

    const { SALESFORCE_CLIENT_SECRET: _secret, ...noSecret } = s.env
    const sf = await run(noSecret)
    expect(sf.code).toBe(2)
    expect(sf.stderr).toContain(
      'sync target "salesforce" (targets.0) needs the environment variable SALESFORCE_CLIENT_SECRET'
    )

    // The password flow the entry asks for needs both of its variables.
    const { SALESFORCE_USERNAME: _user, SALESFORCE_PASSWORD: _password, ...noUser } = s.env
    const flow = await run(noUser)
    expect(flow.code).toBe(2)
    expect(flow.stderr).toContain("needs the environment variables SALESFORCE_USERNAME, SALESFORCE_PASSWORD")

    // HubSpot's token is read from the variable the entry names, and that is the one reported.
    const { [TOKEN_VARIABLE]: _token, ...noToken } = s.env
    const hs = await run({ ...noToken, HUBSPOT_ACCESS_TOKEN: s.hs.token })
    expect(hs.code).toBe(2)
    expect(hs.stderr).toContain(
      `sync target "hubspot" (targets.1) needs the environment variable ${TOKEN_VARIABLE}`
    )

    // An empty variable is a missing one.
    const empty = await run({ ...s.env, SALESFORCE_CLIENT_SECRET: "" })
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain("SALESFORCE_CLIENT_SECRET")

    for (const r of [sf, flow, hs, empty]) {
      expect(r.stdout).toBe("")
      for (const secret of s.secrets) expect(r.stderr).not.toContain(secret)
    }
    expect(s.sf.backdoor.requestLog).toEqual([])
    expect(s.hs.backdoor.requestLog).toEqual([])
  })

  it("refuses credentials in the config file and bad options, naming the field, never the value (exit 4)", async () => {
    const s = await fresh()
    const run = (targets: ReadonlyArray<object>) =>
      runCli(["sync", "--config", s.config(targets), "--once"], undefined, [], s.env)

    const sfSecret = await run([
      { name: "sf", kind: "salesforce", options: { loginUrl: s.sf.url, clientSecret: "in-the-file-1" } }
    ])
    expect(sfSecret.code).toBe(4)
    expect(sfSecret.stderr).toContain(
      "targets.0.options.clientSecret: credentials are read from the environment, not from the config file: set SALESFORCE_CLIENT_SECRET"
    )
    const hsSecret = await run([
      {
        name: "hs",
        kind: "hubspot",
        options: {
          accessToken: "in-the-file-2",
          subscriptions: [{ purpose: "marketing", subscriptionId: 1 }]
        }
      }
    ])
    expect(hsSecret.code).toBe(4)
    expect(hsSecret.stderr).toContain(
      "targets.0.options.accessToken: credentials are read from the environment"
    )

    // Options are checked by the schema, then by the adapter's own validation.
    const unknown = await run([
      { name: "sf", kind: "salesforce", options: { loginUrl: s.sf.url, pagesize: 500 } }
    ])
    expect(unknown.code).toBe(4)
    expect(unknown.stderr).toContain("targets.0.options.pagesize")
    const range = await run([
      { name: "sf", kind: "salesforce", options: { loginUrl: s.sf.url, pageSize: 50 } }
    ])
    expect(range.code).toBe(4)
    expect(range.stderr).toContain("targets.0.options: option pageSize must be an integer from 200 to 2,000")
    const noSubscriptions = await run([{ name: "hs", kind: "hubspot", options: { basePath: s.hs.url } }])
    expect(noSubscriptions.code).toBe(4)
    expect(noSubscriptions.stderr).toContain("targets.0.options.subscriptions")
    const badId = await run([
      {
        name: "hs",
        kind: "hubspot",
        options: {
          env: { HUBSPOT_ACCESS_TOKEN: TOKEN_VARIABLE },
          subscriptions: [{ purpose: "marketing", subscriptionId: "x1" }]
        }
      }
    ])
    expect(badId.code).toBe(4)
    expect(badId.stderr).toContain("targets.0.options: subscriptionId")

    for (const r of [sfSecret, hsSecret]) expect(r.stderr).not.toMatch(/in-the-file/)
    expect(s.sf.backdoor.requestLog).toEqual([])
    expect(s.hs.backdoor.requestLog).toEqual([])
  })
})
