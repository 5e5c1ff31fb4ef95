import { spawn } from "node:child_process"
import { once } from "node:events"
import { beforeAll, describe, expect, it } from "vitest"
import { bin, requireBuild, runCli } from "./helpers.js"

beforeAll(requireBuild)

/** Starts `living-profile emulator <which>` and waits for the URL it prints. */
const startEmulator = async (which: string) => {
  const child = spawn(process.execPath, [bin, "emulator", which, "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout.setEncoding("utf8")
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: string) => {
      out += d
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out)
      if (m !== null) resolve(m[0])
    })
    child.on("exit", (code) => reject(new Error(`emulator exited with ${code}`)))
  })
  return { child, url, output: () => out }
}

describe("living-profile emulator", () => {
  it("runs the HubSpot emulator until interrupted: it answers 401 without the printed token and 200 with it", async () => {
    const { child, url, output } = await startEmulator("hubspot")
    try {
      const denied = await fetch(`${url}/crm/v3/objects/contacts?limit=1`)
      expect(denied.status).toBe(401)
      const token = /pat-[\w-]+/.exec(output())![0]
      const ok = await fetch(`${url}/crm/v3/objects/contacts?limit=1`, {
        headers: { authorization: `Bearer ${token}` }
      })
      expect(ok.status).toBe(200)
    } finally {
      child.kill("SIGTERM")
      await once(child, "exit")
    }
  })

  it("runs the Salesforce emulator: its token endpoint answers an OAuth error for bad credentials", async () => {
    const { child, url } = await startEmulator("salesforce")
    try {
      const r = await fetch(`${url}/services/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=password&client_id=x&client_secret=y&username=nobody&password=wrong"
      })
      expect(r.status).toBe(400)
      expect(((await r.json()) as { error: string }).error).toBe("invalid_client_id")
    } finally {
      child.kill("SIGTERM")
      await once(child, "exit")
    }
  })

  it("rejects an unknown emulator with a usage error", async () => {
    const run = await runCli(["emulator", "oracle"])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('expected "salesforce" or "hubspot"')
  })
})
