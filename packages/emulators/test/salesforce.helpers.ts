/**
 * Shared setup of the Salesforce emulator tests: the real jsforce, loaded only after the proxy
 * variables are cleared (jsforce reads them when its transport module loads and would route
 * loopback calls through the proxy), and helpers to start an emulator and log in.
 */
import type { Connection as JsforceConnection } from "@jsforce/jsforce-node"
import { type SalesforceEmulator, type StartOptions, start } from "../src/salesforce/index.js"

for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "HTTP_TIMEOUT"])
  delete process.env[name]

/** The real jsforce Connection class (Node build 3.10.16). */
export const { Connection } = await import("@jsforce/jsforce-node")

/** A jsforce connection. */
export type Conn = JsforceConnection

/** The API version every test connection uses (jsforce would default to 50.0). */
export const version = "60.0"

/** Starts an emulator for a test file. */
export const startEmulator = (options: StartOptions = {}): Promise<SalesforceEmulator> => start(options)

/** A connection configured with the emulator's connected app, not yet logged in. */
export const connection = (em: SalesforceEmulator): Conn =>
  new Connection({
    loginUrl: em.url,
    version,
    oauth2: { loginUrl: em.url, clientId: em.credentials.clientId, clientSecret: em.credentials.clientSecret }
  })

/** A connection logged in with the username-password flow. */
export const login = async (em: SalesforceEmulator): Promise<Conn> => {
  const conn = connection(em)
  await conn.login(em.credentials.username, em.credentials.password)
  return conn
}

/** Awaits a promise that must reject and returns the rejection, to assert on its shape. */
export const failure = async (p: PromiseLike<unknown>): Promise<Error & Record<string, unknown>> => {
  try {
    await p
  } catch (e) {
    if (e instanceof Error) return e as Error & Record<string, unknown>
    throw new Error(`rejected with a non-Error: ${String(e)}`)
  }
  throw new Error("expected a rejection, but the promise resolved")
}

/** A unique suffix so records of one test never collide with another's. */
export const unique = (): string => Math.random().toString(36).slice(2, 10)
