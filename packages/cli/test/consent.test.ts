import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { requireBuild, runCli, samples, tempDir } from "./helpers.js"

beforeAll(requireBuild)

interface ProfileLine {
  readonly records: ReadonlyArray<{ readonly source: string; readonly id: string }>
  readonly consent: Record<
    string,
    { readonly status: string; readonly capturedAt: string; readonly source: string }
  >
}

describe("resolve: consent in --profiles", () => {
  it("gives each profile its effective consent per purpose/channel, newest event across sources winning", async () => {
    const run = await runCli(["resolve", join(samples, "customers.ndjson")])
    expect(run.code).toBe(0)
    const profiles = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ProfileLine)
    const has = (p: ProfileLine, source: string, id: string) =>
      p.records.some((r) => r.source === source && r.id === id)
    const demir = profiles.find((p) => has(p, "crm", "C-1004"))!
    expect(demir.consent).toEqual({
      "marketing/email": { status: "denied", capturedAt: "2025-02-01T09:00:00Z", source: "crm" },
      "newsletter/email": { status: "granted", capturedAt: "2024-09-09T09:09:00Z", source: "newsletter" }
    })
    const ayse = profiles.find((p) => has(p, "crm", "C-1001"))!
    expect(Object.keys(ayse.consent).sort()).toEqual([
      "marketing/email",
      "marketing/push",
      "newsletter/email"
    ])
    // A profile without events has an empty consent object, not a missing one.
    expect(profiles.some((p) => Object.keys(p.consent).length === 0)).toBe(true)
  })

  it("rejects a record with a bad consent event, naming file, line, record and field but not the value", async () => {
    const { dir, cleanup } = tempDir()
    try {
      const file = join(dir, "in.ndjson")
      const good = { source: "crm", id: "1", attributes: { firstName: "Ada" } }
      const bad = {
        source: "crm",
        id: "2",
        consents: [
          {
            purpose: "marketing",
            channel: "fax-machine",
            status: "granted",
            capturedAt: "2025-01-01T00:00:00Z",
            legalBasis: "consent"
          }
        ]
      }
      writeFileSync(file, `${JSON.stringify(good)}\n${JSON.stringify(bad)}\n`)
      const stop = await runCli(["resolve", file, "--assignments", join(dir, "a.csv")])
      expect(stop.code).toBe(1)
      expect(stop.stderr).toContain('line 2, record crm/2: field "consents.0.channel"')
      expect(stop.stderr).not.toContain("fax-machine")
      const goOn = await runCli([
        "resolve",
        file,
        "--assignments",
        join(dir, "a.csv"),
        "--rejects",
        join(dir, "r.ndjson")
      ])
      expect(goOn.code).toBe(0)
    } finally {
      cleanup()
    }
  })
})
