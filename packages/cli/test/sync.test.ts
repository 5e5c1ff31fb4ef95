/**
 * `living-profile sync`, run as the built binary against `memory` targets configured in a JSON
 * file: help, the JSON-lines report, dry run, config errors, and continuous mode's shutdown.
 */
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bin, jsonLines, requireBuild, runCli, tempDir } from "./helpers.js"

let dir = ""
let cleanup = () => {}
beforeAll(() => {
  requireBuild()
  const t = tempDir()
  dir = t.dir
  cleanup = t.cleanup
})
afterAll(() => cleanup())

const file = (name: string, content: unknown): string => {
  const path = join(dir, name)
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2))
  return path
}

/** Two memory targets: a newsletter tool where Ada subscribed, and an empty CRM. */
const memoryConfig = {
  targets: [
    {
      name: "newsletter",
      kind: "memory",
      options: {
        seed: [
          {
            identifiers: { email: ["ada@example.org"] },
            attributes: { firstName: "Ada" },
            fields: { newsletter: "granted" }
          }
        ]
      }
    },
    {
      name: "crm",
      kind: "memory",
      options: { maxBatchSize: 10 },
      rateLimit: { requests: 50, per: "1 second" }
    }
  ],
  pollInterval: "200 millis",
  retry: { maxAttempts: 3, base: "10 millis" }
}

type Line = Record<string, unknown> & { readonly type: string }
const lines = (stdout: string): Array<Line> => jsonLines(stdout) as Array<Line>

