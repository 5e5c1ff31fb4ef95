/**
 * The whole example in one process: the Salesforce and HubSpot emulators, the living profiles of a
 * sample loaded into the in-memory resolver, the adapters and sync engine pushing consent to the
 * emulators, and the HTTP server. `server.ts` starts it from the command line; the tests start it
 * in-process.
 */
import { randomBytes } from "node:crypto"
import { readFile } from "node:fs/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { IdentityResolver, type ProfileStore, SourceRecord } from "@living-profile/core"
import { HubSpotEmulator, SalesforceEmulator } from "@living-profile/emulators"
import { Duration, Effect, Either, type Exit, ManagedRuntime, Redacted } from "effect"
import * as Center from "./center.js"
import { hubSpotSubscriptions, hubSpotSubscriptionTypes, salesforceConsent } from "./catalogue.js"
import { type Assets, type DomainError, makeHandler } from "./http.js"
import { makeSigner } from "./links.js"

/** How to start the app. */
export interface AppOptions {
  /** Port on 127.0.0.1 (default 0: a free one). */
  readonly port?: number
  /** The NDJSON sample to load (default: the CLI's bundled `customers.ndjson`). */
  readonly samplePath?: string
  /** The link-signing key, at least 32 bytes (default: random per start, so links end with the process). */
  readonly secret?: Redacted.Redacted<Uint8Array>
  /** How long a link is valid (default 24 hours). */
  readonly linkTtl?: Duration.DurationInput
}

/** A running app. */
export interface App {
  /** The server's base URL, `http://127.0.0.1:PORT`. */
  readonly url: string
  /** A signed link to the center of one profile, valid for `linkTtl` (or until `expiresAt`, epoch seconds). */
  readonly linkFor: (profileId: string, expiresAt?: number) => string
  /** The token alone, as the page sends it to the API. */
  readonly tokenFor: (profileId: string, expiresAt?: number) => string
  /** The profile holding a record. */
  readonly profileIdOf: (ref: SourceRecord.RecordRef) => Promise<string>
  /** Ingests records (e.g. the sample again) and says what the store did with them. */
  readonly ingest: (records: ReadonlyArray<SourceRecord.SourceRecord>) => Promise<ProfileStore.WriteResult>
  /** The records of the loaded sample. */
  readonly records: ReadonlyArray<SourceRecord.SourceRecord>
  readonly salesforce: SalesforceEmulator.SalesforceEmulator
  readonly hubspot: HubSpotEmulator.HubSpotEmulator
  /** Stops the server, the runtime (adapters, engine) and the emulators. */
  readonly close: () => Promise<void>
}

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url))

/** The CLI's bundled sample, from `src/` or `dist/` alike (both are one level below the package). */
export const defaultSamplePath = here("../../../packages/cli/samples/customers.ndjson")

/** Reads an NDJSON file; a bad line fails with its location, never its content. */
export const loadRecords = async (path: string): Promise<Array<SourceRecord.SourceRecord>> => {
  const text = await readFile(path, "utf8")
  const records: Array<SourceRecord.SourceRecord> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "") continue
    const decoded = SourceRecord.decodeLine(line, { file: path, line: i + 1 })
    if (Either.isLeft(decoded)) throw decoded.left
    records.push(decoded.right)
  }
  return records
}

const loadAssets = async (): Promise<Assets> => ({
  page: await readFile(here("../public/index.html"), "utf8"),
  script: await readFile(here("../public/app.js"), "utf8"),
  style: await readFile(here("../public/style.css"), "utf8")
})

/** Starts the emulators, loads the sample, pushes it to the emulators once, and serves the center. */
export const startApp = async (options: AppOptions = {}): Promise<App> => {
  const secret = options.secret ?? Redacted.make<Uint8Array>(randomBytes(32))
  const signer = makeSigner(secret)
  const ttlSeconds = Math.floor(Duration.toSeconds(Duration.decode(options.linkTtl ?? "24 hours")))
  const assets = await loadAssets()
  const records = await loadRecords(options.samplePath ?? defaultSamplePath)

  const salesforce = await SalesforceEmulator.start()
  const hubspot = await HubSpotEmulator.start({ subscriptionTypes: hubSpotSubscriptionTypes })
  const sf = salesforce.credentials
  const runtime = ManagedRuntime.make(
    Center.layer({
      salesforce: {
        loginUrl: salesforce.url,
        auth: {
          type: "password",
          username: sf.username,
          password: Redacted.make(sf.password),
          clientId: sf.clientId,
          clientSecret: Redacted.make(sf.clientSecret)
        },
        consent: salesforceConsent,
        requestTimeout: "10 seconds"
      },
      hubspot: {
        accessToken: Redacted.make(hubspot.token),
        basePath: hubspot.url,
        subscriptions: hubSpotSubscriptions,
        requestTimeout: "10 seconds",
        retry: { maxRetries: 2, baseDelay: "100 millis" }
      }
    })
  )
  type Ctx = ManagedRuntime.ManagedRuntime.Context<typeof runtime>
  const run = <A, E>(effect: Effect.Effect<A, E, Ctx>) => runtime.runPromise(effect)
  const runExit = <A, E extends DomainError>(
    effect: Effect.Effect<A, E, Ctx>
  ): Promise<Exit.Exit<A, DomainError>> => runtime.runPromiseExit(effect)

  const stopAll = async () => {
    await runtime.dispose()
    await Promise.all([salesforce.close(), hubspot.close()])
  }

  const server = createServer(
    makeHandler({
      signer,
      assets,
      domain: {
        view: (id) => runExit(Center.view(id)),
        choose: (id, purpose, channel, granted) => runExit(Center.choose(id, purpose, channel, granted)),
        exportProfile: (id) => runExit(Center.exportProfile(id)),
        erase: (id) => runExit(Center.erase(id))
      }
    })
  )
  try {
    await run(Center.ingest(records))
    await run(Center.syncAll)
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve())
    })
  } catch (e) {
    await stopAll()
    throw e
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const expiry = (expiresAt: number | undefined) => expiresAt ?? Math.floor(Date.now() / 1000) + ttlSeconds
  const tokenFor = (profileId: string, expiresAt?: number) => signer.sign(profileId, expiry(expiresAt))

  return {
    url,
    tokenFor,
    linkFor: (profileId, expiresAt) => `${url}/center?t=${tokenFor(profileId, expiresAt)}`,
    profileIdOf: (ref) =>
      run(Effect.flatMap(IdentityResolver.IdentityResolver, (resolver) => resolver.profileIdOf(ref))),
    ingest: (more) => run(Center.ingest(more)),
    records,
    salesforce,
    hubspot,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await stopAll()
    }
  }
}
