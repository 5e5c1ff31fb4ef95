/**
 * Scenario `end-to-end`: a consent change made in one system until every other system holds it.
 *
 * Both emulators run in this process with the limits and latency of the `sync-*` scenarios
 * (Salesforce: 100 ms per request, a daily limit of 100,000; HubSpot: 20 ms, the ten-second burst
 * limit of a Free/Starter private app), each seeded through its backdoor with N persons (even ones
 * subscribed to marketing e-mail, odd ones not), and the adapters point at them with their default
 * options. The sync engine runs over the in-memory stores with both targets: N CRM records are
 * resolved into profiles, one `runOnce` pulls both systems and links every person (not timed), then
 * the engine runs in continuous mode (`engine.cycles`) with the poll interval given.
 *
 * While it runs, changes arrive at random (exponential gaps, seeded) in turn from HubSpot (a status
 * set through its backdoor), from Salesforce (the consent record and the Contact's checkbox changed
 * through its backdoor, as a user editing them would) and through the library's own API (a
 * preference-center choice, `DataSubject.choose`). Each flips one person's marketing e-mail consent.
 * A change's latency runs from the moment it is made until every other system holds the new state,
 * read through the backdoors (HubSpot -> Salesforce, Salesforce -> HubSpot, API -> both), checked
 * every few milliseconds and right after each push returns.
 *
 * Where the time goes: the engine's own spans (`SyncEngine.cycle`, `.pull`, `.diff`, `.push`) are
 * recorded by a tracer, and the adapters' `pull` and `push` are timed around the calls, which splits
 * a pull into the adapter's requests and the engine's resolving of what came back.
 */
import { performance } from "node:perf_hooks"
import {
  type ConsentTarget,
  DataSubject,
  IdentityResolver,
  ProfileStore,
  type SourceRecord,
  SyncEngine,
  SyncStore
} from "@living-profile/core"
import { HubSpotEmulator, SalesforceEmulator } from "@living-profile/emulators"
import { make as makeHubSpot } from "@living-profile/hubspot"
import { type Context, Duration, Effect, Exit, Fiber, Redacted, Scope, Stream, Tracer } from "effect"
import { type BenchResult, median, peakRssMb, percentile, round } from "./stats.js"

/** Options of one end-to-end measurement. */
export interface EndToEndOptions {
  /** Persons in both systems and profiles in the store. */
  readonly records: number
  /** Changes per run. */
  readonly changes: number
  readonly runs: number
  /** The engine's wait between cycles in continuous mode (default 1,000 ms). */
  readonly pollMs?: number
  /** Mean arrival rate of changes, per second (default 5). */
  readonly rate?: number
  /** The HubSpot adapter's `pullSettle` (default: the adapter's, 10 s). */
  readonly pullSettleMs?: number
}

/** Salesforce: as `sync-salesforce` (an Enterprise Edition org's base daily allocation). */
const SF_LATENCY_MS = 100
const SF_DAILY_LIMIT = 100_000
/** HubSpot: as `sync-hubspot` (private app on Free/Starter). */
const HS_LATENCY_MS = 20
const HS_BURST = HubSpotEmulator.DEFAULT_BURST_LIMIT
/** The HubSpot adapter's default `pullSettle`. */
const DEFAULT_PULL_SETTLE_MS = 10_000
/** "Marketing Information", mapped to marketing/email (Salesforce: the Marketing/Email consent record). */
const SUBSCRIPTION = 1001
/** How often outstanding changes are checked through the backdoors. */
const CHECK_EVERY_MS = 5
/** Idle cycles measured before the first change. */
const IDLE_CYCLES = 2
/** The seeded state is this old, so that HubSpot's settle window does not hide it from the first pull. */
const SEED_AGE_MS = 3_600_000

type Origin = "hubspot" | "salesforce" | "api"
const ORIGINS: ReadonlyArray<Origin> = ["hubspot", "salesforce", "api"]

const FIRST = ["Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gul", "Hugo", "Ines", "Jon"]
const LAST = ["Akin", "Berg", "Cruz", "Dahl", "Egan", "Faro", "Gray", "Holm", "Ivey", "Joss"]

interface Person {
  readonly i: number
  readonly email: string
  readonly firstName: string
  readonly lastName: string
  readonly contactId: string
  readonly consentId: string
  readonly crm: SourceRecord.RecordRef
  /** Whether the person is subscribed now (what the last change asked for). */
  granted: boolean
}

