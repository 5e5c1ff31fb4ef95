/**
 * The Composite resource (`POST /composite`): up to 25 subrequests run in order in one API call;
 * at most 5 of them may be sObject Collections (`/composite/sobjects...`) or query operations
 * (query, queryAll, and the next page of either), as the REST API guide says for current
 * versions (an older page said 5 queries only). A subrequest may use `@{referenceId.path}` to
 * take a value from an earlier result (`@{newInd.id}`, `@{q.records[0].Id}`). The answer is
 * always 200 with one `{ body, httpHeaders, httpStatusCode, referenceId }` per subrequest. With
 * `allOrNone: true` the first failure rolls back every write; the failed subrequest keeps its
 * error and every other one reports PROCESSING_HALTED. Without it, each subrequest stands alone,
 * and one that refers to a failed or missing result fails with PROCESSING_HALTED. (A collection's
 * per-record failures do not make its subrequest fail: the outer allOrNone does not yet override
 * the collection's own, as Salesforce documents it does.)
 */
import { apiError, restBody } from "./Errors.js"
import type { RestContext, RestRequest, RestResponse } from "./Rest.js"
import type { SubrequestLogEntry } from "./RequestLog.js"
import { Journal } from "./Store.js"

const maxSubrequests = 25
/** Collections and query operations together. */
const maxBulk = 5

interface Subrequest {
  readonly method: string
  readonly url: string
  readonly referenceId: string
  readonly body: unknown
  readonly httpHeaders: Readonly<Record<string, unknown>>
}

interface SubResponse {
  readonly body: unknown
  readonly httpHeaders: Readonly<Record<string, string>>
  readonly httpStatusCode: number
  readonly referenceId: string
}

const halted = (referenceId: string, message: string): SubResponse => ({
  body: restBody([{ errorCode: "PROCESSING_HALTED", message }]),
  httpHeaders: {},
  httpStatusCode: 400,
  referenceId
})

const rolledBackMessage =
  "The transaction was rolled back since another operation in the same transaction failed."

const readRequests = (
  body: unknown
): { readonly allOrNone: boolean; readonly requests: ReadonlyArray<Subrequest> } => {
  if (typeof body !== "object" || body === null) {
    throw apiError(
      400,
      "JSON_PARSER_ERROR",
      "The request body must be an object with a compositeRequest array"
    )
  }
  const { allOrNone, compositeRequest } = body as { allOrNone?: unknown; compositeRequest?: unknown }
  if (!Array.isArray(compositeRequest) || compositeRequest.length === 0) {
    throw apiError(
      400,
      "JSON_PARSER_ERROR",
      "compositeRequest: a non-empty JSON array of subrequests is required"
    )
  }
  if (compositeRequest.length > maxSubrequests) {
    throw apiError(
      400,
      "LIMIT_EXCEEDED",
      `Exceeded max limit of ${maxSubrequests} subrequests in a composite request`
    )
  }
  const seen = new Set<string>()
  const requests = compositeRequest.map((raw): Subrequest => {
    const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>
    const { method, url, referenceId } = r
    if (typeof method !== "string" || typeof url !== "string" || typeof referenceId !== "string") {
      throw apiError(400, "JSON_PARSER_ERROR", "each subrequest needs method, url and referenceId")
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(referenceId)) {
      throw apiError(
        400,
        "JSON_PARSER_ERROR",
        `invalid referenceId '${referenceId}': letters, digits and _ only, starting with a letter`
      )
    }
    if (seen.has(referenceId))
      throw apiError(
        400,
        "JSON_PARSER_ERROR",
        `Duplicate referenceId provided in the request: ${referenceId}`
      )
    seen.add(referenceId)
    const headers = (
      typeof r["httpHeaders"] === "object" && r["httpHeaders"] !== null ? r["httpHeaders"] : {}
    ) as Record<string, unknown>
    return { method: method.toUpperCase(), url, referenceId, body: r["body"], httpHeaders: headers }
  })
  const bulk = requests.filter((r) => isBulk(r.url)).length
  if (bulk > maxBulk) {
    throw apiError(
      400,
      "LIMIT_EXCEEDED",
      `Exceeded max limit of ${maxBulk} sObject Collections and query subrequests in a composite request`
    )
  }
  return { allOrNone: allOrNone === true, requests }
}

/** Whether a subrequest URL names sObject Collections or a query operation (path only). */
const isBulk = (url: string): boolean => {
  const path = url.split("?")[0] ?? ""
  return /\/composite\/sobjects(\/|$)/.test(path) || /\/(query|queryAll)(\/|$)/.test(path)
}

const referencePattern = /@\{([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}/g

class MissingReference extends Error {}

const lookup = (results: ReadonlyMap<string, SubResponse>, ref: string, path: string): unknown => {
  const result = results.get(ref)
  if (result === undefined || result.httpStatusCode >= 400) throw new MissingReference(`${ref}${path}`)
  let value: unknown = result.body
  for (const step of path.match(/\.[A-Za-z0-9_]+|\[\d+\]/g) ?? []) {
    const key = step.startsWith(".") ? step.slice(1) : Number(step.slice(1, -1))
    value =
      typeof value === "object" && value !== null
        ? (value as Record<string | number, unknown>)[key]
        : undefined
    if (value === undefined) throw new MissingReference(`${ref}${path}`)
  }
  return value
}

const substitute = (value: unknown, results: ReadonlyMap<string, SubResponse>): unknown => {
  if (typeof value === "string") {
    const whole = /^@\{([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}$/.exec(value)
    // A value that is exactly one reference keeps the referenced JSON type (number, boolean...).
    if (whole !== null) return lookup(results, whole[1] ?? "", whole[2] ?? "")
    return value.replace(referencePattern, (_, ref: string, path: string) =>
      String(lookup(results, ref, path))
    )
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, results))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, results)]))
  }
  return value
}

