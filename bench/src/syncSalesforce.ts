/**
 * Scenario `sync-salesforce`: propagation of consent diffs through the Salesforce adapter's target
 * to the Salesforce emulator configured with Salesforce-like limits: a daily API limit of 100,000
 * requests per rolling 24 hours (an Enterprise Edition org's base allocation) and latency on every
 * request. Salesforce has no per-second limit on short REST calls and the emulator none on
 * concurrency, so these are the limits there are. N persons (Contact + linked Individual, half of
 * them with a Marketing/Email consent record already) are created through the backdoor (not
 * timed); N diffs, one Marketing/Email change each, are addressed to them by Contact id and pushed,
 * once in one `target.push` call and once as chunks of the target's `maxBatchSize` pushed a few
 * at a time. Every diff is checked through the backdoor afterwards.
 *
 * The ceiling: the most diffs per second the daily limit lets any client propagate here, given
 * how much one API request can carry and what these diffs need. One request is at most a
 * Composite of 25 subrequests, of which at most 5 are sObject Collections (200 records each) or
 * query operations (a page of 2,000 rows each) and the rest single-record writes. The diffs need
 * W records written (each diff's consent record, created or updated, and the Contact checkbox of
 * each opt-out) and R rows read to decide them (each person's Contact, for its Individual and
 * checkbox, and the consent records that exist). So no client needs fewer than
 * k = (R / 2,000 + W / 200) / 5.1 requests (the 20 single-record subrequests count as a tenth of a
 * collection; reads and the writes that depend on them sharing requests perfectly), and the
 * ceiling is N / k x dailyLimit / 86,400 (715 diffs/s here, about 618 diffs per request). The
 * share reported is min(measured speed, what the daily budget sustains at the measured requests
 * per diff) over the ceiling, i.e. k over the requests the push made once the push is faster than
 * the budget (it is, by far).
 *
 * (Before Composite was counted, the ceiling was 200 diffs per request, one sObject Collections
 * request per 200 diffs, 231.5/s: not the limits' ceiling, since one Composite request carries
 * five such collections and counts as one call; a push that used them could pass 100% of it.)
 */
import type { ConsentTarget } from "@living-profile/core"
import { SalesforceEmulator } from "@living-profile/emulators"
import { Effect, Redacted } from "effect"
import { type BenchResult, median, peakRssMb, alternate, round, type Variant } from "./stats.js"

/** Options of one sync-salesforce measurement. */
export interface SyncSalesforceOptions {
  /** Number of persons, and of diffs (one change each). */
  readonly records: number
  readonly runs: number
  /** Latency the emulator adds to every request (default 100 ms). */
  readonly latencyMs?: number
  /** Chunks pushed at once in the concurrent variant (default 4). */
  readonly concurrency?: number
}

/** API requests per rolling 24 hours configured on the emulator. */
const DAILY_LIMIT = 100_000
/** Records per sObject Collections request or subrequest (the API's maximum). */
const COLLECTION_RECORDS = 200
/** Rows per query page (the API's maximum batch size). */
const PAGE_ROWS = 2000
/** Subrequests of a Composite request that may be collections or queries, and the others (single records). */
const COMPOSITE_BULK = 5
const COMPOSITE_SINGLES = 20
const FIELD = "ContactPointTypeConsent:Marketing:Email"
const DAY_SECONDS = 86_400
const CAPTURED = Date.parse("2025-06-01T00:00:00Z")

interface Measurement {
  readonly seconds: number
  /** The target's maxBatchSize: diffs per push call. */
  readonly batch: number
  /** Data API requests during the push (the OAuth token endpoint is not counted by Salesforce). */
  readonly requests: number
  readonly http429: number
  /** 403 REQUEST_LIMIT_EXCEEDED answers (the daily limit). */
  readonly http403: number
}

const chunksOf = <A>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

/** Even persons hold OptIn and opt out; odd ones have no consent record yet and opt in. */
const wanted = (i: number): "granted" | "denied" => (i % 2 === 0 ? "denied" : "granted")

/**
 * The fewest API requests any client needs to propagate the first n diffs (see the module doc):
 * records written W (every consent record, and the checkbox of every opt-out, whose Contact says
 * opted in) and rows read R (every Contact, and the consent record every opt-out person holds).
 */
const minRequests = (n: number): number => {
  const optOuts = Math.ceil(n / 2)
  const written = n + optOuts
  const read = n + optOuts
  const slots = COMPOSITE_BULK + COMPOSITE_SINGLES / COLLECTION_RECORDS
  return (read / PAGE_ROWS + written / COLLECTION_RECORDS) / slots
}

