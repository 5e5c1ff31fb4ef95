/**
 * `resolve --store` and `export` against the real Redis, through the built binary. Each test uses
 * its own random key prefix, deleted afterwards. Without Redis at 127.0.0.1:6379 the tests fail in
 * CI and are skipped with instructions elsewhere.
 */
import { randomUUID } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { connect, createServer } from "node:net"
import { join } from "node:path"
import { RedisProfileStore } from "@living-profile/redis"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  jsonLines,
  key,
  normalisePartition,
  partitionOf,
  readCsv,
  requireBuild,
  type Run,
  runCli,
  samples,
  tempDir
} from "./helpers.js"
import { ndjsonPeople } from "./samplePartition.js"

const REDIS_URL = "redis://127.0.0.1:6379"
const START_REDIS = "redis-server --daemonize yes --port 6379 --save '' --appendonly no"
const SECRET = "cli-test-secret"
const sample = join(samples, "customers.ndjson")

/** Whether something answers PING with PONG at 127.0.0.1:6379 (raw RESP: no client needed). */
const ping = (): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: 6379 })
    let reply = ""
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.on("error", () => done(false))
    socket.on("connect", () => socket.write("PING\r\n"))
    socket.on("data", (d) => {
      reply += d.toString("utf8")
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"))
    })
  })

const redisAnswers = await ping()

/** Registers tests that need Redis; without it, a failing test in CI and a skipped block elsewhere. */
const whenRedis = (register: () => void): void => {
  if (redisAnswers) {
    register()
    return
  }
  const message = `no Redis answers at ${REDIS_URL}; start one with: ${START_REDIS}`
  if (process.env["CI"] !== undefined) {
    describe("Redis", () => {
      it("answers at 127.0.0.1:6379", () => {
        throw new Error(message)
      })
    })
    return
  }
  console.warn(`[@living-profile/cli] skipping the --store tests: ${message}`)
  describe.skip(message, () => {
    it("needs Redis", () => undefined)
  })
}

/** The environment of a run: ours without the store's variables, plus `extra`. */
const envWith = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(env))
    if (name.startsWith("LIVING_PROFILE_") || name.startsWith("REDIS_")) delete env[name]
  return { ...env, ...extra }
}
const withSecret = envWith({ LIVING_PROFILE_SECRET: SECRET })

type Connection = RedisProfileStore.RedisProfileStore["redis"]

/** A raw connection for `f` (the store's own, used for plain commands only). */
const raw = <A>(f: (r: Connection) => Promise<A>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(
        RedisProfileStore.make({
          url: REDIS_URL,
          keyPrefix: "lp-cli-test-raw:",
          secret: Redacted.make("raw")
        }),
        (store) => Effect.promise(() => f(store.redis))
      )
    )
  )

/** Every key under a prefix (SCAN, never KEYS), sorted. */
const keysUnder = (r: Connection, prefix: string): Promise<Array<string>> =>
  (async () => {
    const out: Array<string> = []
    let cursor = "0"
    do {
      const [next, found] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
      out.push(...found)
      cursor = next
    } while (cursor !== "0")
    return out.sort()
  })()

/** What a store holds beyond the profiles: its change log, id counter, materialisation mark and keys. */
const stateOf = (prefix: string) =>
  raw(async (r) => ({
    log: await r.xlen(`${prefix}{g}log`),
    seq: await r.get(`${prefix}{g}seq`),
    mat: await r.get(`${prefix}{g}mat`),
    keys: await keysUnder(r, prefix)
  }))

