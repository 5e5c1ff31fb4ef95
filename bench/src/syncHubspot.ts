/**
 * Scenario `sync-hubspot`: propagation of consent diffs through the HubSpot adapter's target to the
 * HubSpot emulator under the ten-second burst limit (100 requests per 10 s for the private app),
 * with latency on every request and the emulator's clock in real time, so that the limit windows
 * are the wall-clock ones. N contacts are created through the backdoor (not timed); N diffs, one
 * subscription change each, are addressed to them by record id and pushed, once in one
 * `target.push` call and once as 100-diff chunks pushed a few at a time through the same target
 * (one client, one rate limiter). Every diff is checked through the backdoor afterwards.
 *
 * The ceiling: the most diffs per second the burst limit lets *any correct* client propagate
 * here, given what one request can carry and what these diffs need, as for `sync-salesforce`.
 * Each diff names its person by HubSpot record id, while HubSpot keeps subscription statuses per
 * e-mail address: a v4 status write names the address (`subscriberIdString`), and no endpoint
 * writes a status by record id. So a client must learn each person's current address before it
 * writes, and must learn it from the contact record itself: CRM search (200 per request, a limit
 * of its own) answers from an index that lags behind writes (the reason the adapter's pull waits
 * 10 s), so an address changed a moment ago can come back stale, and a status written to an
 * address the contact no longer has leaves the current one as it was (a withdrawal not honoured)
 * and gives the old one a status nobody chose for it. Nothing the diff carries proves
 * the address either (the profile's e-mail is ours, not HubSpot's; a cache of earlier pulls is
 * at least the settle window old), and HubSpot has no conditional write and no request that
 * carries both a read and a write. A contacts batch read carries at most 100 ids and a status
 * batch write at most 100 inputs (HubSpot's batch size for contacts as the spec quotes it, which
 * the emulator enforces for both; the spec marks v4's own limit unverified: were it larger, the
 * writes would cost less and the ceiling would rise towards the reads' 1,000/s), so no correct
 * client needs fewer than k = P / 100 + S / 100 requests for S status writes to P persons, and
 * the ceiling is N / k x (max / window): here S = P = N, 50 diffs per request at 10 requests/s,
 * **500 diffs/s**.
 * The adapter sends exactly that (one batch read, one batch write per 100 diffs) within its
 * budget of 90 of the 100 requests per window, so a sustained push tops out at 90%.
 *
 * (Until the read was counted the ceiling was 100 / 10 s x 100 records = 1,000/s, one request per
 * 100 diffs: what a client that wrote to addresses it had not checked could reach, not what the
 * limit allows a correct one; against it the same push showed about 45%. The daily limit,
 * 250,000 requests for Free/Starter, is not what this measures: sustained all day it allows
 * 2.9 requests/s, 145 diffs/s.)
 */
import { ConsentTarget } from "@living-profile/core"
import { HubSpotEmulator } from "@living-profile/emulators"
import { make } from "@living-profile/hubspot"
import { Effect, Redacted } from "effect"
import { type BenchResult, median, peakRssMb, alternate, round, type Variant } from "./stats.js"

/** Options of one sync-hubspot measurement. */
export interface SyncHubspotOptions {
  /** Number of contacts, and of diffs (one change each). */
  readonly records: number
  readonly runs: number
  /** Latency the emulator adds to every request (default 20 ms). */
  readonly latencyMs?: number
  /** Chunks pushed at once in the concurrent variant (default 4). */
  readonly concurrency?: number
}

/** The burst limit configured on the emulator: HubSpot's for a private app on Free/Starter. */
const BURST = HubSpotEmulator.DEFAULT_BURST_LIMIT
/** Inputs per HubSpot batch call (contacts, v4 statuses). */
const BATCH = 100

/**
 * The fewest requests any correct client needs for the first n diffs (see the module doc): a
 * contacts batch read per 100 persons, for their current e-mail address, and a status batch write
 * per 100 statuses (one diff, one person, one status each here).
 */
const minRequests = (n: number): number => n / BATCH + n / BATCH
/** The subscription type the diffs change (the emulator portal's "Marketing Information"). */
const SUBSCRIPTION = "1001"
const CAPTURED = Date.parse("2025-06-01T00:00:00Z")