interface Change {
  readonly k: number
  readonly origin: Origin
  readonly person: Person
  readonly to: boolean
  readonly madeAt: number
  /** The systems that must hold it (every other one). */
  readonly awaits: ReadonlyArray<"hubspot" | "salesforce">
  heldAt?: number
}

interface SpanRecord {
  readonly name: string
  readonly target: string | undefined
  readonly start: number
  end: number
}

interface Call {
  readonly target: string
  readonly op: "pull" | "push"
  readonly start: number
  readonly end: number
}

interface CycleRecord {
  readonly start: number
  readonly end: number
  readonly applied: number
}

/** A tracer that keeps the start and end (performance.now) of the engine's spans. */
const recordingTracer = (spans: Array<SpanRecord>): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, _startTime, kind, options) => {
      const attributes = new Map<string, unknown>(Object.entries(options?.attributes ?? {}))
      const target = attributes.get("target")
      const record: SpanRecord = {
        name,
        target: typeof target === "string" ? target : undefined,
        start: performance.now(),
        end: Number.NaN
      }
      if (name.startsWith("SyncEngine.")) spans.push(record)
      let status: Tracer.SpanStatus = { _tag: "Started", startTime: BigInt(Math.round(record.start * 1e6)) }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `s${spans.length}`,
        traceId: "bench",
        parent,
        context: context as Context.Context<never>,
        get status() {
          return status
        },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime, exit) => {
          record.end = performance.now()
          status = { _tag: "Ended", startTime: status.startTime, endTime, exit }
        },
        attribute: (key, value) => {
          attributes.set(key, value)
        },
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

/** The target with its `pull` and `push` calls timed, and a hook after every push. */
const timed = (
  target: ConsentTarget.ConsentTarget,
  calls: Array<Call>,
  afterPush: () => void
): ConsentTarget.ConsentTarget => {
  const around = <A, E>(op: Call["op"], effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const start = performance.now()
      return Effect.ensuring(
        effect,
        Effect.sync(() => {
          calls.push({ target: target.name, op, start, end: performance.now() })
          if (op === "push") afterPush()
        })
      )
    })
  return {
    ...target,
    pull: (cursor) => around("pull", target.pull(cursor)),
    push: (diffs) => around("push", target.push(diffs))
  }
}

/** A small seeded PRNG (mulberry32). */
const prng = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

type SalesforceAdapter = typeof import("@living-profile/salesforce")

interface RunMeasurement {
  readonly changes: ReadonlyArray<Change>
  /** First change made until the last one held, seconds. */
  readonly seconds: number
  /** The cycles from the first change on. */
  readonly cycles: ReadonlyArray<CycleRecord>
  /** Cycles before the first change, with nothing to pull or push. */
  readonly idleCycles: ReadonlyArray<CycleRecord>
  readonly spans: ReadonlyArray<SpanRecord>
  readonly calls: ReadonlyArray<Call>
  /** Data API requests to Salesforce and requests to HubSpot in each idle cycle. */
  readonly sfRequestsPerIdleCycle: ReadonlyArray<number>
  readonly hsRequestsPerIdleCycle: ReadonlyArray<number>
  readonly http429: number
}

