/** The pieces of the command that need no process: CSV quoting, the mapping, the version. */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { Mapping, Output, version } from "../src/index.js"
import * as Progress from "../src/Progress.js"
import { packageDir } from "./helpers.js"

describe("version", () => {
  it("is the package.json version", () => {
    const pkg = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string }
    expect(version).toBe(pkg.version)
  })
})

describe("Output.csvField", () => {
  it("quotes only what needs quoting, doubling quotes", () => {
    expect(Output.csvField("crm")).toBe("crm")
    expect(Output.csvField("")).toBe("")
    expect(Output.csvField("a,b")).toBe('"a,b"')
    expect(Output.csvField('say "hi"')).toBe('"say ""hi"""')
    expect(Output.csvField("two\nlines")).toBe('"two\nlines"')
    expect(Output.csvField("cr\r")).toBe('"cr\r"')
    expect(Output.csvField(" padded")).toBe('" padded"')
    expect(Output.assignmentLine("web shop", "A,1", "p1")).toBe('web shop,"A,1",p1\n')
  })
})

describe("Mapping", () => {
  const build = (header: Array<string>, mapping: Mapping.CsvMapping | undefined, cells: Array<string>) => {
    const plan = Mapping.plan(header, mapping)
    if (Either.isLeft(plan)) throw new Error(JSON.stringify(plan.left))
    return plan.right.build(cells)
  }

  it("reads columns by name without a mapping, leaving empty cells out", () => {
    expect(
      build(
        ["source", "id", "updatedAt", "deleted", "email", "phone", "id:loyalty", "firstName", "notes"],
        undefined,
        ["shop", "1", "2025-01-01", "no", "a@example.com", " ", "L-1", "Ada", ""]
      )
    ).toEqual({
      source: "shop",
      id: "1",
      updatedAt: "2025-01-01",
      deleted: false,
      identifiers: { email: ["a@example.com"], loyalty: ["L-1"] },
      attributes: { firstName: "Ada" }
    })
  })

  it("reads deletion flags, and passes anything else on so that decoding names the field", () => {
    const header = ["source", "id", "deleted"]
    expect(build(header, undefined, ["s", "1", "TRUE"])["deleted"]).toBe(true)
    expect(build(header, undefined, ["s", "1", "1"])["deleted"]).toBe(true)
    expect(build(header, undefined, ["s", "1", "0"])["deleted"]).toBe(false)
    expect(build(header, undefined, ["s", "1", "maybe"])["deleted"]).toBe("maybe")
  })

  it("follows a mapping: constant source, several columns of one identifier type, only the mapped attributes", () => {
    const mapping = Either.getOrThrow(
      Mapping.decode(
        {
          sourceValue: "erp",
          id: "no",
          identifiers: { email: ["mail1", "mail2"], phone: ["tel"] },
          attributes: { firstName: "vorname" }
        },
        "map.json"
      )
    )
    expect(
      build(["no", "mail1", "mail2", "tel", "vorname", "secret"], mapping, [
        "7",
        "a@x.de",
        "b@x.de",
        "",
        "Jürgen",
        "s"
      ])
    ).toEqual({
      source: "erp",
      id: "7",
      identifiers: { email: ["a@x.de", "b@x.de"] },
      attributes: { firstName: "Jürgen" }
    })
  })

  it("without attributes in the mapping, every unclaimed column is an attribute", () => {
    const mapping = Either.getOrThrow(Mapping.decode({ source: "system", id: "no" }, "map.json"))
    expect(build(["system", "no", "email", "name"], mapping, ["crm", "1", "a@x.de", "Ann"])).toEqual({
      source: "crm",
      id: "1",
      identifiers: { email: ["a@x.de"] },
      attributes: { name: "Ann" }
    })
  })

  it("names the field of an invalid mapping", () => {
    const e = (input: unknown) => {
      const r = Mapping.decode(input, "map.json")
      return Either.isLeft(r) ? r.left.message : "valid"
    }
    expect(e({})).toContain("id")
    expect(e({ id: "" })).toContain("id: must be a non-empty column name")
    expect(e({ id: "x", identifiers: { email: "mail" } })).toContain("identifiers.email")
    expect(e({ id: "x", colums: {} })).toContain("colums")
    expect(e({ id: "x", source: "a", sourceValue: "b" })).toContain("not both")
    expect(e([])).toContain("map.json")
  })

  it("reports header problems: missing id or source column, duplicate names, mapped columns not in the header", () => {
    const problem = (header: Array<string>, mapping?: Mapping.CsvMapping) => {
      const r = Mapping.plan(header, mapping)
      return Either.isLeft(r) ? r.left : undefined
    }
    expect(problem(["source", "email"])).toMatchObject({ _tag: "Header", field: "id" })
    expect(problem(["id", "email"])).toMatchObject({ _tag: "Header", field: "source" })
    expect(problem(["source", "id", "id"])).toMatchObject({ _tag: "Header", field: "id" })
    expect(problem(["a"], { id: "b", updatedAt: "c" })).toMatchObject({ _tag: "Mapping" })
  })
})

describe("Progress.line", () => {
  it("redraws one line at most every interval, always shows the writing phase, and erases itself", () => {
    const out: Array<string> = []
    const p = Progress.line({ write: (s) => out.push(s) }, 60_000)
    p.update({ phase: "reading", read: 5000, rejects: 0, seconds: 1 })
    p.update({ phase: "reading", read: 10000, rejects: 0, seconds: 2 })
    p.update({ phase: "writing", read: 12000, rejects: 2, seconds: 3 })
    p.done()
    expect(out).toEqual([
      "\r\x1b[Kresolving: 5,000 records, 5,000 records/s",
      "\r\x1b[Kwriting outputs (12,000 records read)",
      "\r\x1b[K"
    ])
  })

  it("shows nothing when it never drew", () => {
    const out: Array<string> = []
    Progress.line({ write: (s) => out.push(s) }).done()
    expect(out).toEqual([])
  })
})