/** A profile line without its id and with its record lists sorted: record order is the store's. */
const canonical = (profile: Record<string, unknown>): string => {
  const byKey = (refs: ReadonlyArray<{ source: string; id: string }>) =>
    [...refs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  const {
    profileId: _,
    records,
    identifiers,
    ...rest
  } = profile as {
    profileId: string
    records: Array<{ source: string; id: string }>
    identifiers: Record<string, Array<{ value: string; records: Array<{ source: string; id: string }> }>>
  }
  const ids = Object.fromEntries(
    Object.entries(identifiers).map(([type, groups]) => [
      type,
      groups.map((g) => ({ ...g, records: byKey(g.records) }))
    ])
  )
  return JSON.stringify({ records: byKey(records), identifiers: ids, ...rest })
}
const canonicalProfiles = (path: string): Array<string> =>
  jsonLines(readFileSync(path, "utf8")).map(canonical).sort()

/** The assignment rows as sorted `source,id,profileId` text: equal only with the same ids. */
const rowsOf = (path: string): Array<string> => readFileSync(path, "utf8").trim().split("\n").slice(1).sort()

/** The summary lines but the timing one. */
const countsOf = (r: Run): Array<string> => r.stderr.trim().split("\n").slice(0, 2)

const expectClean = (r: Run) => {
  expect(r.stderr).not.toMatch(/\n\s+at /)
  expect(r.stderr).not.toContain("internal error")
}

let dir = ""
let cleanup = () => {}
beforeAll(() => {
  requireBuild()
  const t = tempDir()
  dir = t.dir
  cleanup = t.cleanup
})
afterAll(() => cleanup())

const out = (name: string): string => join(dir, `${randomUUID().slice(0, 8)}-${name}`)

describe("help", () => {
  it("documents export, --store, the store's variables and exit code 5", async () => {
    const main = await runCli(["--help"])
    expect(main.stdout).toContain("living-profile export --store <url>")
    expect(main.stdout).toContain("5  store error")
    const resolve = await runCli(["resolve", "--help"])
    const exported = await runCli(["export", "--help"])
    for (const r of [resolve, exported]) {
      expect(r.code).toBe(0)
      for (const text of [
        "--store",
        "--key-prefix",
        "LIVING_PROFILE_SECRET",
        "LIVING_PROFILE_KEY_PREFIX",
        "5  store error"
      ])
        expect(r.stdout).toContain(text)
    }
    for (const flag of ["--assignments", "--profiles", "--config", "--quiet", "--json-summary"])
      expect(exported.stdout).toContain(flag)
    expect((await runCli(["help", "export"])).stdout).toBe(exported.stdout)
  })
})

describe("--store without LIVING_PROFILE_SECRET", () => {
  it("is a usage error (exit code 2) naming the variable, before anything is read or written", async () => {
    const prefix = `lp-cli-test:${randomUUID().slice(0, 8)}:`
    const assignments = out("a.csv")
    const resolve = await runCli(
      ["resolve", sample, "--store", `${REDIS_URL}/0`, "--key-prefix", prefix, "--assignments", assignments],
      undefined,
      [],
      envWith()
    )
    expect(resolve.code).toBe(2)
    expect(resolve.stderr).toContain("LIVING_PROFILE_SECRET")
    expectClean(resolve)
    expect(existsSync(assignments)).toBe(false)

    const exported = await runCli(["export", "--store", `${REDIS_URL}/0`], undefined, [], envWith())
    expect(exported.code).toBe(2)
    expect(exported.stderr).toContain("LIVING_PROFILE_SECRET")
    expectClean(exported)
    expect(exported.stdout).toBe("")

    // An empty secret is no secret.
    const empty = await runCli(
      ["export", "--store", `${REDIS_URL}/0`],
      undefined,
      [],
      envWith({ LIVING_PROFILE_SECRET: "" })
    )
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain("LIVING_PROFILE_SECRET")
    if (redisAnswers) expect(await raw((r) => keysUnder(r, prefix))).toEqual([])
  })
})

describe("a store that cannot be reached", () => {
  it("is exit code 5 with the reason, the URL without its password, and no output left behind", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const a = s.address()
        s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0))
      })
    })
    const before = readdirSync(dir)
    const assignments = out("a.csv")
    const r = await runCli(
      [
        "resolve",
        sample,
        "--store",
        `redis://someone:pa55word@127.0.0.1:${port}/0`,
        "--assignments",
        assignments
      ],
      undefined,
      [],
      withSecret
    )
    expect(r.code).toBe(5)
    expect(r.stderr).toContain(`store redis://127.0.0.1:${port}/0: cannot connect (ECONNREFUSED)`)
    expect(r.stderr).not.toContain("pa55word")
    expectClean(r)
    expect(readdirSync(dir)).toEqual(before)

    const e = await runCli(["export", "--store", `redis://127.0.0.1:${port}`], undefined, [], withSecret)
    expect(e.code).toBe(5)
    expect(e.stderr).toContain("cannot connect (ECONNREFUSED)")
    expectClean(e)
  })

  it("a failure the adapter reports is exit code 5 with its detail, never a secret", async () => {
    // A key ring the adapter refuses before it connects: a 5-byte key.
    const r = await runCli(
      ["export", "--store", `${REDIS_URL}/0`],
      undefined,
      [],
      envWith({
        LIVING_PROFILE_SECRET: SECRET,
        LIVING_PROFILE_ENCRYPTION_KEYS: "k1:c2hvcnQ=",
        LIVING_PROFILE_ENCRYPTION_CURRENT: "k1"
      })
    )
    expect(r.code).toBe(5)
    expect(r.stderr).toContain(`store ${REDIS_URL}/0: encryption: key "k1" must be 32 bytes`)
    expect(r.stderr).not.toContain("c2hvcnQ=")
    expect(r.stderr).not.toContain(SECRET)
    expectClean(r)
    // Half a key ring is a usage error.
    const half = await runCli(
      ["export", "--store", REDIS_URL],
      undefined,
      [],
      envWith({ LIVING_PROFILE_SECRET: SECRET, LIVING_PROFILE_ENCRYPTION_CURRENT: "k1" })
    )
    expect(half.code).toBe(2)
    expect(half.stderr).toContain("LIVING_PROFILE_ENCRYPTION_KEYS")
  })

  it("--store must be a redis:// or rediss:// URL with a database number (exit code 2)", async () => {
    for (const url of ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://127.0.0.1:6379/first"]) {
      const r = await runCli(["export", "--store", url], undefined, [], withSecret)
      expect(r.code).toBe(2)
      expect(r.stderr).toContain("--store")
      expectClean(r)
    }
    const r = await runCli(["resolve", sample, "--key-prefix", "x:"], undefined, [], withSecret)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--key-prefix applies with --store only")
  })
})

