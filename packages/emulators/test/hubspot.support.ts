import { Client } from "@hubspot/api-client"
import { type HubSpotEmulator, type StartOptions, start } from "../src/hubspot/index.js"

/** The instant every suite starts its frozen clock at. */
export const T0 = "2026-03-01T12:00:00.000Z"

/** A real SDK client pointed at the emulator; retries off so a 429 surfaces at once. */
export const clientFor = (emulator: HubSpotEmulator, accessToken = emulator.token): Client =>
  new Client({ accessToken, basePath: emulator.url, numberOfApiCallRetries: 0 })

/** Starts an emulator with a frozen clock at T0. */
export const startFrozen = (options: StartOptions = {}): Promise<HubSpotEmulator> =>
  start({ now: T0, ...options })

/** The error a promise rejects with (fails the test when it resolves). */
export const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected the call to fail")
}

/** `n` contact inputs for batch create with distinct e-mails. */
export const createInputs = (n: number, prefix = "person") =>
  Array.from({ length: n }, (_, i) => ({
    properties: { email: `${prefix}${i}@example.com`, firstname: `First${i}` },
    associations: []
  }))