const diffFor = (target: string, i: number, externalId: string): ConsentTarget.TargetDiff => {
  const to = wanted(i)
  return {
    profileId: `p${i}`,
    target,
    ref: { externalId },
    changes: [
      {
        key: "marketing/email",
        field: FIELD,
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
  }
}

interface Person {
  readonly contactId: string
  readonly individualId: string
}

/** N persons (and one more for the warm-up push), as an org that already uses the consent objects has them. */
const seed = (em: SalesforceEmulator.SalesforceEmulator, n: number) => {
  const purposeId = String(
    em.backdoor.insert("DataUsePurpose", { Name: "Marketing", CanDataSubjectOptOut: true })["Id"]
  )
  const persons: Array<Person> = new Array(n + 1)
  for (let i = 0; i <= n; i++) {
    const individual = em.backdoor.insert("Individual", { FirstName: "Person", LastName: `P${i}` })
    const individualId = String(individual["Id"])
    const contact = em.backdoor.insert("Contact", {
      FirstName: "Person",
      LastName: `P${i}`,
      Email: `person${i}@example.com`,
      IndividualId: individualId,
      HasOptedOutOfEmail: false
    })
    if (wanted(i) === "denied")
      em.backdoor.insert("ContactPointTypeConsent", {
        Name: "Marketing Email",
        PartyId: individualId,
        DataUsePurposeId: purposeId,
        ContactPointType: "Email",
        PrivacyConsentStatus: "OptIn",
        CaptureDate: "2024-01-01T00:00:00Z",
        EffectiveFrom: "2024-01-01T00:00:00Z",
        CaptureSource: "web"
      })
    persons[i] = { contactId: String(contact["Id"]), individualId }
  }
  return { purposeId, persons }
}

/** How many of the first n persons hold what their diff asked for: one consent record, checkbox mirrored. */
const heldCount = (
  em: SalesforceEmulator.SalesforceEmulator,
  purposeId: string,
  persons: ReadonlyArray<Person>,
  n: number
): number => {
  const id15 = (id: unknown) => String(id).slice(0, 15)
  const records = new Map<string, Array<string>>()
  for (const r of em.backdoor.query(
    "ContactPointTypeConsent",
    (r) => r["ContactPointType"] === "Email" && id15(r["DataUsePurposeId"]) === id15(purposeId)
  )) {
    const party = id15(r["PartyId"])
    const list = records.get(party) ?? []
    list.push(String(r["PrivacyConsentStatus"]))
    records.set(party, list)
  }
  let held = 0
  for (let i = 0; i < n; i++) {
    const p = persons[i]!
    const statuses = records.get(id15(p.individualId)) ?? []
    const optedOut = em.backdoor.get("Contact", p.contactId)?.["HasOptedOutOfEmail"]
    const denied = wanted(i) === "denied"
    if (statuses.length === 1 && statuses[0] === (denied ? "OptOut" : "OptIn") && optedOut === denied) held++
  }
  return held
}

type Adapter = typeof import("@living-profile/salesforce")

const measure = async (
  adapter: Adapter,
  n: number,
  variant: Variant,
  latencyMs: number,
  concurrency: number
): Promise<Measurement> => {
  // A fresh org and adapter per run: the pushes of a run must find the persons as seeded.
  const em = await SalesforceEmulator.start({
    latencyMs,
    dailyLimit: DAILY_LIMIT,
    requestLogLimit: 1_000_000
  })
  try {
    const { purposeId, persons } = seed(em, n)
    const c = em.credentials
    const program = Effect.scoped(
      Effect.gen(function* () {
        const { target } = yield* adapter.make({
          loginUrl: em.url,
          auth: {
            type: "password",
            username: c.username,
            password: Redacted.make(c.password),
            clientId: c.clientId,
            clientSecret: Redacted.make(c.clientSecret)
          }
        })
        // Warm-up on the extra person: the login and the DataUsePurpose lookup, which a running
        // sync has done long before (both cached for the adapter's life), are not timed.
        const warm = yield* target.push([diffFor(target.name, n, persons[n]!.contactId)])
        if (warm[0]?._tag !== "Applied")
          return yield* Effect.dieMessage("sync-salesforce: the warm-up push was not applied")
        const diffs = persons.slice(0, n).map((p, i) => diffFor(target.name, i, p.contactId))
        const batch = target.capabilities.maxBatchSize
        const push =
          variant === "single"
            ? target.push(diffs)
            : Effect.map(
                Effect.forEach(chunksOf(diffs, batch), (chunk) => target.push(chunk), { concurrency }),
                (rs) => rs.flat()
              )
        em.backdoor.clearRequestLog()
        const t0 = process.hrtime.bigint()
        const results = yield* push
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9
        // Read before the scope closes (closing revokes the token: one more request).
        const log = em.backdoor.requestLog.filter((e) => e.path.startsWith("/services/data/"))
        return { results, seconds, log, batch }
      })
    )
    const { results, seconds, log, batch } = await Effect.runPromise(program)

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
      throw new Error(`sync-salesforce: ${notApplied.length} of ${n} diffs not applied (${why})`)
    }
    const held = heldCount(em, purposeId, persons, n)
    if (held !== n) throw new Error(`sync-salesforce: the org holds ${held} of ${n} pushed consents`)
    return {
      seconds,
      batch,
      requests: log.length,
      http429: log.filter((e) => e.status === 429).length,
      http403: log.filter((e) => e.status === 403).length
    }
  } finally {
    await em.close()
  }
}

/** Runs the scenario and returns its result line (the faster variant, the other as figures). */
export const runSyncSalesforce = async (o: SyncSalesforceOptions): Promise<Array<BenchResult>> => {
  const n = o.records
  const latencyMs = o.latencyMs ?? 100
  const concurrency = o.concurrency ?? 4
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(o.runs) && o.runs >= 1))
    throw new Error("sync-salesforce: --records and --runs must be positive integers")
  // jsforce reads these when its transport module loads and would send loopback calls through the
  // proxy: the adapter (and with it jsforce) is imported only after they are gone.
  for (const v of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) delete process.env[v]
  const adapter = await import("@living-profile/salesforce")
  const runs = await alternate(
    o.runs,
    (v) => measure(adapter, n, v, latencyMs, concurrency),
    (v, k, m) =>
      `sync-salesforce ${v} run ${k}: ${m.seconds.toFixed(2)} s, ${m.requests} requests, ${m.http429} x 429, ${m.http403} x 403`
  )

  const fewest = minRequests(n)
  const diffsPerRequest = n / fewest
  const ceilingPerSecond = (DAILY_LIMIT * diffsPerRequest) / DAY_SECONDS
  const summary = (v: Variant) => {
    const ms = runs[v]
    const seconds = median(ms.map((m) => m.seconds))
    const requests = median(ms.map((m) => m.requests))
    const perSecond = n / seconds
    // What the daily budget sustains at this many requests per diff, and what the push sustains.
    const budgetPerSecond = (DAILY_LIMIT * (n / requests)) / DAY_SECONDS
    const sustained = Math.min(perSecond, budgetPerSecond)
    const inFlight = v === "single" ? 1 : concurrency
    // Every round trip carrying the most one request can carry for these diffs.
    const latencyCeiling = (inFlight * diffsPerRequest * 1000) / latencyMs
    return {
      variant: v,
      concurrency: inFlight,
      medianSeconds: round(seconds),
      perSecond: Math.round(perSecond),
      requests,
      http429: ms.reduce((s, m) => s + m.http429, 0),
      http403: ms.reduce((s, m) => s + m.http403, 0),
      budgetPerSecond: round(budgetPerSecond, 1),
      shareOfCeiling: round(sustained / ceilingPerSecond),
      latencyCeilingPerSecond: Math.round(latencyCeiling),
      shareOfLatencyCeiling: round(perSecond / latencyCeiling),
      batch: ms[0]?.batch ?? 0
    }
  }
  const single = summary("single")
  const both = summary("concurrent")
  const [best, other] = both.perSecond >= single.perSecond ? [both, single] : [single, both]
  return [
    {
      scenario: "sync-salesforce",
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
      http403: best.http403,
      variant: best.variant,
      concurrency: best.concurrency,
      requestsPer200: round((best.requests / n) * 200, 2),
      budgetPerSecond: best.budgetPerSecond,
      latencyCeilingPerSecond: best.latencyCeilingPerSecond,
      shareOfLatencyCeiling: best.shareOfLatencyCeiling,
      dailyLimit: DAILY_LIMIT,
      maxBatchSize: best.batch,
      latencyMs,
      otherVariant: other.variant,
      otherMedianSeconds: other.medianSeconds,
      otherPerSecond: other.perSecond,
      otherShareOfLatencyCeiling: other.shareOfLatencyCeiling,
      otherRequests: other.requests,
      otherHttp429: other.http429
    }
  ]
}
