/**
 * What the tests share: an emulator per test, options pointing the adapter at it, and the kit's
 * backdoor built on the emulator's backdoor (its state, read and written directly: never through
 * the adapter or HTTP).
 */
import type { ConsentLedger, ConsentTarget } from "@living-profile/core"
import { HubSpotEmulator } from "@living-profile/emulators"
import type { Backdoor, Fault, Harness, MakeOptions } from "@living-profile/testkit/ConsentTargetSuite"
import { Duration, Effect, Option, Redacted, type Scope } from "effect"
import { ContactMapper, type HubSpotConfig, make } from "../../src/index.js"

/** A running emulator. */
export type Emulator = HubSpotEmulator.HubSpotEmulator

/** The subscription types the tests map (the emulator's default portal has 1001 to 1003). */
export const SUBSCRIPTIONS: ReadonlyArray<HubSpotConfig.SubscriptionMapping> = [
  { purpose: "marketing", subscriptionId: 1001, name: "Marketing Information" },
  { purpose: "service", subscriptionId: 1003, name: "Customer Service Communication" }
]

/** Retries the tests configure: few and fast, so that exhausting them takes milliseconds. */
export const RETRIES = { maxRetries: 2, baseDelay: Duration.millis(10) } as const

/** An emulator for the current scope, closed when it ends. */
export const emulator = (
  options: HubSpotEmulator.StartOptions = {}
): Effect.Effect<Emulator, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => HubSpotEmulator.start(options)),
    (em) => Effect.promise(() => em.close())
  )

/** Adapter options for an emulator: no settle time (the emulator's search has no lag by default). */
export const optionsFor = (
  em: Emulator,
  overrides: Partial<HubSpotConfig.Options> = {}
): HubSpotConfig.Options => ({
  accessToken: Redacted.make(em.token),
  basePath: em.url,
  subscriptions: SUBSCRIPTIONS,
  pullSettle: 0,
  retry: RETRIES,
  ...overrides
})

const toV4 = (status: ConsentLedger.EffectiveStatus): "SUBSCRIBED" | "UNSUBSCRIBED" => {
  if (status === "granted") return "SUBSCRIBED"
  if (status === "denied" || status === "withdrawn") return "UNSUBSCRIBED"
  throw new RangeError(`HubSpot cannot hold ${status}`)
}

// The kit names attributes as the resolver does; the emulator stores HubSpot property names.
const PROPERTY_OF: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ContactMapper.DEFAULT_ATTRIBUTES).map(([property, attribute]) => [attribute, property])
)

/** The kit's backdoor over an emulator. */
export const kitBackdoor = (em: Emulator, retries: number = RETRIES.maxRetries): Backdoor => {
  const fields = new Set(SUBSCRIPTIONS.map((s) => String(s.subscriptionId)))
  const held = (id: string): Option.Option<ConsentTarget.HeldPerson> => {
    const c = em.backdoor.contact(id)
    if (c === undefined || c.archived) return Option.none()
    const email = c.properties["email"]
    const map = new Map<string, ConsentTarget.HeldField>()
    if (email !== undefined)
      for (const s of em.backdoor.subscriptions(email)) {
        if (!fields.has(s.subscriptionId) || s.status === "NOT_SPECIFIED") continue
        map.set(s.subscriptionId, {
          status: s.status === "SUBSCRIBED" ? "granted" : "denied",
          modifiedAt: s.timestamp
        })
      }
    return Option.some({
      externalId: c.id,
      identifiers: email === undefined ? {} : { email: [email] },
      fields: map
    })
  }
  return {
    read: (id) => Effect.sync(() => held(id)),
    find: (type, value) =>
      Effect.sync(() =>
        type === "email" ? Option.fromNullable(em.backdoor.findByEmail(value)?.id) : Option.none()
      ),
    create: ({ identifiers, attributes }) =>
      Effect.sync(() => {
        const properties: Record<string, string> = {}
        const email = identifiers["email"]?.[0]
        if (email !== undefined) properties["email"] = email
        for (const [name, v] of Object.entries(attributes ?? {})) properties[PROPERTY_OF[name] ?? name] = v
        return em.backdoor.upsertContact(properties).id
      }),
    write: (id, field, status, modifiedAt) =>
      Effect.sync(() => {
        const c = em.backdoor.contact(id)
        const email = c?.properties["email"]
        if (email === undefined) throw new Error("backdoor.write: no contact with an e-mail has this id")
        em.backdoor.setSubscription(email, field, toV4(status), { at: modifiedAt, source: "CONFORMANCE_KIT" })
        // The status keeps the kit's (past) time; the contact records the change now, one
        // millisecond after anything read so far, as a person's change in the live system would.
        // (The emulator's setSubscription alone would move lastmodifieddate back to the past time.)
        em.clock.advance(1)
        em.backdoor.upsertContact({}, { id })
      }),
    faults: ["RateLimited", "Unauthorized", "Transport"],
    failNext: (fault: Fault) =>
      Effect.sync(() => {
        switch (fault._tag) {
          case "RateLimited":
            // A limit the adapter must hand back rather than wait out: the daily one, with a Retry-After.
            em.faults.next({
              status: 429,
              body: {
                status: "error",
                message: "You have reached your daily limit.",
                errorType: "RATE_LIMIT",
                correlationId: "00000000-0000-4000-8000-000000000000",
                policyName: "DAILY"
              },
              headers: { "Retry-After": String(Math.round(Duration.toSeconds(fault.retryAfter))) }
            })
            return
          case "Unauthorized":
            em.faults.next({
              status: 401,
              body: {
                status: "error",
                message: "Authentication credentials not found.",
                correlationId: "00000000-0000-4000-8000-000000000000",
                category: "INVALID_AUTHENTICATION"
              }
            })
            return
          case "Transport":
            // "The next call" of the adapter includes its own retries: every attempt of it drops.
            em.faults.rule({ drop: true, times: retries + 1 })
            return
          case "Item":
            throw new Error("the HubSpot backdoor cannot fail a single item")
        }
      })
  }
}

/** The kit's harness: a fresh emulator, the adapter on it, the backdoor, and a restart. */
export const kitHarness = (o: MakeOptions): Effect.Effect<Harness, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const em = yield* emulator()
    const options = optionsFor(em, o.badCredentials ? { accessToken: Redacted.make("pat-na1-refused") } : {})
    const { target } = yield* make(options)
    return {
      target,
      backdoor: kitBackdoor(em),
      reconnect: () => Effect.map(make(options), (hs) => hs.target)
    }
  })