whenRedis(() => {
  describe("resolve --store and export", () => {
    const prefixes: Array<string> = []
    const freshPrefix = (): string => {
      const prefix = `lp-cli-test:${randomUUID().slice(0, 8)}:`
      prefixes.push(prefix)
      return prefix
    }
    afterAll(() =>
      raw(async (r) => {
        for (const prefix of prefixes) {
          const keys = await keysUnder(r, prefix)
          if (keys.length > 0) await r.del(...keys)
        }
      })
    )

    it("export gives the assignments (as a partition) and the profiles of an in-memory resolve", async () => {
      const prefix = freshPrefix()
      const memory = { assignments: out("mem.csv"), profiles: out("mem.ndjson") }
      const stored = { assignments: out("st.csv"), profiles: out("st.ndjson") }
      const exported = { assignments: out("ex.csv"), profiles: out("ex.ndjson") }

      const m = await runCli(
        ["resolve", sample, "--assignments", memory.assignments, "--profiles", memory.profiles],
        undefined,
        [],
        envWith()
      )
      expect(m.code).toBe(0)
      // The key prefix from the environment here, from the flag below: one store.
      const s = await runCli(
        [
          "resolve",
          sample,
          "--store",
          `${REDIS_URL}/0`,
          "--assignments",
          stored.assignments,
          "--profiles",
          stored.profiles
        ],
        undefined,
        [],
        envWith({ LIVING_PROFILE_SECRET: SECRET, LIVING_PROFILE_KEY_PREFIX: prefix })
      )
      expect(s.code).toBe(0)
      expect(countsOf(s)).toEqual(countsOf(m))
      expect((await stateOf(prefix)).keys.length).toBeGreaterThan(0)

      const e = await runCli(
        [
          "export",
          "--store",
          `${REDIS_URL}/0`,
          "--key-prefix",
          prefix,
          "--assignments",
          exported.assignments,
          "--profiles",
          exported.profiles
        ],
        undefined,
        [],
        withSecret
      )
      expect(e.code).toBe(0)
      expect(e.stdout).toBe("")
      expect(e.stderr).toContain(
        `15 profiles (36 records) exported from ${REDIS_URL}/0 (key prefix ${prefix})`
      )

      // The same people as in memory, and the intended ones.
      const partition = partitionOf(readCsv(exported.assignments))
      expect(partition).toEqual(partitionOf(readCsv(memory.assignments)))
      expect(partition).toEqual(normalisePartition(Object.values(ndjsonPeople)))
      // The same profiles, attributes, identifiers and consent, whatever the ids.
      expect(canonicalProfiles(exported.profiles)).toEqual(canonicalProfiles(memory.profiles))
      // Exactly what resolve --store wrote, ids included.
      expect(rowsOf(exported.assignments)).toEqual(rowsOf(stored.assignments))
      expect(
        jsonLines(readFileSync(exported.profiles, "utf8"))
          .map((p) => JSON.stringify(p))
          .sort()
      ).toEqual(
        jsonLines(readFileSync(stored.profiles, "utf8"))
          .map((p) => JSON.stringify(p))
          .sort()
      )
      // Each profile line and its assignment rows agree on the id.
      const idOf = new Map(
        readCsv(exported.assignments).map((r) => [`${r["source"]}/${r["id"]}`, r["profileId"]])
      )
      for (const p of jsonLines(readFileSync(exported.profiles, "utf8")))
        for (const r of p["records"] as Array<{ source: string; id: string }>)
          expect(idOf.get(key(r))).toBe(p["profileId"])

      // Without outputs the profiles go to stdout, as with resolve.
      const toStdout = await runCli(
        ["export", "--store", REDIS_URL, "--key-prefix", prefix, "--quiet"],
        undefined,
        [],
        withSecret
      )
      expect(toStdout.code).toBe(0)
      expect(toStdout.stderr).toBe("")
      expect(jsonLines(toStdout.stdout).map(canonical).sort()).toEqual(canonicalProfiles(memory.profiles))
    })

    it("a second resolve of the same file into the same prefix changes nothing", async () => {
      const prefix = freshPrefix()
      const args = ["resolve", sample, "--store", REDIS_URL, "--key-prefix", prefix, "--json-summary"]
      const exportArgs = ["export", "--store", REDIS_URL, "--key-prefix", prefix]
      const first = await runCli(args, undefined, [], withSecret)
      expect(first.code).toBe(0)
      const a1 = out("a1.csv")
      expect((await runCli([...exportArgs, "--assignments", a1], undefined, [], withSecret)).code).toBe(0)
      const before = await stateOf(prefix)

      const second = await runCli(args, undefined, [], withSecret)
      expect(second.code).toBe(0)
      const summary = JSON.parse(second.stderr) as Record<string, number>
      expect(summary).toMatchObject({
        read: 36,
        accepted: 36,
        created: 0,
        updated: 0,
        unchanged: 36,
        records: 36,
        profiles: 15
      })
      const a2 = out("a2.csv")
      expect((await runCli([...exportArgs, "--assignments", a2], undefined, [], withSecret)).code).toBe(0)

      expect(rowsOf(a2)).toEqual(rowsOf(a1))
      expect(await stateOf(prefix)).toEqual(before)
    })

    it("export first brings profiles up to date when a writer stopped before materialising them", async () => {
      const prefix = freshPrefix()
      expect(
        (
          await runCli(
            ["resolve", sample, "--store", REDIS_URL, "--key-prefix", prefix, "--quiet"],
            undefined,
            [],
            withSecret
          )
        ).code
      ).toBe(0)
      const a1 = out("a1.csv")
      const exportArgs = ["export", "--store", REDIS_URL, "--key-prefix", prefix, "--quiet"]
      expect((await runCli([...exportArgs, "--assignments", a1], undefined, [], withSecret)).code).toBe(0)
      const before = await stateOf(prefix)
      // As a writer killed between its write and its materialisation leaves it: mat behind the log.
      await raw((r) => r.set(`${prefix}{g}mat`, "0-0"))

      const a2 = out("a2.csv")
      expect((await runCli([...exportArgs, "--assignments", a2], undefined, [], withSecret)).code).toBe(0)
      expect(rowsOf(a2)).toEqual(rowsOf(a1))
      expect(await stateOf(prefix)).toEqual(before)
    })

    it("an empty prefix exports no profiles and the assignments header", async () => {
      const prefix = freshPrefix()
      const a = out("a.csv")
      const r = await runCli(
        ["export", "--store", REDIS_URL, "--key-prefix", prefix, "--assignments", a, "--json-summary"],
        undefined,
        [],
        withSecret
      )
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stderr)).toMatchObject({
        store: REDIS_URL,
        keyPrefix: prefix,
        profiles: 0,
        records: 0
      })
      expect(readFileSync(a, "utf8")).toBe("source,id,profileId\n")
    })
  })
})
