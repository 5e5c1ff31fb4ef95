/**
 * Test support: a Salesforce emulator per test (scoped), adapter options for it, and small helpers
 * that write the org's state through the emulator's backdoor (never through the adapter).
 */
import { SalesforceEmulator } from "@living-profile/emulators"
import { Effect, Redacted, type Scope } from "effect"
import type { SalesforceConfig } from "../../src/index.js"

/** A running emulator. */
export type Emulator = SalesforceEmulator.SalesforceEmulator

/** Starts an emulator for the scope. */
export const emulator = (
  options: SalesforceEmulator.StartOptions = {}
): Effect.Effect<Emulator, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => SalesforceEmulator.start(options)),
    (em) => Effect.promise(() => em.close())
  )

/** Adapter options that log in to the emulator with the username-password flow. */
export const optionsFor = (
  em: Emulator,
  overrides: Partial<SalesforceConfig.Options> = {}
): SalesforceConfig.Options => {
  const c = em.credentials
  return {
    loginUrl: em.url,
    auth: {
      type: "password",
      username: c.username,
      password: Redacted.make(c.password),
      clientId: c.clientId,
      clientSecret: Redacted.make(c.clientSecret)
    },
    ...overrides
  }
}

/** Credentials the emulator refuses: its user with a wrong password. */
export const refusedAuth = (em: Emulator): SalesforceConfig.Auth => ({
  type: "password",
  username: em.credentials.username,
  password: Redacted.make("not-the-password"),
  clientId: em.credentials.clientId,
  clientSecret: Redacted.make(em.credentials.clientSecret)
})

/** The same ids whatever their length (15 or 18 characters). */
export const sameId = (a: unknown, b: unknown): boolean =>
  typeof a === "string" && typeof b === "string" && a.slice(0, 15) === b.slice(0, 15)

/** A Contact with an Individual, as someone using the org would make one; returns both ids. */
export const person = (
  em: Emulator,
  fields: Readonly<Record<string, unknown>> = {},
  options: { readonly individual?: boolean } = {}
): { readonly contactId: string; readonly individualId: string | undefined } => {
  const individual =
    options.individual === false ? undefined : em.backdoor.insert("Individual", { LastName: "Tester" })
  const contact = em.backdoor.insert("Contact", {
    LastName: "Tester",
    Email: `p.${Math.random().toString(36).slice(2, 10)}@example.test`,
    ...(individual === undefined ? {} : { IndividualId: individual["Id"] }),
    ...fields
  })
  return {
    contactId: String(contact["Id"]),
    individualId: individual === undefined ? undefined : String(individual["Id"])
  }
}

/** The DataUsePurpose with this name, created if missing. */
export const purpose = (em: Emulator, name: string): string => {
  const found = em.backdoor.query("DataUsePurpose", (r) => r["Name"] === name)[0]
  return String(
    (found ?? em.backdoor.insert("DataUsePurpose", { Name: name, CanDataSubjectOptOut: true }))["Id"]
  )
}

/** The consent records of an Individual. */
export const consentRecords = (em: Emulator, individualId: string) =>
  em.backdoor.query("ContactPointTypeConsent", (r) => sameId(r["PartyId"], individualId))

/** Requests to the data API whose path ends with `suffix`, by method. */
export const requests = (em: Emulator, method: string, suffix: string) =>
  em.backdoor.requestLog.filter((r) => r.method === method && r.path.endsWith(suffix))

/**
 * Calls to the data API whose path ends with `suffix` (or matches a RegExp), by method: requests
 * of their own and subrequests of Composite requests alike, with the status each answered.
 */
export const calls = (
  em: Emulator,
  method: string,
  path: string | RegExp
): ReadonlyArray<{ readonly method: string; readonly path: string; readonly status: number }> =>
  em.backdoor.requestLog
    .flatMap((r) => [r, ...(r.subrequests ?? [])])
    .filter(
      (c) => c.method === method && (typeof path === "string" ? c.path.endsWith(path) : path.test(c.path))
    )

/** Composite requests to the data API, with what each carried. */
export const composites = (em: Emulator) => requests(em, "POST", "/composite")

/**
 * The writes the adapter made: requests other than GET, and the subrequests other than GET of
 * Composite requests (a Composite of queries only writes nothing).
 */
export const writes = (em: Emulator) =>
  em.backdoor.requestLog.flatMap((r) =>
    r.subrequests !== undefined
      ? r.subrequests.filter((s) => s.method !== "GET").map((s) => `${s.method} ${s.path}`)
      : r.method === "GET"
        ? []
        : [`${r.method} ${r.path}`]
  )

/** What each Composite request carried: `POST /composite/sobjects`, `GET /query`, `GET /query/<locator>`... */
export const carried = (em: Emulator) =>
  composites(em).map((r) =>
    (r.subrequests ?? []).map(
      (s) =>
        `${s.method} ${s.path.replace(/^\/services\/data\/v[\d.]+/, "").replace(/\/query\/[^/]+$/, "/query/<locator>")}`
    )
  )