const measure = async (
  adapter: SalesforceAdapter,
  o: Required<EndToEndOptions>,
  run: number
): Promise<RunMeasurement> => {
  const n = o.records
  const setupStart = performance.now()
  const sf = await SalesforceEmulator.start({
    latencyMs: SF_LATENCY_MS,
    dailyLimit: SF_DAILY_LIMIT,
    requestLogLimit: 1_000_000
  })
  const hs = await HubSpotEmulator.start({ latencyMs: HS_LATENCY_MS, burstLimit: HS_BURST })
  const scope = Effect.runSync(Scope.make())
  let engineFiber: Fiber.RuntimeFiber<void, unknown> | undefined
  let checker: ReturnType<typeof setInterval> | undefined
  try {
    // -- Both systems hold every person, as their users would have set them up an hour ago.
    const seededAt = Date.now() - SEED_AGE_MS
    const seedIso = new Date(seededAt).toISOString()
    const purposeId = String(
      sf.backdoor.insert(
        "DataUsePurpose",
        { Name: "Marketing", CanDataSubjectOptOut: true },
        { at: seededAt }
      )["Id"]
    )
    hs.clock.advance(-SEED_AGE_MS)
    const persons: Array<Person> = []
    for (let i = 0; i < n; i++) {
      const granted = i % 2 === 0
      const email = `person${i}@example.com`
      const firstName = FIRST[i % FIRST.length]!
      const lastName = `${LAST[Math.floor(i / FIRST.length) % LAST.length]!}-${i}`
      const individual = sf.backdoor.insert(
        "Individual",
        { FirstName: firstName, LastName: lastName },
        { at: seededAt }
      )
      const contact = sf.backdoor.insert(
        "Contact",
        {
          FirstName: firstName,
          LastName: lastName,
          Email: email,
          IndividualId: individual["Id"],
          HasOptedOutOfEmail: !granted
        },
        { at: seededAt }
      )
      const consent = sf.backdoor.insert(
        "ContactPointTypeConsent",
        {
          Name: "Marketing Email",
          PartyId: individual["Id"],
          DataUsePurposeId: purposeId,
          ContactPointType: "Email",
          PrivacyConsentStatus: granted ? "OptIn" : "OptOut",
          CaptureDate: seedIso,
          EffectiveFrom: seedIso,
          CaptureSource: "crm"
        },
        { at: seededAt }
      )
      hs.backdoor.upsertContact({ email, firstname: firstName, lastname: lastName }, { modifiedAt: seededAt })
      hs.backdoor.setSubscription(email, SUBSCRIPTION, granted ? "SUBSCRIBED" : "UNSUBSCRIBED", {
        at: seededAt,
        legalBasis: "CONSENT_WITH_NOTICE",
        source: "crm"
      })
      persons.push({
        i,
        email,
        firstName,
        lastName,
        contactId: String(contact["Id"]),
        consentId: String(consent["Id"]),
        crm: { source: "crm", id: `C-${i}` },
        granted
      })
    }
    hs.clock.advance(SEED_AGE_MS)

    // -- What the systems hold, through the backdoors.
    const sfHolds = (p: Person, granted: boolean): boolean => {
      const consent = sf.backdoor.get("ContactPointTypeConsent", p.consentId)
      const contact = sf.backdoor.get("Contact", p.contactId)
      return (
        consent?.["PrivacyConsentStatus"] === (granted ? "OptIn" : "OptOut") &&
        contact?.["HasOptedOutOfEmail"] === !granted
      )
    }
    const hsHolds = (p: Person, granted: boolean): boolean =>
      hs.backdoor.subscriptions(p.email).find((s) => s.subscriptionId === String(SUBSCRIPTION))?.status ===
      (granted ? "SUBSCRIBED" : "UNSUBSCRIBED")

    const outstanding = new Set<Change>()
    const check = () => {
      if (outstanding.size === 0) return
      const now = performance.now()
      for (const c of outstanding) {
        const held = c.awaits.every((s) => (s === "salesforce" ? sfHolds : hsHolds)(c.person, c.to))
        if (held) {
          c.heldAt = now
          outstanding.delete(c)
        }
      }
    }

    // -- The adapters with their defaults (the HubSpot settle window as given), timed.
    const calls: Array<Call> = []
    const spans: Array<SpanRecord> = []
    const c = sf.credentials
    const sfAdapter = await Effect.runPromise(
      Scope.extend(
        adapter.make({
          loginUrl: sf.url,
          auth: {
            type: "password",
            username: c.username,
            password: Redacted.make(c.password),
            clientId: c.clientId,
            clientSecret: Redacted.make(c.clientSecret)
          }
        }),
        scope
      )
    )
    const hsAdapter = await Effect.runPromise(
      makeHubSpot({
        accessToken: Redacted.make(hs.token),
        basePath: hs.url,
        subscriptions: [
          { purpose: "marketing", subscriptionId: SUBSCRIPTION, name: "Marketing Information" }
        ],
        pullSettle: Duration.millis(o.pullSettleMs)
      })
    )
    const targets = [timed(sfAdapter.target, calls, check), timed(hsAdapter.target, calls, check)]

    // -- The library: the CRM's persons resolved into profiles, the engine over the memory stores.
    const store = ProfileStore.makeMemory()
    const resolver = await Effect.runPromise(
      IdentityResolver.make.pipe(Effect.provideService(ProfileStore.ProfileStore, store))
    )
    await Effect.runPromise(
      resolver.ingest(
        persons.map((p) => ({
          source: "crm",
          id: p.crm.id,
          identifiers: { email: [p.email] },
          attributes: { firstName: p.firstName, lastName: p.lastName }
        }))
      )
    )
    const engine = await Effect.runPromise(
      SyncEngine.make({ targets, pollInterval: Duration.millis(o.pollMs) }).pipe(
        Effect.provideService(SyncStore.SyncStore, SyncStore.makeMemory()),
        Effect.provideService(ProfileStore.ProfileStore, store),
        Effect.provideService(IdentityResolver.IdentityResolver, resolver)
      )
    )
    // One cycle puts everything in place: both systems pulled, every person linked, nothing to push.
    const first = await Effect.runPromise(engine.runOnce())
    const pulled = first.pulls.map((p) => `${p.source} ${p.changes} changes/${p.events} events`).join(", ")
    const pushed = first.outcomes.filter((x) => x.outcome === "applied").length
    if (first.pending > 0 || first.deadLetters > 0 || first.pulls.some((p) => p.error !== undefined))
      throw new Error(`end-to-end: the first sync did not settle (${pulled}; ${first.pending} pending)`)
    const profiles = Effect.runSync(store.stats).profiles
    if (profiles !== n)
      throw new Error(`end-to-end: ${n} persons became ${profiles} profiles after the first sync (${pulled})`)
    process.stderr.write(
      `end-to-end run ${run}: ${n} persons in place (${pulled}, ${pushed} pushed) in ${((performance.now() - setupStart) / 1000).toFixed(1)} s\n`
    )

    // -- Continuous mode, as a deployment runs it.
    const cycles: Array<CycleRecord> = []
    spans.length = 0
    calls.length = 0
    const loop = Stream.runForEach(engine.cycles(), (report) =>
      Effect.sync(() => {
        // The tracer's span of the cycle is precise; the report's instants are whole milliseconds.
        const span = [...spans].reverse().find((s) => s.name === "SyncEngine.cycle" && !Number.isNaN(s.end))
        const fromReport = (iso: string) => Date.parse(iso) - performance.timeOrigin
        cycles.push({
          start: span?.start ?? fromReport(report.startedAt),
          end: span?.end ?? fromReport(report.finishedAt),
          applied: report.outcomes.filter((x) => x.outcome === "applied").length
        })
      })
    ).pipe(Effect.withTracer(recordingTracer(spans)))
    // The first cycles of the loop find nothing to pull or push (the first sync did it all): the
    // idle cost of polling, and the adapters in steady state before the first change.
    sf.backdoor.clearRequestLog()
    hs.backdoor.clearRequestLog()
    engineFiber = Effect.runFork(loop)
    while (cycles.length < IDLE_CYCLES) await sleep(10)
    const idleCycles = cycles.slice(0, IDLE_CYCLES)
    const cyclesFrom = cycles.length
    checker = setInterval(check, CHECK_EVERY_MS)

    // -- The changes.
    const random = prng(7 + run)
    const changes: Array<Change> = []
    let next = 0
    const pick = (): Person => {
      // The next person without a change in flight (so that no change overtakes another).
      for (let tries = 0; tries < n; tries++) {
        const p = persons[(next * 7919) % n]!
        next++
        if (![...outstanding].some((x) => x.person === p)) return p
      }
      throw new Error("end-to-end: every person has a change in flight; use more --records")
    }
    for (let k = 0; k < o.changes; k++) {
      await sleep((-Math.log(1 - random()) * 1000) / o.rate)
      const origin = ORIGINS[k % ORIGINS.length]!
      const person = pick()
      const to = !person.granted
      const madeAt = performance.now()
      if (origin === "hubspot") {
        hs.backdoor.setSubscription(person.email, SUBSCRIPTION, to ? "SUBSCRIBED" : "UNSUBSCRIBED", {
          legalBasis: "CONSENT_WITH_NOTICE",
          source: "hubspot-user"
        })
      } else if (origin === "salesforce") {
        const at = new Date().toISOString()
        sf.backdoor.update("ContactPointTypeConsent", person.consentId, {
          PrivacyConsentStatus: to ? "OptIn" : "OptOut",
          CaptureDate: at,
          EffectiveFrom: at,
          CaptureSource: "salesforce-user"
        })
        sf.backdoor.update("Contact", person.contactId, { HasOptedOutOfEmail: !to })
      } else {
        const profileId = await Effect.runPromise(resolver.profileIdOf(person.crm))
        await Effect.runPromise(
          DataSubject.choose(
            profileId,
            {
              purpose: "marketing",
              channel: "email",
              status: to ? "granted" : "withdrawn",
              legalBasis: "consent"
            },
            { actor: "bench via preference center" }
          ).pipe(Effect.provideService(ProfileStore.ProfileStore, store))
        )
      }
      person.granted = to
      const change: Change = {
        k,
        origin,
        person,
        to,
        madeAt,
        awaits:
          origin === "hubspot"
            ? ["salesforce"]
            : origin === "salesforce"
              ? ["hubspot"]
              : ["salesforce", "hubspot"]
      }
      changes.push(change)
      outstanding.add(change)
    }
    // Every change must arrive: HubSpot's settle window, then a few cycles.
    const deadline = performance.now() + o.pullSettleMs + 10 * o.pollMs + 60_000
    while (outstanding.size > 0 && performance.now() < deadline) await sleep(20)
    clearInterval(checker)
    checker = undefined
    if (outstanding.size > 0) {
      const stuck = [...outstanding].map((x) => `${x.origin}#${x.k}`).join(", ")
      throw new Error(`end-to-end: ${outstanding.size} of ${o.changes} changes never arrived (${stuck})`)
    }
    const lastHeld = Math.max(...changes.map((x) => x.heldAt!))
    const firstMade = changes[0]!.madeAt
    // Let the cycle in flight end, so that its spans are complete.
    const endedBefore = cycles.length
    const waitUntil = performance.now() + 4 * o.pollMs + 30_000
    while (cycles.length === endedBefore && performance.now() < waitUntil) await sleep(10)
    await Effect.runPromise(Fiber.interrupt(engineFiber))
    engineFiber = undefined

    // Every person holds their last state in both systems: exactly one consent record per person.
    const byParty = new Map<string, number>()
    for (const r of sf.backdoor.query("ContactPointTypeConsent"))
      byParty.set(String(r["PartyId"]), (byParty.get(String(r["PartyId"])) ?? 0) + 1)
    const wrong = persons.filter((p) => !sfHolds(p, p.granted) || !hsHolds(p, p.granted))
    if (wrong.length > 0 || [...byParty.values()].some((count) => count !== 1))
      throw new Error(`end-to-end: ${wrong.length} persons do not hold their last state in both systems`)
    const dead = await Effect.runPromise(engine.deadLetters)
    if (dead.length > 0) throw new Error(`end-to-end: ${dead.length} dead letters`)

    // Requests per idle cycle, by the emulators' request logs (arrival instants in wall time).
    const toWall = (t: number) => performance.timeOrigin + t
    const sfLog = sf.backdoor.requestLog.filter((e) => e.path.startsWith("/services/data/"))
    const hsLog = hs.backdoor.requestLog
    const within = (at: string, cy: CycleRecord) => {
      const t = Date.parse(at)
      return t >= Math.floor(toWall(cy.start)) && t <= toWall(cy.end)
    }
    return {
      changes,
      seconds: (lastHeld - firstMade) / 1000,
      cycles: cycles.slice(cyclesFrom),
      idleCycles,
      spans: [...spans],
      calls: [...calls],
      sfRequestsPerIdleCycle: idleCycles.map((cy) => sfLog.filter((e) => within(e.at, cy)).length),
      hsRequestsPerIdleCycle: idleCycles.map((cy) => hsLog.filter((e) => within(e.at, cy)).length),
      http429: hsLog.filter((e) => e.status === 429).length + sfLog.filter((e) => e.status === 429).length
    }
  } finally {
    if (checker !== undefined) clearInterval(checker)
    if (engineFiber !== undefined) await Effect.runPromise(Fiber.interrupt(engineFiber))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await sf.close()
    await hs.close()
  }
}