interface Measurement {
  readonly seconds: number
  /** Requests that reached the emulator during the push, 429s included. */
  readonly requests: number
  readonly http429: number
  /** Requests the burst limit counted (answered with anything but 429). */
  readonly counted: number
  /**
   * Counted requests per second over the whole ten-second windows from the first request's
   * arrival (undefined for a push shorter than one window): the rate in steady state, without the
   * requests of the last, partly used window, which a finite push gets on top.
   */
  readonly steadyRequestsPerSecond: number | undefined
  readonly retries: number
  readonly limiterWaits: number
}

const chunksOf = <A>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

const emailOf = (i: number): string => `person${i}@example.com`

/** Even persons are subscribed and unsubscribe; odd ones have no status yet and subscribe. */
const wanted = (i: number): "granted" | "denied" => (i % 2 === 0 ? "denied" : "granted")

const diffFor = (target: string, i: number, externalId: string): ConsentTarget.TargetDiff => {
  const to = wanted(i)
  return ConsentTarget.address(
    {
      profileId: `p${i}`,
      target,
      changes: [
        {
          key: "marketing/email",
          field: SUBSCRIPTION,
          from: to === "denied" ? "granted" : null,
          to,
          because: {
            status: to,
            capturedAt: new Date(CAPTURED - i * 1000).toISOString(),
            source: "web",
            eventId: `e${i}`,
            legalBasis: "consent"
          }
        }
      ]
    },
    { externalId }
  )
}

const measure = async (
  n: number,
  variant: Variant,
  latencyMs: number,
  concurrency: number
): Promise<Measurement> => {
  // A fresh emulator (empty burst window, real-time clock) and adapter (empty limiter) per run.
  const em = await HubSpotEmulator.start({ latencyMs, burstLimit: BURST })
  try {
    const ids: Array<string> = new Array(n)
    for (let i = 0; i < n; i++) {
      const email = emailOf(i)
      ids[i] = em.backdoor.upsertContact({ email, firstname: "Person", lastname: `P${i}` }).id
      if (wanted(i) === "denied") em.backdoor.setSubscription(email, SUBSCRIPTION, "SUBSCRIBED")
    }
    const { target, client } = await Effect.runPromise(
      make({
        accessToken: Redacted.make(em.token),
        basePath: em.url,
        subscriptions: [
          { purpose: "marketing", subscriptionId: SUBSCRIPTION, name: "Marketing Information" }
        ],
        pullSettle: 0
      })
    )
    const diffs = ids.map((id, i) => diffFor(target.name, i, id))
    const push =
      variant === "single"
        ? target.push(diffs)
        : Effect.map(
            Effect.forEach(chunksOf(diffs, BATCH), (chunk) => target.push(chunk), { concurrency }),
            (rs) => rs.flat()
          )
    em.backdoor.clearRequestLog()
    const before = client.stats()
    const t0 = process.hrtime.bigint()
    const results = await Effect.runPromise(push)
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    // The emulator's clock follows wall time: its arrival stamps compare with Date.now().
    const endedAt = Date.now()
    const after = client.stats()
    const log = em.backdoor.requestLog

    const notApplied = results.filter((r) => r._tag !== "Applied")
    if (results.length !== n || notApplied.length > 0) {
      const first = notApplied[0]
      const why =
        first === undefined
          ? `${results.length} results`
          : first._tag === "Rejected"
            ? first.reason
            : first._tag === "Failed"
              ? first.error.message
              : ""
      throw new Error(`sync-hubspot: ${notApplied.length} of ${n} diffs not applied (${why})`)
    }
    // Applied must mean held: read every status back through the backdoor.
    let held = 0
    for (let i = 0; i < n; i++) {
      const s = em.backdoor.subscriptions(emailOf(i)).find((x) => x.subscriptionId === SUBSCRIPTION)
      if (s?.status === (wanted(i) === "granted" ? "SUBSCRIBED" : "UNSUBSCRIBED")) held++
    }
    if (held !== n) throw new Error(`sync-hubspot: HubSpot holds ${held} of ${n} pushed statuses`)
    const http429 = log.filter((e) => e.status === 429).length
    const arrivals = log.filter((e) => e.status !== 429).map((e) => Date.parse(e.at))
    const first = arrivals.length === 0 ? endedAt : Math.min(...arrivals)
    const windows = Math.floor((endedAt - first) / BURST.windowMs)
    const inWindows = arrivals.filter((t) => t < first + windows * BURST.windowMs).length
    return {
      seconds,
      requests: log.length,
      http429,
      counted: log.length - http429,
      steadyRequestsPerSecond: windows === 0 ? undefined : inWindows / ((windows * BURST.windowMs) / 1000),
      retries: after.retries - before.retries,
      limiterWaits: after.standard.waited - before.standard.waited
    }
  } finally {
    await em.close()
  }
}

