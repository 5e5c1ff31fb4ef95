import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { SalesforceEmulator } from "../src/salesforce/index.js"
import { Connection, connection, failure, login, startEmulator, version } from "./salesforce.helpers.js"

let em: SalesforceEmulator

beforeAll(async () => {
  em = await startEmulator({
    sessionTtlSeconds: 600,
    users: [
      {
        username: "sync@example.test",
        password: "pw-and-token",
        clientId: "client-a",
        clientSecret: "secret-a"
      },
      { username: "other@example.test", password: "pw2", clientId: "client-b", clientSecret: "secret-b" }
    ]
  })
})

afterAll(async () => {
  await em.close()
})

describe("OAuth token endpoint through jsforce", () => {
  it("logs in with the username-password flow and gets the emulator as instance", async () => {
    const conn = connection(em)
    const info = await conn.login("sync@example.test", "pw-and-token")
    expect(info.id).toBe(em.credentials.userId)
    expect(info.organizationId).toBe(em.orgId)
    expect(conn.instanceUrl).toBe(em.url)
    expect(conn.accessToken).toMatch(/^00D[A-Za-z0-9]{12}!AQ/)
    const identity = await conn.identity()
    expect(identity.username).toBe("sync@example.test")
    const log = em.backdoor.requestLog
    expect(
      log.some((e) => e.method === "POST" && e.path === "/services/oauth2/token" && e.status === 200)
    ).toBe(true)
  })

  it("logs in with the client-credentials flow as the app's run-as user", async () => {
    const conn = new Connection({
      loginUrl: em.url,
      version,
      oauth2: { loginUrl: em.url, clientId: "client-b", clientSecret: "secret-b" }
    })
    const info = await conn.authorize({ grant_type: "client_credentials" })
    expect(info.id).toBe(em.users[1]?.userId)
    const result = await conn.query("SELECT Id FROM Contact")
    expect(result.totalSize).toBe(0)
  })

  it("refuses jsforce's SOAP login fallback with a message saying what to configure", async () => {
    const soap = new Connection({ loginUrl: em.url, version })
    const e = await failure(soap.login("sync@example.test", "pw-and-token"))
    expect(e.message).toContain("oauth2 { clientId, clientSecret }")
  })

  it("rejects bad credentials with the OAuth error as the error name", async () => {
    const badPassword = await failure(connection(em).login("sync@example.test", "wrong"))
    expect(badPassword.name).toBe("invalid_grant")
    expect(badPassword.message).toBe("authentication failure")

    const badSecret = new Connection({
      loginUrl: em.url,
      version,
      oauth2: { loginUrl: em.url, clientId: "client-a", clientSecret: "nope" }
    })
    const e = await failure(badSecret.authorize({ grant_type: "client_credentials" }))
    expect(e.name).toBe("invalid_client")

    const unknownClient = new Connection({
      loginUrl: em.url,
      version,
      oauth2: { loginUrl: em.url, clientId: "who", clientSecret: "x" }
    })
    expect((await failure(unknownClient.login("sync@example.test", "pw-and-token"))).name).toBe(
      "invalid_client_id"
    )
  })
})

describe("session expiry", () => {
  it("answers 401 INVALID_SESSION_ID for an expired token without a refresh path", async () => {
    const issued = em.sessions.issue()
    const conn = new Connection({ instanceUrl: issued.instanceUrl, accessToken: issued.accessToken, version })
    await conn.query("SELECT Id FROM Contact")
    em.clock.set(Date.now())
    em.clock.advance(601_000)
    try {
      const e = await failure(conn.query("SELECT Id FROM Contact"))
      expect(e.name).toBe("INVALID_SESSION_ID")
      expect(e["errorCode"]).toBe("INVALID_SESSION_ID")
      expect(e.message).toBe("Session expired or invalid")
      expect(e["data"]).toEqual({ message: "Session expired or invalid", errorCode: "INVALID_SESSION_ID" })
    } finally {
      em.clock.resume()
    }
  })

  it("keeps a session alive while it is used (inactivity timeout)", async () => {
    const conn = await login(em)
    em.clock.set(Date.now())
    try {
      for (let i = 0; i < 3; i++) {
        em.clock.advance(400_000)
        await conn.query("SELECT Id FROM Contact")
      }
    } finally {
      em.clock.resume()
    }
  })

  it("re-logs in transparently after expiry when logged in with username-password", async () => {
    const conn = await login(em)
    const first = conn.accessToken
    em.sessions.expireAll()
    em.backdoor.clearRequestLog()
    const result = await conn.query("SELECT Id FROM Contact")
    expect(result.done).toBe(true)
    expect(conn.accessToken).not.toBe(first)
    expect(em.backdoor.requestLog.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
      `GET /services/data/v${version}/query 401`,
      "POST /services/oauth2/token 200",
      `GET /services/data/v${version}/query 200`
    ])
  })

  it("cannot refresh a client-credentials session on its own, but a refreshFn can", async () => {
    const plain = new Connection({
      loginUrl: em.url,
      version,
      oauth2: { loginUrl: em.url, clientId: "client-a", clientSecret: "secret-a" }
    })
    await plain.authorize({ grant_type: "client_credentials" })
    em.sessions.expireAll()
    const e = await failure(plain.query("SELECT Id FROM Contact"))
    expect(e.message).toBe("Unable to refresh session due to: No refresh token found in the connection")

    let refreshes = 0
    const withRefresh = new Connection({
      loginUrl: em.url,
      version,
      oauth2: { loginUrl: em.url, clientId: "client-a", clientSecret: "secret-a" },
      refreshFn: (c, callback) => {
        refreshes++
        c.oauth2.requestToken({ grant_type: "client_credentials" }).then(
          (res) => callback(null, res.access_token, res),
          (err: Error) => callback(err)
        )
      }
    })
    await withRefresh.authorize({ grant_type: "client_credentials" })
    em.sessions.expireAll()
    const result = await withRefresh.query("SELECT Id FROM Contact")
    expect(result.totalSize).toBe(0)
    expect(refreshes).toBe(1)
  })

  it("refreshes with the refresh_token grant when the connection holds a refresh token", async () => {
    const issued = em.sessions.issue("other@example.test")
    const conn = new Connection({
      instanceUrl: issued.instanceUrl,
      accessToken: issued.accessToken,
      refreshToken: issued.refreshToken,
      version,
      oauth2: { loginUrl: em.url, clientId: "client-b", clientSecret: "secret-b" }
    })
    em.sessions.expireAll()
    em.backdoor.clearRequestLog()
    await conn.query("SELECT Id FROM Contact")
    expect(conn.accessToken).not.toBe(issued.accessToken)
    expect(em.backdoor.requestLog.map((e) => e.status)).toEqual([401, 200, 200])
  })

  it("rejects an access token revoked by logout", async () => {
    const conn = await login(em)
    const token = conn.accessToken ?? ""
    await conn.logout()
    const stale = new Connection({ instanceUrl: em.url, accessToken: token, version })
    const e = await failure(stale.query("SELECT Id FROM Contact"))
    expect(e.name).toBe("INVALID_SESSION_ID")
  })
})