/** Stage durations of one cycle, milliseconds (undefined: the stage did not run in it). */
interface Stages {
  readonly cycle: number
  readonly sfPull: number | undefined
  readonly sfPullAdapter: number | undefined
  readonly hsPull: number | undefined
  readonly hsPullAdapter: number | undefined
  readonly diff: number | undefined
  readonly sfPush: number | undefined
  readonly sfPushAdapter: number | undefined
  readonly hsPush: number | undefined
  readonly hsPushAdapter: number | undefined
}

const stagesOf = (m: RunMeasurement, cy: CycleRecord): Stages => {
  const inside = <T extends { readonly start: number; readonly end: number }>(xs: ReadonlyArray<T>) =>
    xs.filter((x) => x.start >= cy.start - 0.01 && x.end <= cy.end + 0.01)
  const spans = inside(m.spans)
  const calls = inside(m.calls)
  const sum = (xs: ReadonlyArray<{ readonly start: number; readonly end: number }>) =>
    xs.length === 0 ? undefined : xs.reduce((s, x) => s + (x.end - x.start), 0)
  const span = (name: string, target?: string) =>
    sum(spans.filter((s) => s.name === name && (target === undefined || s.target === target)))
  const call = (op: Call["op"], target: string) =>
    sum(calls.filter((c) => c.op === op && c.target === target))
  return {
    cycle: cy.end - cy.start,
    sfPull: span("SyncEngine.pull", "salesforce"),
    sfPullAdapter: call("pull", "salesforce"),
    hsPull: span("SyncEngine.pull", "hubspot"),
    hsPullAdapter: call("pull", "hubspot"),
    diff: span("SyncEngine.diff"),
    sfPush: span("SyncEngine.push", "salesforce"),
    sfPushAdapter: call("push", "salesforce"),
    hsPush: span("SyncEngine.push", "hubspot"),
    hsPushAdapter: call("push", "hubspot")
  }
}