/** Runs the scenario and returns its result line (the faster variant, the other as figures). */
export const runSyncHubspot = async (o: SyncHubspotOptions): Promise<Array<BenchResult>> => {
  const n = o.records
  const latencyMs = o.latencyMs ?? 20
  const concurrency = o.concurrency ?? 4
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(o.runs) && o.runs >= 1))
    throw new Error("sync-hubspot: --records and --runs must be positive integers")
  const runs = await alternate(
    o.runs,
    (v) => measure(n, v, latencyMs, concurrency),
    (v, k, m) =>
      `sync-hubspot ${v} run ${k}: ${m.seconds.toFixed(2)} s, ${m.requests} requests, ${m.http429} x 429`
  )

  const windowSeconds = BURST.windowMs / 1000
  const fewest = minRequests(n)
  const ceilingPerSecond = (BURST.max / windowSeconds) * (n / fewest)
  const summary = (v: Variant) => {
    const ms = runs[v]
    const seconds = median(ms.map((m) => m.seconds))
    const requests = median(ms.map((m) => m.requests))
    const http429 = ms.reduce((s, m) => s + m.http429, 0)
    const perSecond = n / seconds
    const counted = median(ms.map((m) => m.counted))
    const steady = ms.flatMap((m) =>
      m.steadyRequestsPerSecond === undefined ? [] : [m.steadyRequestsPerSecond]
    )
    // Records per counted request times the steady request rate.
    const steadyPerSecond = steady.length === 0 ? undefined : median(steady) * (n / counted)
    return {
      variant: v,
      medianSeconds: round(seconds),
      perSecond: Math.round(perSecond),
      requests,
      http429,
      shareOfCeiling: round(perSecond / ceilingPerSecond),
      requestsPerSecond: round(counted / seconds, 2),
      shareOfRequestCeiling: round(counted / seconds / (BURST.max / windowSeconds)),
      ...(steadyPerSecond === undefined
        ? {}
        : {
            steadyPerSecond: Math.round(steadyPerSecond),
            steadyShareOfCeiling: round(steadyPerSecond / ceilingPerSecond)
          }),
      retries: ms.reduce((s, m) => s + m.retries, 0),
      limiterWaits: median(ms.map((m) => m.limiterWaits))
    }
  }
  const single = summary("single")
  const both = summary("concurrent")
  const [best, other] = both.perSecond >= single.perSecond ? [both, single] : [single, both]
  return [
    {
      scenario: "sync-hubspot",
      dataset: "emulator",
      records: n,
      runs: o.runs,
      medianSeconds: best.medianSeconds,
      perSecond: best.perSecond,
      peakRssMb: peakRssMb(),
      requests: best.requests,
      ceilingPerSecond: round(ceilingPerSecond, 1),
      shareOfCeiling: best.shareOfCeiling,
      minRequests: round(fewest, 2),
      http429: best.http429,
      ...(best.steadyPerSecond === undefined
        ? {}
        : { steadyPerSecond: best.steadyPerSecond, steadyShareOfCeiling: best.steadyShareOfCeiling }),
      variant: best.variant,
      concurrency: best.variant === "single" ? 1 : concurrency,
      requestsPerSecond: best.requestsPerSecond,
      shareOfRequestCeiling: best.shareOfRequestCeiling,
      retries: best.retries,
      limiterWaits: best.limiterWaits,
      burstLimit: `${BURST.max}/${windowSeconds}s`,
      batchSize: BATCH,
      latencyMs,
      windows: round(best.medianSeconds / windowSeconds, 2),
      otherVariant: other.variant,
      otherMedianSeconds: other.medianSeconds,
      otherPerSecond: other.perSecond,
      otherShareOfCeiling: other.shareOfCeiling,
      ...(other.steadyShareOfCeiling === undefined
        ? {}
        : { otherSteadyShareOfCeiling: other.steadyShareOfCeiling }),
      otherRequests: other.requests,
      otherHttp429: other.http429
    }
  ]
}
