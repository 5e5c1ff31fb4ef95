/**
 * Helpers of the CLI tests: running the built binary, temporary directories, reading outputs
 * back, and a generator of large synthetic inputs.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, createWriteStream } from "node:fs"
import { once } from "node:events"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "csv-parse/sync"

/** Root of the cli package. */
export const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..")
/** The binary under test: the shim over the built dist (build with `npx tsup` first). */
export const bin = join(packageDir, "bin", "living-profile.cjs")
/** The bundled samples. */
export const samples = join(packageDir, "samples")

/** Fails with a clear message when the package has not been built. */
export const requireBuild = (): void => {
  if (!existsSync(join(packageDir, "dist", "main.cjs"))) {
    throw new Error(
      "packages/cli/dist/main.cjs is missing: run `npx tsup` in packages/cli (npm test at the root builds first)"
    )
  }
}

/** What a run of the binary produced. */
export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the binary with arguments in a working directory (`nodeOptions` go to node itself; `env` replaces the environment). */
export const runCli = async (
  args: ReadonlyArray<string>,
  cwd: string = packageDir,
  nodeOptions: ReadonlyArray<string> = [],
  env: NodeJS.ProcessEnv = process.env
): Promise<Run> => {
  const child = spawn(process.execPath, [...nodeOptions, bin, ...args], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d
  })
  const [code] = (await once(child, "close")) as [number | null]
  return { code, stdout, stderr }
}

/** A temporary directory, removed by the returned cleanup. */
export const tempDir = (): { readonly dir: string; readonly cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "living-profile-cli-"))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Rows of a CSV file as objects keyed by the header. */
export const readCsv = (path: string): Array<Record<string, string>> =>
  parse(readFileSync(path, "utf8"), { columns: true }) as Array<Record<string, string>>

/** The JSON lines of an NDJSON text. */
export const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/** `source/id` of a record reference. */
export const key = (r: { readonly source: string; readonly id: string }): string => `${r.source}/${r.id}`

/**
 * The partition of an assignments CSV: each group's sorted `source/id` keys, the groups sorted,
 * so that it compares equal whatever the profile ids and the order.
 */
export const partitionOf = (rows: ReadonlyArray<Record<string, string>>): Array<Array<string>> => {
  const groups = new Map<string, Array<string>>()
  for (const r of rows) {
    const list = groups.get(r["profileId"]!) ?? []
    list.push(`${r["source"]}/${r["id"]}`)
    groups.set(r["profileId"]!, list)
  }
  return normalisePartition([...groups.values()])
}

/** Sorts the members of each group and the groups, for comparison. */
export const normalisePartition = (groups: ReadonlyArray<ReadonlyArray<string>>): Array<Array<string>> =>
  groups.map((g) => [...g].sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0))

const firstNames = [
  "Ayşe",
  "Mehmet",
  "Oliver",
  "Emily",
  "Jürgen",
  "Zeynep",
  "Ali",
  "Elif",
  "Thomas",
  "Hannah",
  "Can",
  "Fatma",
  "James",
  "Sophie",
  "Lukas",
  "Mia",
  "Ahmet",
  "Emma",
  "Noah",
  "Lea",
  "Mustafa",
  "Charlotte",
  "Felix",
  "Amelia",
  "Burak",
  "Isla",
  "Jonas",
  "Grace",
  "Emre",
  "Laura"
]
const lastNames = [
  "Yılmaz",
  "Demir",
  "Bennett",
  "Clarke",
  "Müller",
  "Çelik",
  "Aydın",
  "Wright",
  "Schmidt",
  "Arslan",
  "Kaya",
  "Smith",
  "Jones",
  "Weber",
  "Fischer",
  "Öztürk",
  "Şahin",
  "Brown",
  "Taylor",
  "Wagner",
  "Koç",
  "Evans",
  "Becker",
  "Hoffmann",
  "Polat",
  "Walker",
  "Schulz",
  "Kılıç",
  "Hughes",
  "Richter"
]
const cities = [
  "İstanbul",
  "Ankara",
  "İzmir",
  "London",
  "Manchester",
  "Bristol",
  "München",
  "Berlin",
  "Hamburg",
  "Köln"
]
const sources = ["crm", "shop", "newsletter", "support", "app"]

const ascii = (s: string): string =>
  s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ı/g, "i")
    .toLowerCase()

/**
 * Synthetic NDJSON records, deterministic: people with one to three records each (the same
 * e-mail, the name in other cases, one record with the first name only).
 */
export function* syntheticLines(): Generator<string> {
  let seed = 20250601
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return (seed >>> 8) % n
  }
  for (let person = 0; ; person++) {
    const first = firstNames[random(firstNames.length)]!
    const last = lastNames[random(lastNames.length)]!
    const birthDate = `${1940 + random(65)}-${String(1 + random(12)).padStart(2, "0")}-${String(1 + random(28)).padStart(2, "0")}`
    const postcode = String(10000 + random(89999))
    const city = cities[random(cities.length)]!
    const email = `${ascii(first)}.${ascii(last)}.${person}@example.com`
    const copies = 1 + random(3)
    for (let c = 0; c < copies; c++) {
      const record = {
        source: sources[(person + c) % sources.length],
        id: `R-${person}-${c}`,
        updatedAt: `2025-0${1 + random(9)}-1${random(10)}T10:00:00Z`,
        identifiers: { email: [c === 1 ? email.toUpperCase() : email] },
        attributes:
          c === 2
            ? { firstName: first }
            : {
                firstName: c === 1 ? first.toUpperCase() : first,
                lastName: last,
                birthDate,
                postcode,
                city,
                country: "TR"
              },
        ...(c === 0
          ? {
              consents: [
                {
                  purpose: "marketing",
                  channel: "email",
                  status: "granted",
                  capturedAt: "2025-01-01T00:00:00Z",
                  legalBasis: "consent"
                }
              ]
            }
          : {})
      }
      yield `${JSON.stringify(record)}\n`
    }
  }
}

/**
 * Writes `lines` synthetic records to a file; with `distinct`, the first `distinct` records
 * repeat in turn (re-sent records), so the store stays small while the file is large.
 */
export const writeSyntheticNdjson = async (path: string, lines: number, distinct = lines): Promise<void> => {
  const out = createWriteStream(path)
  const source = syntheticLines()
  const first: Array<string> = []
  let buf = ""
  for (let i = 0; i < lines; i++) {
    let line: string
    if (i < distinct) {
      line = source.next().value as string
      if (distinct < lines) first.push(line)
    } else line = first[i % distinct]!
    buf += line
    if (buf.length >= 1 << 16) {
      if (!out.write(buf)) await once(out, "drain")
      buf = ""
    }
  }
  out.end(buf)
  await once(out, "close")
}
