/**
 * The REST data API under `/services/data/vNN.N`: the request and response model shared by the
 * resource modules, and the router. Handlers are synchronous over the in-memory org, so each
 * request is atomic; they throw ApiError, which `dispatch` turns into the error response (so a
 * composite subrequest gets the same answer as a direct call).
 */
import * as Collections from "./Collections.js"
import * as Composite from "./Composite.js"
import { truncateToSecond } from "./Dates.js"
import type { DmlContext } from "./Dml.js"
import { ApiError, apiError, methodNotAllowed, notFound, restBody } from "./Errors.js"
import type { ApiLimits } from "./Limits.js"
import { type Org, purgeRecycleBin, type User } from "./Org.js"
import * as Query from "./Query.js"
import type { SubrequestLogEntry } from "./RequestLog.js"
import * as SObjects from "./SObjects.js"
import type { Journal } from "./Store.js"

/** One request to the data API, after authentication. */
export interface RestRequest {
  readonly method: string
  /** Decoded path segments after `/services/data/vNN.N`. */
  readonly segments: ReadonlyArray<string>
  readonly query: URLSearchParams
  /** The parsed JSON body, if any. */
  readonly body: unknown
  /** A request header by lower-case name. */
  readonly header: (name: string) => string | undefined
}

/** Who asks, under which API version, in which transaction. */
export interface RestContext {
  readonly org: Org
  readonly cursors: Query.Cursors
  readonly limits: ApiLimits
  readonly user: User
  /** API version as written in the path ("60.0"). */
  readonly version: string
  readonly versionNumber: number
  readonly journal: Journal
  /** An injected status fault for a composite subrequest (method, URL path), consumed when returned. */
  readonly subrequestFault?: (method: string, path: string) => RestResponse | undefined
}

/** A data API answer. */
export interface RestResponse {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** What a composite request carried, for the request log. */
  readonly subrequests?: ReadonlyArray<SubrequestLogEntry>
}

/** The DML context of a request: its user, version, transaction and (second-truncated) time. */
export const dmlContext = (ctx: RestContext, journal: Journal = ctx.journal): DmlContext => ({
  org: ctx.org,
  userId: ctx.user.id,
  version: ctx.versionNumber,
  now: truncateToSecond(ctx.org.clock.now()),
  journal
})

/** The newest API version the emulator lists (Spring '26). */
export const latestVersion = 66

/** Release name of an API version (v60.0 is Spring '24; three releases a year). */
const releaseLabel = (version: number): string => {
  const n = version - 60
  const year = 24 + Math.floor(n / 3)
  const season = ((n % 3) + 3) % 3
  return season === 0 ? `Spring '${year}` : season === 1 ? `Summer '${year}` : `Winter '${year + 1}`
}

/** `GET /services/data`: the API versions, oldest first. */
export const versions = (): ReadonlyArray<Record<string, string>> =>
  Array.from({ length: latestVersion - 30 }, (_, i) => {
    const v = 31 + i
    return { label: releaseLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` }
  })

const resources = (version: string): Record<string, string> => {
  const base = `/services/data/v${version}`
  return {
    sobjects: `${base}/sobjects`,
    query: `${base}/query`,
    queryAll: `${base}/queryAll`,
    composite: `${base}/composite`,
    limits: `${base}/limits`
  }
}

const query = (
  ctx: RestContext,
  req: RestRequest,
  includeDeleted: boolean,
  rest: ReadonlyArray<string>
): RestResponse => {
  if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"])
  const [locator, ...extra] = rest
  if (extra.length > 0) throw notFound()
  if (locator !== undefined) return { status: 200, body: ctx.cursors.more(locator, ctx.user.id, ctx.version) }
  const q = req.query.get("q")
  if (q === null)
    throw apiError(400, "MALFORMED_QUERY", "A query string has to be specified with the q parameter")
  if (includeDeleted) purgeRecycleBin(ctx.org)
  const rows = Query.run(ctx.org, q, { includeDeleted, version: ctx.version })
  const batchSize = Query.batchSizeOf(req.header("sforce-query-options"))
  return { status: 200, body: ctx.cursors.first(rows, ctx.user.id, ctx.version, batchSize) }
}

const route = (ctx: RestContext, req: RestRequest): RestResponse => {
  const [head, ...rest] = req.segments
  switch (head) {
    case undefined:
      if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"])
      return { status: 200, body: resources(ctx.version) }
    case "query":
      return query(ctx, req, false, rest)
    case "queryAll":
      return query(ctx, req, true, rest)
    case "sobjects":
      return SObjects.handle(ctx, req, rest)
    case "composite":
      if (rest[0] === "sobjects") return Collections.handle(ctx, req, rest.slice(1))
      if (rest.length > 0) throw notFound()
      if (req.method !== "POST") throw methodNotAllowed(req.method, ["POST"])
      return Composite.handle(ctx, req, dispatch)
    case "limits": {
      if (req.method !== "GET" || rest.length > 0)
        throw rest.length > 0 ? notFound() : methodNotAllowed(req.method, ["GET"])
      const max = ctx.limits.dailyLimit
      return {
        status: 200,
        body: { DailyApiRequests: { Max: max, Remaining: Math.max(0, max - ctx.limits.used()) } }
      }
    }
    default:
      throw notFound()
  }
}

/** Routes a data API request; errors become Salesforce error responses. */
export const dispatch = (ctx: RestContext, req: RestRequest): RestResponse => {
  try {
    return route(ctx, req)
  } catch (e) {
    if (e instanceof ApiError) return { status: e.status, body: restBody(e.errors) }
    const message = e instanceof Error ? e.message : String(e)
    return {
      status: 500,
      body: restBody([
        {
          errorCode: "UNKNOWN_EXCEPTION",
          message: `An unexpected error occurred in the Salesforce emulator: ${message}`
        }
      ])
    }
  }
}