const forbiddenHeaders = new Set(["accept", "authorization", "content-type"])

/** Handles `POST /composite`, running each subrequest through `dispatch`. */
export const handle = (
  ctx: RestContext,
  req: RestRequest,
  dispatch: (ctx: RestContext, req: RestRequest) => RestResponse
): RestResponse => {
  const { allOrNone, requests } = readRequests(req.body)
  const tx = new Journal()
  const results = new Map<string, SubResponse>()
  const responses: Array<SubResponse> = []
  let failedAt: number | undefined
  for (const [index, sub] of requests.entries()) {
    let response: SubResponse
    try {
      response = run(ctx, sub, tx, results, dispatch)
    } catch (e) {
      if (!(e instanceof MissingReference)) throw e
      response = halted(
        sub.referenceId,
        `Invalid reference specified. No value for ${e.message} found in ${e.message.split(/[.[]/)[0]}. Provided referenceId ('${sub.referenceId}') ...`
      )
    }
    results.set(sub.referenceId, response)
    responses.push(response)
    if (allOrNone && response.httpStatusCode >= 400) {
      failedAt = index
      break
    }
  }
  if (failedAt !== undefined) {
    tx.rollback()
    const all = requests.map((sub, i) =>
      i === failedAt ? (responses[i] as SubResponse) : halted(sub.referenceId, rolledBackMessage)
    )
    return { status: 200, body: { compositeResponse: all }, subrequests: logged(requests, all) }
  }
  ctx.journal.absorb(tx)
  return { status: 200, body: { compositeResponse: responses }, subrequests: logged(requests, responses) }
}

const logged = (
  requests: ReadonlyArray<Subrequest>,
  responses: ReadonlyArray<SubResponse>
): ReadonlyArray<SubrequestLogEntry> =>
  responses.map((r, i) => {
    const sub = requests[i]
    const path = (sub?.url ?? "").split("?")[0] ?? ""
    return { method: sub?.method ?? "", path, status: r.httpStatusCode }
  })

const run = (
  ctx: RestContext,
  sub: Subrequest,
  tx: Journal,
  results: ReadonlyMap<string, SubResponse>,
  dispatch: (ctx: RestContext, req: RestRequest) => RestResponse
): SubResponse => {
  const bad = (status: number, errorCode: string, message: string): SubResponse => ({
    body: restBody([{ errorCode, message }]),
    httpHeaders: {},
    httpStatusCode: status,
    referenceId: sub.referenceId
  })
  const header = Object.keys(sub.httpHeaders).find((h) => forbiddenHeaders.has(h.toLowerCase()))
  if (header !== undefined)
    return bad(400, "INVALID_HEADER", `Header ${header} is not allowed in a composite subrequest`)
  const url = new URL(String(substitute(sub.url, results)), "http://composite.invalid")
  const m = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/.exec(url.pathname)
  if (m === null) return bad(404, "NOT_FOUND", "The requested resource does not exist")
  const segments = (m[2] ?? "")
    .split("/")
    .filter((s) => s !== "")
    .map(decodeURIComponent)
  if (segments[0] === "composite" && segments[1] !== "sobjects") {
    return bad(
      400,
      "INVALID_API_INPUT",
      "Composite, batch and tree requests cannot be nested in a composite request"
    )
  }
  const version = m[1] ?? ctx.version
  // An injected status fault that matches the subrequest answers it, as the resource would.
  const fault = ctx.subrequestFault?.(sub.method, url.pathname)
  if (fault !== undefined) {
    return {
      body: fault.body ?? null,
      httpHeaders: { ...fault.headers },
      httpStatusCode: fault.status,
      referenceId: sub.referenceId
    }
  }
  const headers = Object.fromEntries(
    Object.entries(sub.httpHeaders).map(([k, v]) => [k.toLowerCase(), String(v)])
  )
  const response = dispatch(
    { ...ctx, version, versionNumber: Number(version), journal: tx },
    {
      method: sub.method,
      segments,
      query: url.searchParams,
      body: substitute(sub.body, results),
      header: (name) => headers[name.toLowerCase()]
    }
  )
  const httpHeaders: Record<string, string> = { ...response.headers }
  const created = response.body as { id?: unknown } | undefined
  if (
    response.status === 201 &&
    typeof created?.id === "string" &&
    segments[0] === "sobjects" &&
    segments[1] !== undefined
  ) {
    httpHeaders["Location"] = `/services/data/v${version}/sobjects/${segments[1]}/${created.id}`
  }
  return {
    body: response.body ?? null,
    httpHeaders,
    httpStatusCode: response.status,
    referenceId: sub.referenceId
  }
}