describe("sync", () => {
  it("--help documents the flags, the config format, the adapter kinds and the output", async () => {
    const r = await runCli(["sync", "--help"])
    expect(r.code).toBe(0)
    for (const text of [
      "--config <sync.json>",
      "--once",
      "--dry-run",
      '"targets"',
      '"kind": "memory"',
      '"rateLimit"',
      '"resolver"',
      '"records"',
      '"pollInterval"',
      '"retry"',
      "memory ",
      "salesforce ",
      "hubspot ",
      "seed",
      "deadLetter",
      "4  invalid --config"
    ])
      expect(r.stdout).toContain(text)
    expect((await runCli(["help", "sync"])).stdout).toBe(r.stdout)
    expect((await runCli(["--help"])).stdout).toContain("living-profile sync --config <sync.json>")
  })

  it("--once --dry-run prints the diffs as JSON lines and pushes nothing", async () => {
    const config = file("dry.json", memoryConfig)
    const r = await runCli(["sync", "--config", config, "--once", "--dry-run"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const out = lines(r.stdout)
    expect(out.map((l) => l.type)).toEqual(["pull", "pull", "diff", "cycle"])
    expect(out[0]).toMatchObject({ type: "pull", source: "newsletter", changes: 1, records: 1, events: 1 })
    expect(out[1]).toMatchObject({ type: "pull", source: "crm", changes: 0 })
    // The newsletter tool's subscription goes to the crm, and not back to the newsletter tool.
    expect(out[2]).toMatchObject({
      type: "diff",
      target: "crm",
      status: "dry-run",
      ref: "identifiers",
      changes: [
        { key: "marketing/email", field: "newsletter", from: null, to: "granted", source: "newsletter" }
      ]
    })
    expect(out[3]).toMatchObject({
      type: "cycle",
      dryRun: true,
      diffs: 1,
      applied: 0,
      pending: 0,
      deadLetters: 0
    })
    // Identifiers and attributes never reach the output.
    expect(r.stdout).not.toContain("ada@example.org")
    expect(r.stdout).not.toContain("Ada")
  })

  it("--once pushes, printing each outcome, and resolves records given in the config first", async () => {
    const records = file(
      "records.ndjson",
      `${JSON.stringify({
        source: "web",
        id: "w1",
        identifiers: { email: ["bob@example.org"] },
        consents: [
          {
            purpose: "marketing",
            channel: "sms",
            status: "denied",
            legalBasis: "consent",
            capturedAt: "2025-01-01T00:00:00Z"
          }
        ]
      })}\n`
    )
    const config = file("once.json", { ...memoryConfig, records, resolver: { threshold: 0.9 } })
    const r = await runCli(["sync", "--config", config, "--once"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const out = lines(r.stdout)
    const diffs = out.filter((l) => l.type === "diff")
    expect(diffs.map((d) => [d["target"], d["status"]]).sort()).toEqual([
      ["crm", "queued"],
      ["crm", "queued"],
      ["newsletter", "queued"]
    ])
    const outcomes = out.filter((l) => l.type === "outcome")
    expect(outcomes.map((o) => [o["target"], o["outcome"]]).sort()).toEqual([
      ["crm", "applied"],
      ["crm", "applied"],
      ["newsletter", "applied"]
    ])
    expect(out.at(-1)).toMatchObject({ type: "cycle", dryRun: false, applied: 3, pending: 0, deadLetters: 0 })
    expect(r.stdout).not.toContain("bob@example.org")
  })

  it("rejects a config with an unknown kind or a bad field, naming the field (exit 4)", async () => {
    const unknown = await runCli([
      "sync",
      "--once",
      "--config",
      file("unknown.json", { targets: [{ name: "x", kind: "mailchimp" }] })
    ])
    expect(unknown.code).toBe(4)
    expect(unknown.stderr).toContain('targets.0.kind: unknown adapter kind "mailchimp"')
    const bad = await runCli([
      "sync",
      "--once",
      "--config",
      file("bad.json", {
        targets: [
          { name: "n", kind: "memory", options: { seed: [{ identifiers: { email: "eve@example.org" } }] } }
        ],
        pollInterval: "soon"
      })
    ])
    expect(bad.code).toBe(4)
    expect(bad.stderr).toContain("pollInterval")
    const badOptions = await runCli([
      "sync",
      "--once",
      "--config",
      file("bad-options.json", {
        targets: [
          { name: "n", kind: "memory", options: { seed: [{ identifiers: { email: "eve@example.org" } }] } }
        ]
      })
    ])
    expect(badOptions.code).toBe(4)
    expect(badOptions.stderr).toContain("targets.0.options.seed.0.identifiers.email")
    expect(badOptions.stderr).not.toContain("eve@example.org")
    const twice = await runCli([
      "sync",
      "--once",
      "--config",
      file("twice.json", {
        targets: [
          { name: "n", kind: "memory" },
          { name: "n", kind: "memory" }
        ]
      })
    ])
    expect(twice.code).toBe(4)
    expect(twice.stderr).toContain("targets.1.name")
  })

  it("usage errors: --config is required (exit 2); a missing config file is an I/O error (exit 3)", async () => {
    const r = await runCli(["sync", "--once"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--config <sync.json> is required")
    expect((await runCli(["sync", "--once", "--config", join(dir, "nope.json")])).code).toBe(3)
    expect((await runCli(["sync", "--config", "x.json", "--bogus"])).code).toBe(2)
  })

  it("continuous mode runs a cycle per poll interval and exits 0 on SIGINT", async () => {
    const config = file("continuous.json", memoryConfig)
    const child = spawn(process.execPath, [bin, "sync", "--config", config], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d
    })
    const cycles = () => lines(stdout).filter((l) => l.type === "cycle").length
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no second cycle; stderr: ${stderr}`)), 20_000)
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d
        if (cycles() >= 2) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    child.kill("SIGINT")
    expect(await exited).toBe(0)
    const out = lines(stdout)
    // The first cycle does the work; the next ones find nothing to do.
    expect(out.filter((l) => l.type === "outcome").map((o) => [o["target"], o["outcome"]])).toEqual([
      ["crm", "applied"]
    ])
    expect(out.filter((l) => l.type === "cycle").slice(1)).toEqual(
      expect.arrayContaining([expect.objectContaining({ diffs: 0, applied: 0, pending: 0 })])
    )
    expect(stderr).toBe("")
  })
})
