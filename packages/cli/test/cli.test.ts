/**
 * The built binary, run as a child process: inputs, outputs, errors and exit codes.
 * Build first (`npx tsup` in packages/cli; `npm test` at the root builds before testing).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  jsonLines,
  key,
  partitionOf,
  readCsv,
  requireBuild,
  runCli,
  samples,
  tempDir,
  normalisePartition
} from "./helpers.js"
import { csvPeople, ndjsonPeople } from "./samplePartition.js"

let dir = ""
let cleanup = () => {}
beforeAll(() => {
  requireBuild()
  const t = tempDir()
  dir = t.dir
  cleanup = t.cleanup
})
afterAll(() => cleanup())

const file = (name: string, content: string): string => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}
const ndjson = (records: ReadonlyArray<unknown>): string =>
  records.map((r) => `${JSON.stringify(r)}\n`).join("")
const sampleNdjson = join(samples, "customers.ndjson")

describe("help and version", () => {
  it("--help lists the command and every exit code", async () => {
    const r = await runCli(["--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("living-profile resolve <file.ndjson|file.csv>")
    for (const code of [
      "0  success",
      "1  a record",
      "2  usage error",
      "3  I/O error",
      "4  invalid --config"
    ]) {
      expect(r.stdout).toContain(code)
    }
  })

  it("resolve --help documents every flag", async () => {
    const r = await runCli(["resolve", "--help"])
    expect(r.code).toBe(0)
    for (const flag of [
      "--config",
      "--mapping",
      "--assignments",
      "--profiles",
      "--rejects",
      "--quiet",
      "--json-summary",
      "--batch-size"
    ]) {
      expect(r.stdout).toContain(flag)
    }
    expect(r.stdout).toContain("Exit codes")
  })

  it("--version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(join(samples, "..", "package.json"), "utf8")) as { version: string }
    const r = await runCli(["--version"])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(pkg.version)
  })
})

describe("resolve: outputs", () => {
  it("the quick start prints the sample's living profiles on stdout and a summary on stderr", async () => {
    const r = await runCli(["resolve", sampleNdjson])
    expect(r.code).toBe(0)
    const profiles = jsonLines(r.stdout)
    expect(profiles).toHaveLength(Object.keys(ndjsonPeople).length)
    for (const p of profiles)
      expect(Object.keys(p)).toEqual(["profileId", "records", "attributes", "identifiers", "consent"])
    expect(r.stderr).toContain("36 records read")
    // stderr is a pipe here, not a terminal: no progress line, no escape codes.
    expect(r.stderr).not.toContain("\x1b")
  })

  it("writes assignments and profiles files that read back consistently", async () => {
    const assignments = join(dir, "out", "assignments.csv")
    const profilesPath = join(dir, "out", "profiles.ndjson")
    mkdirSync(join(dir, "out"), { recursive: true })
    const r = await runCli([
      "resolve",
      sampleNdjson,
      "--assignments",
      assignments,
      "--profiles",
      profilesPath,
      "--quiet"
    ])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe("")
    expect(readFileSync(assignments, "utf8").split("\n")[0]).toBe("source,id,profileId")
    const rows = readCsv(assignments)
    expect(rows).toHaveLength(36)
    expect(partitionOf(rows)).toEqual(normalisePartition(Object.values(ndjsonPeople)))

    const profiles = jsonLines(readFileSync(profilesPath, "utf8")) as unknown as Array<{
      profileId: string
      records: Array<{ source: string; id: string }>
      attributes: Record<string, { value: unknown; source: string; id: string; policy: string }>
      identifiers: Record<string, Array<{ value: string; records: Array<{ source: string; id: string }> }>>
    }>
    expect(profiles).toHaveLength(15)
    const byRecord = new Map(rows.map((row) => [`${row["source"]}/${row["id"]}`, row["profileId"]]))
    for (const p of profiles) for (const rec of p.records) expect(byRecord.get(key(rec))).toBe(p.profileId)
    const oliver = profiles.find((p) => p.records.some((rec) => key(rec) === "crm/C-1004"))!
    // Surviving values carry their provenance.
    expect(oliver.attributes["city"]).toMatchObject({
      value: "London",
      source: "shop",
      id: "S-2004",
      updatedAt: "2025-04-02T17:25:00Z",
      policy: "mostRecent",
      candidates: 2
    })
    expect(oliver.identifiers["phone"]?.map((v) => v.value).sort()).toEqual([
      "+44 7823 456789",
      "07823 456789"
    ])
    // No temporary files are left beside the outputs.
    expect(readdirSync(join(dir, "out")).sort()).toEqual(["assignments.csv", "profiles.ndjson"])
  })

  it("reads CSV with the default column mapping", async () => {
    const input = file(
      "default.csv",
      [
        "source,id,updatedAt,email,phone,id:loyalty,firstName,lastName,city,deleted",
        'shop,1,2025-01-01T00:00:00Z,ada@example.com,,L-77,Ada,Lovelace,"London, UK",',
        "crm,9,,ADA@example.com,,,Ada,,,false",
        "crm,10,,grace@example.com,,,Grace,Hopper,,",
        "crm,10,,,,,,,,true"
      ].join("\n")
    )
    const out = join(dir, "default.ndjson")
    const r = await runCli(["resolve", input, "--profiles", out, "--json-summary"])
    expect(r.code).toBe(0)
    const summary = JSON.parse(r.stderr) as Record<string, number>
    expect(summary).toMatchObject({
      read: 4,
      accepted: 4,
      rejects: 0,
      deletions: 1,
      removed: 1,
      records: 2,
      profiles: 1
    })
    const [ada] = jsonLines(readFileSync(out, "utf8")) as unknown as Array<{
      records: Array<{ source: string; id: string }>
      attributes: Record<string, { value: unknown }>
      identifiers: Record<string, Array<{ value: string }>>
    }>
    expect(ada!.records.map(key).sort()).toEqual(["crm/9", "shop/1"])
    expect(Object.keys(ada!.identifiers).sort()).toEqual(["email", "loyalty"])
    expect(ada!.identifiers["loyalty"]?.[0]?.value).toBe("L-77")
    // Empty cells are left out, and the record fields are not attributes.
    expect(Object.keys(ada!.attributes).sort()).toEqual(["city", "firstName", "lastName"])
    expect(ada!.attributes["city"]?.value).toBe("London, UK")
  })

  it("reads CSV through a mapping file", async () => {
    const assignments = join(dir, "erp.csv")
    const r = await runCli([
      "resolve",
      join(samples, "customers.csv"),
      "--mapping",
      join(samples, "customers.mapping.json"),
      "--assignments",
      assignments,
      "--quiet"
    ])
    expect(r.code).toBe(0)
    expect(partitionOf(readCsv(assignments))).toEqual(normalisePartition(Object.values(csvPeople)))
  })

  it("quotes assignment fields that need it", async () => {
    const input = file(
      "quoting.ndjson",
      ndjson([
        { source: "web shop", id: 'A,1 "gold"', identifiers: { email: ["q@example.com"] } },
        { source: "crm", id: "line\nbreak", identifiers: { email: ["q@example.com"] } },
        { source: "crm", id: " padded ", identifiers: { email: ["r@example.com"] } }
      ])
    )
    const assignments = join(dir, "quoting.csv")
    const r = await runCli(["resolve", input, "--assignments", assignments, "--quiet"])
    expect(r.code).toBe(0)
    const rows = readCsv(assignments)
    expect(rows.map((row) => [row["source"], row["id"]])).toEqual(
      expect.arrayContaining([
        ["web shop", 'A,1 "gold"'],
        ["crm", "line\nbreak"],
        ["crm", " padded "]
      ])
    )
    expect(partitionOf(rows)).toHaveLength(2)
  })

  it("--json-summary prints one JSON line of counts, timing and peak memory", async () => {
    const r = await runCli(["resolve", sampleNdjson, "--assignments", join(dir, "s.csv"), "--json-summary"])
    expect(r.code).toBe(0)
    const lines = r.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    const s = JSON.parse(lines[0]!) as Record<string, unknown>
    expect(s).toMatchObject({ read: 36, accepted: 36, rejects: 0, removed: 0, records: 36, profiles: 15 })
    for (const k of ["merges", "seconds", "recordsPerSecond", "maxRssBytes"])
      expect(s[k]).toBeTypeOf("number")
  })
})

describe("resolve: deletions and idempotence", () => {
  it('a "deleted": true record removes that record, and its profile splits without it', async () => {
    const input = file(
      "deleted.ndjson",
      ndjson([
        { source: "a", id: "1", identifiers: { email: ["one@example.com"] } },
        { source: "b", id: "1", identifiers: { email: ["one@example.com"], phone: ["+44 7823 456789"] } },
        { source: "c", id: "1", identifiers: { phone: ["+447823456789"] } },
        { source: "b", id: "1", deleted: true },
        { source: "z", id: "404", deleted: true }
      ])
    )
    const assignments = join(dir, "deleted.csv")
    const r = await runCli(["resolve", input, "--assignments", assignments, "--json-summary"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stderr)).toMatchObject({
      accepted: 5,
      deletions: 2,
      removed: 1,
      records: 2,
      profiles: 2
    })
    expect(partitionOf(readCsv(assignments))).toEqual([["a/1"], ["c/1"]])
  })

  it("applies a deletion and a re-creation of one record in file order, whatever the batch size", async () => {
    const input = file(
      "order.ndjson",
      ndjson([
        { source: "a", id: "1", identifiers: { email: ["x@example.com"] } },
        { source: "a", id: "1", deleted: true },
        { source: "a", id: "1", identifiers: { email: ["x@example.com"] } },
        { source: "b", id: "2", identifiers: { email: ["y@example.com"] } },
        { source: "b", id: "2", deleted: true }
      ])
    )
    for (const batch of ["1", "2", "5000"]) {
      const assignments = join(dir, `order-${batch}.csv`)
      const r = await runCli([
        "resolve",
        input,
        "--assignments",
        assignments,
        "--batch-size",
        batch,
        "--quiet"
      ])
      expect(r.code).toBe(0)
      expect(partitionOf(readCsv(assignments))).toEqual([["a/1"]])
    }
  })

  it("ingesting the same records twice gives the same assignments", async () => {
    const once = readFileSync(sampleNdjson, "utf8")
    const twice = file("twice.ndjson", once + once)
    const a1 = join(dir, "once.csv")
    const a2 = join(dir, "twice.csv")
    const r1 = await runCli(["resolve", sampleNdjson, "--assignments", a1, "--quiet"])
    const r2 = await runCli(["resolve", twice, "--assignments", a2, "--json-summary"])
    expect(r1.code).toBe(0)
    expect(r2.code).toBe(0)
    expect(JSON.parse(r2.stderr)).toMatchObject({
      read: 72,
      created: 36,
      unchanged: 36,
      records: 36,
      profiles: 15
    })
    expect(readFileSync(a2, "utf8")).toBe(readFileSync(a1, "utf8"))
  })

  it("the partition does not depend on the batch size", async () => {
    const a1 = join(dir, "batch-1.csv")
    const a2 = join(dir, "batch-7.csv")
    expect(
      (await runCli(["resolve", sampleNdjson, "--assignments", a1, "--batch-size", "1", "--quiet"])).code
    ).toBe(0)
    expect(
      (await runCli(["resolve", sampleNdjson, "--assignments", a2, "--batch-size", "7", "--quiet"])).code
    ).toBe(0)
    expect(partitionOf(readCsv(a1))).toEqual(partitionOf(readCsv(a2)))
  })
})

describe("resolve: bad input", () => {
  const secretLine = JSON.stringify({
    source: "crm",
    id: "7",
    identifiers: { email: "zeynep.secret@example.com" }
  })
  const good = (id: string) => JSON.stringify({ source: "crm", id, attributes: { firstName: "Test" } })

  it("a record that does not decode stops the run with exit 1, naming file, line and field but not the data", async () => {
    const input = file("bad.ndjson", [good("1"), "", secretLine, good("2")].join("\n"))
    const assignments = join(dir, "bad-out", "a.csv")
    mkdirSync(join(dir, "bad-out"), { recursive: true })
    const r = await runCli(["resolve", input, "--assignments", assignments])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(input)
    expect(r.stderr).toContain("line 3")
    expect(r.stderr).toContain('field "identifiers.email"')
    expect(r.stderr).toContain("--rejects")
    expect(r.stderr).not.toContain("zeynep")
    expect(r.stderr).not.toContain("example.com")
    // A failed run leaves no output behind, not even a temporary file.
    expect(readdirSync(join(dir, "bad-out"))).toEqual([])
  })

  it("a line that is not JSON stops the run with exit 1 without quoting it", async () => {
    const input = file(
      "notjson.ndjson",
      [good("1"), '{"source":"crm","id":"8","attributes":{"firstName":"Gizem"'].join("\n")
    )
    const r = await runCli(["resolve", input])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("line 2")
    expect(r.stderr).toContain('field "(line)" is not valid JSON')
    expect(r.stderr).not.toContain("Gizem")
  })

  it("a CSV row with too few fields stops the run with exit 1 without quoting it", async () => {
    const input = file(
      "bad.csv",
      "source,id,email,firstName\ncrm,1,a@example.com,Ann\ncrm,2,private.person@example.com\n"
    )
    const r = await runCli(["resolve", input])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("line 3")
    expect(r.stderr).toContain('field "(row)"')
    expect(r.stderr).not.toContain("private.person")
  })

  it("with --rejects the run goes on, and every bad record is set aside with its location and text", async () => {
    const notJson = '{"source":"crm","id":"8"'
    const badCsvInNdjson = "crm,9,someone@example.com"
    const input = file(
      "mixed.ndjson",
      [good("1"), secretLine, notJson, good("2"), badCsvInNdjson, good("3")].join("\n")
    )
    const rejects = join(dir, "rejects.ndjson")
    const assignments = join(dir, "mixed.csv")
    const r = await runCli([
      "resolve",
      input,
      "--rejects",
      rejects,
      "--assignments",
      assignments,
      "--json-summary"
    ])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stderr)).toMatchObject({ read: 6, accepted: 3, rejects: 3, records: 3 })
    expect(readCsv(assignments)).toHaveLength(3)
    const rejected = jsonLines(readFileSync(rejects, "utf8"))
    expect(rejected).toEqual([
      { file: input, line: 2, field: "identifiers.email", problem: "must be an array", raw: secretLine },
      { file: input, line: 3, field: "(line)", problem: "is not valid JSON", raw: notJson },
      { file: input, line: 5, field: "(line)", problem: "is not valid JSON", raw: badCsvInNdjson }
    ])
  })

  it("with --rejects, bad CSV rows are set aside in file order", async () => {
    const input = file(
      "rejects.csv",
      'source,id,email,notes\ncrm,1,a@example.com,"two\nlines"\ncrm,2\n,3,c@example.com,x\ncrm,4,d@example.com,ok\ncrm,5,"e@example.com,open\n'
    )
    const rejects = join(dir, "csv-rejects.ndjson")
    const r = await runCli(["resolve", input, "--rejects", rejects, "--json-summary"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stderr.trim().split("\n").at(-1)!)).toMatchObject({
      read: 5,
      accepted: 2,
      rejects: 3
    })
    const rejected = jsonLines(readFileSync(rejects, "utf8"))
    expect(rejected.map((x) => [x["line"], x["field"]])).toEqual([
      [4, "(row)"],
      [5, "source"],
      [7, "(row)"]
    ])
    expect(rejected[0]!["raw"]).toBe("crm,2")
    expect(rejected[1]!["raw"]).toBe(",3,c@example.com,x")
  })
})

describe("resolve: CSV headers", () => {
  it("a header without an id column stops the run with exit 1, even with --rejects", async () => {
    const input = file("noid.csv", "source,customer,email\ncrm,1,a@example.com\n")
    const r = await runCli(["resolve", input, "--rejects", join(dir, "noid-rejects.ndjson")])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("line 1")
    expect(r.stderr).toContain('field "id"')
    expect(r.stderr).toContain("--mapping")
    // --rejects cannot help with a header, so the hint about it is not given.
    expect(r.stderr).not.toContain("give --rejects")
  })
})

describe("resolve: exit codes", () => {
  it("a missing input file exits 3", async () => {
    const r = await runCli(["resolve", join(dir, "nope.ndjson")])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("cannot read")
    expect(r.stderr).toContain("nope.ndjson")
  })

  it("an input that is a directory exits 3", async () => {
    expect((await runCli(["resolve", dir])).code).toBe(3)
  })

  it("an output that cannot be written exits 3", async () => {
    const r = await runCli(["resolve", sampleNdjson, "--assignments", join(dir, "missing-dir", "a.csv")])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("cannot write")
    expect((await runCli(["resolve", sampleNdjson, "--profiles", dir])).code).toBe(3)
  })

  it("a missing config file exits 3", async () => {
    expect((await runCli(["resolve", sampleNdjson, "--config", join(dir, "nope.json")])).code).toBe(3)
  })

  it("an invalid config exits 4 and names the field", async () => {
    const wrongType = file("cfg-type.json", JSON.stringify({ threshold: "high" }))
    const r1 = await runCli(["resolve", sampleNdjson, "--config", wrongType])
    expect(r1.code).toBe(4)
    expect(r1.stderr).toContain("threshold")
    const typo = file("cfg-typo.json", JSON.stringify({ treshold: 12 }))
    const r2 = await runCli(["resolve", sampleNdjson, "--config", typo])
    expect(r2.code).toBe(4)
    expect(r2.stderr).toContain("treshold")
    const nested = file("cfg-nested.json", JSON.stringify({ weights: { firstName: { exact: "6" } } }))
    const r3 = await runCli(["resolve", sampleNdjson, "--config", nested])
    expect(r3.code).toBe(4)
    expect(r3.stderr).toContain("weights.firstName")
    const notJson = file("cfg-broken.json", "{ threshold: 12 ")
    const r4 = await runCli(["resolve", sampleNdjson, "--config", notJson])
    expect(r4.code).toBe(4)
    expect(r4.stderr).toContain("not valid JSON")
  })

  it("a valid config is applied", async () => {
    // A threshold no fuzzy score reaches: the swapped-name support record stays apart.
    const strict = file("cfg-strict.json", JSON.stringify({ threshold: 1000 }))
    const assignments = join(dir, "strict.csv")
    const r = await runCli([
      "resolve",
      sampleNdjson,
      "--config",
      strict,
      "--assignments",
      assignments,
      "--quiet"
    ])
    expect(r.code).toBe(0)
    const groups = partitionOf(readCsv(assignments))
    expect(groups).toContainEqual(["support/T-4004"])
  })

  it("an invalid mapping exits 4 and names the field", async () => {
    const csv = join(samples, "customers.csv")
    const wrongType = file("map-type.json", JSON.stringify({ id: 5 }))
    const r1 = await runCli(["resolve", csv, "--mapping", wrongType])
    expect(r1.code).toBe(4)
    expect(r1.stderr).toContain("id")
    const unknownField = file("map-field.json", JSON.stringify({ id: "customer_no", attribute: {} }))
    const r2 = await runCli(["resolve", csv, "--mapping", unknownField])
    expect(r2.code).toBe(4)
    expect(r2.stderr).toContain("attribute")
    const missingColumn = file(
      "map-column.json",
      JSON.stringify({ sourceValue: "erp", id: "customer_no", identifiers: { email: ["email_address"] } })
    )
    const r3 = await runCli(["resolve", csv, "--mapping", missingColumn])
    expect(r3.code).toBe(4)
    expect(r3.stderr).toContain("identifiers.email.0")
    expect(r3.stderr).toContain("email_address")
    const both = file(
      "map-both.json",
      JSON.stringify({ source: "system", sourceValue: "erp", id: "customer_no" })
    )
    expect((await runCli(["resolve", csv, "--mapping", both])).code).toBe(4)
  })

  it("usage errors exit 2", async () => {
    const cases: Array<ReadonlyArray<string>> = [
      [],
      ["resolve"],
      ["resolve", sampleNdjson, "--no-such-flag"],
      ["resolve", sampleNdjson, "another.ndjson"],
      ["resolve", sampleNdjson, "--batch-size", "many"],
      ["resolve", sampleNdjson, "--mapping", join(samples, "customers.mapping.json")],
      ["resolve", sampleNdjson, "--assignments", sampleNdjson],
      ["resolve", sampleNdjson, "--assignments", join(dir, "same"), "--profiles", join(dir, "same")],
      ["frobnicate"],
      ["--no-such-flag"]
    ]
    for (const args of cases) {
      const r = await runCli(args)
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2)
    }
    const r = await runCli(["resolve", sampleNdjson, "--no-such-flag"])
    expect(r.stderr).toContain("--no-such-flag")
    expect(existsSync(join(dir, "same"))).toBe(false)
  })
})