const medianOf = (xs: ReadonlyArray<number | undefined>): number | undefined => {
  const defined = xs.filter((x): x is number => x !== undefined)
  return defined.length === 0 ? undefined : round(median(defined), 1)
}

/** Runs the scenario and returns its result line. */
export const runEndToEnd = async (options: EndToEndOptions): Promise<Array<BenchResult>> => {
  const o: Required<EndToEndOptions> = {
    pollMs: 1_000,
    rate: 5,
    pullSettleMs: DEFAULT_PULL_SETTLE_MS,
    ...options
  }
  const positive = (x: number) => Number.isInteger(x) && x >= 1
  if (!(positive(o.records) && positive(o.changes) && positive(o.runs)))
    throw new Error("end-to-end: --records, --changes and --runs must be positive integers")
  if (o.changes > o.records) throw new Error("end-to-end: --changes must not exceed --records")
  if (!(o.pollMs >= 0 && o.rate > 0 && o.pullSettleMs >= 0))
    throw new Error("end-to-end: --poll-ms and --pull-settle-ms must be >= 0 and --rate > 0")
  // jsforce reads these when its transport module loads and would send loopback calls through the
  // proxy: the adapter (and with it jsforce) is imported only after they are gone.
  for (const v of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) delete process.env[v]
  const adapter = await import("@living-profile/salesforce")

  const runs: Array<RunMeasurement> = []
  for (let k = 1; k <= o.runs; k++) {
    const m = await measure(adapter, o, k)
    runs.push(m)
    const ms = m.changes.map((c) => c.heldAt! - c.madeAt)
    process.stderr.write(
      `end-to-end run ${k}: ${m.changes.length} changes in ${m.seconds.toFixed(1)} s, p50 ${median(ms).toFixed(0)} ms, p99 ${percentile(ms, 0.99).toFixed(0)} ms, ${m.cycles.length} cycles\n`
    )
  }

  const all = runs.flatMap((m) => m.changes)
  const latency = (c: Change) => c.heldAt! - c.madeAt
  const ms = all.map(latency)
  const of = (origin: Origin) => all.filter((c) => c.origin === origin).map(latency)
  // The cycle that delivered a change: the one running when the last awaited system held it.
  const carrying = (m: RunMeasurement, c: Change) =>
    m.cycles.find((cy) => cy.start <= c.heldAt! && c.heldAt! <= cy.end + CHECK_EVERY_MS + 5)
  const inCycle: Array<number> = []
  const before: Array<number> = []
  for (const m of runs)
    for (const c of m.changes) {
      const cy = carrying(m, c)
      if (cy === undefined) continue
      const startedAt = Math.max(cy.start, c.madeAt)
      inCycle.push(c.heldAt! - startedAt)
      before.push(startedAt - c.madeAt)
    }
  const active = runs.flatMap((m) => m.cycles.filter((cy) => cy.applied > 0).map((cy) => stagesOf(m, cy)))
  const idle = runs.flatMap((m) => m.idleCycles.map((cy) => stagesOf(m, cy)))
  const stage = (pick: (s: Stages) => number | undefined) => medianOf(active.map(pick))
  const stageFigures = {
    sfPullMs: stage((s) => s.sfPull),
    sfPullAdapterMs: stage((s) => s.sfPullAdapter),
    hsPullMs: stage((s) => s.hsPull),
    hsPullAdapterMs: stage((s) => s.hsPullAdapter),
    diffMs: stage((s) => s.diff),
    sfPushMs: stage((s) => s.sfPush),
    sfPushAdapterMs: stage((s) => s.sfPushAdapter),
    hsPushMs: stage((s) => s.hsPush),
    hsPushAdapterMs: stage((s) => s.hsPushAdapter)
  }
  // Stages in the order a change meets them; pulls split into the adapter's requests and the
  // engine's resolving of what came back, pushes into the adapter and the acknowledgements.
  const named: ReadonlyArray<readonly [string, number | undefined]> = [
    ["salesforce pull (adapter requests)", stageFigures.sfPullAdapterMs],
    [
      "salesforce pull (engine: resolve, events)",
      stage((s) => (s.sfPull === undefined ? undefined : s.sfPull - (s.sfPullAdapter ?? 0)))
    ],
    ["hubspot pull (adapter requests)", stageFigures.hsPullAdapterMs],
    [
      "hubspot pull (engine: resolve, events)",
      stage((s) => (s.hsPull === undefined ? undefined : s.hsPull - (s.hsPullAdapter ?? 0)))
    ],
    ["diff (every profile)", stageFigures.diffMs],
    ["salesforce push (adapter requests)", stageFigures.sfPushAdapterMs],
    ["hubspot push (adapter requests)", stageFigures.hsPushAdapterMs]
  ]
  const slowest = named.reduce((a, b) => ((b[1] ?? -1) > (a[1] ?? -1) ? b : a))
  const seconds = median(runs.map((m) => m.seconds))
  const sfIdle = median(runs.flatMap((m) => m.sfRequestsPerIdleCycle))
  const hsIdle = median(runs.flatMap((m) => m.hsRequestsPerIdleCycle))
  const cycleMs = median(runs.flatMap((m) => m.cycles.map((cy) => cy.end - cy.start)))
  const p = (xs: ReadonlyArray<number>, q: number) =>
    xs.length === 0 ? undefined : Math.round(percentile(xs, q))
  return [
    {
      scenario: "end-to-end",
      dataset: "emulators",
      records: o.records,
      runs: o.runs,
      changes: o.changes,
      medianSeconds: round(seconds),
      perSecond: round(o.changes / seconds, 2),
      peakRssMb: peakRssMb(),
      p50Ms: Math.round(median(ms)),
      p99Ms: p(ms, 0.99),
      p50MsHubspotToSalesforce: p(of("hubspot"), 0.5),
      p50MsSalesforceToHubspot: p(of("salesforce"), 0.5),
      p50MsApiToBoth: p(of("api"), 0.5),
      p99MsHubspotToSalesforce: p(of("hubspot"), 0.99),
      p99MsSalesforceToHubspot: p(of("salesforce"), 0.99),
      p99MsApiToBoth: p(of("api"), 0.99),
      maxMs: Math.round(Math.max(...ms)),
      waitP50Ms: p(before, 0.5),
      inCycleP50Ms: p(inCycle, 0.5),
      pollIntervalMs: o.pollMs,
      pullSettleMs: o.pullSettleMs,
      offeredPerSecond: o.rate,
      scan: "all",
      cycles: runs.reduce((s, m) => s + m.cycles.length, 0),
      activeCycles: active.length,
      cycleMedianMs: round(cycleMs, 1),
      activeCycleMedianMs: medianOf(active.map((s) => s.cycle)),
      idleCycleMedianMs: medianOf(idle.map((s) => s.cycle)),
      ...stageFigures,
      slowestStage: slowest[0],
      slowestStageMs: slowest[1],
      sfRequestsPerIdleCycle: sfIdle,
      hsRequestsPerIdleCycle: hsIdle,
      // The shortest poll interval whose idle cycles alone stay within Salesforce's daily limit.
      sfDailyLimitPollFloorSeconds: round((86_400 * sfIdle) / SF_DAILY_LIMIT, 1),
      http429: runs.reduce((s, m) => s + m.http429, 0),
      sfLatencyMs: SF_LATENCY_MS,
      hsLatencyMs: HS_LATENCY_MS,
      dailyLimit: SF_DAILY_LIMIT,
      burstLimit: `${HS_BURST.max}/${HS_BURST.windowMs / 1000}s`
    }
  ]
}
