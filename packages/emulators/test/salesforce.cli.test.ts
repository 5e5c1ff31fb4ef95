import { describe, expect, it } from "vitest"
import { main } from "../src/salesforce/index.js"
import { Connection, version } from "./salesforce.helpers.js"

const capture = () => {
  let out = ""
  let err = ""
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err
  }
}

describe("living-profile emulator salesforce", () => {
  it("prints help", async () => {
    const c = capture()
    expect(await main(["--help"], c.io)).toBe(0)
    expect(c.out()).toContain("Usage: living-profile emulator salesforce")
  })

  it("rejects bad arguments with exit code 2", async () => {
    for (const argv of [["--port", "http"], ["--nope"], ["positional"], ["--port", "70000"]]) {
      const c = capture()
      expect(await main(argv, c.io), argv.join(" ")).toBe(2)
      expect(c.err()).toContain("living-profile emulator salesforce:")
    }
  })

  it("starts, prints the URL and credentials, serves jsforce, and stops on the signal", async () => {
    const c = capture()
    const stop = new AbortController()
    const running = main(["--port", "0", "--daily-limit", "42", "--username", "dev@example.test"], {
      ...c.io,
      signal: stop.signal
    })
    let url: string | undefined
    for (let i = 0; i < 100 && url === undefined; i++) {
      await new Promise((r) => setTimeout(r, 10))
      url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(c.out())?.[1]
    }
    expect(url).toBeDefined()
    expect(c.out()).toContain("username:      dev@example.test")
    const conn = new Connection({
      loginUrl: url ?? "",
      version,
      oauth2: {
        loginUrl: url ?? "",
        clientId: "living-profile-emulator-client",
        clientSecret: "living-profile-emulator-secret"
      }
    })
    await conn.login("dev@example.test", "emulator-password")
    await conn.query("SELECT Id FROM Contact")
    expect(conn.limitInfo.apiUsage).toEqual({ used: 1, limit: 42 })
    stop.abort()
    expect(await running).toBe(0)
    expect(c.out()).toContain("stopped")
  })
})
