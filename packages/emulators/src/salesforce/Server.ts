/**
 * The HTTP server (node:http, 127.0.0.1). Each request goes: read the body, injected fault (delay,
 * then status / drop / hang), configured latency, then the endpoint: OAuth token and revoke,
 * identity, the version list, or the data API (authenticate -> count against the daily limit ->
 * parse JSON -> dispatch). Data API answers carry `Sforce-Limit-Info`. Every answer is logged.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { setTimeout as delay } from "node:timers/promises"
import { apiError, invalidSession, notFound, restBody } from "./Errors.js"
import { defaultBody, type FaultAction, type FaultRegistry } from "./Faults.js"
import type { ApiLimits } from "./Limits.js"
import * as OAuth from "./OAuth.js"
import type { Org } from "./Org.js"
import type { Cursors } from "./Query.js"
import type { RequestLog, RequestLogEntry } from "./RequestLog.js"
import { dispatch, versions } from "./Rest.js"
import type { Session, Sessions } from "./Sessions.js"
import { Journal } from "./Store.js"

/** Everything the server reads and changes. */
export interface ServerState {
  readonly org: Org
  readonly sessions: Sessions
  readonly limits: ApiLimits
  readonly faults: FaultRegistry
  readonly log: RequestLog
  readonly cursors: Cursors
  /** Added to every request before it is handled. */
  latencyMs: number
}

/** A listening server. */
export interface RunningServer {
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

interface Answer {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  readonly contentType?: string
  readonly subrequests?: RequestLogEntry["subrequests"]
}

const jsonType = "application/json;charset=UTF-8"

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

const send = (res: ServerResponse, answer: Answer): void => {
  const headers: Record<string, string> = { ...answer.headers }
  let payload: string | undefined
  if (answer.status !== 204 && answer.body !== undefined && answer.body !== null) {
    const raw = typeof answer.body === "string" && answer.contentType !== undefined
    payload = raw ? (answer.body as string) : JSON.stringify(answer.body)
    headers["Content-Type"] = answer.contentType ?? jsonType
  }
  res.writeHead(answer.status, headers)
  res.end(payload)
}

const bearer = (req: IncomingMessage): string | undefined => {
  const m = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(req.headers.authorization ?? "")
  return m?.[1]
}

const headerOf =
  (req: IncomingMessage) =>
  (name: string): string | undefined => {
    const v = req.headers[name.toLowerCase()]
    return Array.isArray(v) ? v.join(", ") : v
  }

const faultAnswer = (fault: FaultAction, status: number, path: string): Answer => {
  const oauth = path.startsWith("/services/oauth2/")
  const body = fault.body ?? defaultBody(fault, status, oauth)
  return {
    status,
    body,
    headers: fault.headers ?? {},
    ...(fault.contentType === undefined ? {} : { contentType: fault.contentType })
  }
}

/** Answers one request that no fault intercepted. */
const answer = (state: ServerState, baseUrl: string, req: IncomingMessage, url: URL, raw: Buffer): Answer => {
  const method = (req.method ?? "GET").toUpperCase()
  const path = url.pathname
  const { org, sessions, limits } = state
  if (path === "/services/oauth2/token") {
    if (method !== "POST")
      return { status: 405, body: { error: "invalid_request", error_description: "must use HTTP POST" } }
    return OAuth.token(baseUrl, org, sessions, new URLSearchParams(raw.toString("utf8")))
  }
  if (path === "/services/oauth2/revoke") {
    return OAuth.revoke(
      sessions,
      method === "POST" ? new URLSearchParams(raw.toString("utf8")) : url.searchParams
    )
  }
  const identity = /^\/id\/([^/]+)\/([^/]+)\/?$/.exec(path)
  if (identity !== null) {
    const token = bearer(req) ?? url.searchParams.get("oauth_token") ?? ""
    const session = sessions.authenticate(token)
    if (session === undefined) return { status: 403, body: "Bad_OAuth_Token", contentType: "text/plain" }
    const r = OAuth.identity(baseUrl, org, session.user, identity[1] ?? "", identity[2] ?? "")
    return typeof r.body === "string" ? { ...r, contentType: "text/plain" } : r
  }
  if (path.startsWith("/services/Soap/")) {
    // jsforce falls back to SOAP login when oauth2 clientId/clientSecret are missing; say so plainly.
    return {
      status: 500,
      contentType: "text/xml;charset=UTF-8",
      body:
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
        "<soapenv:Body><soapenv:Fault><faultcode>UNSUPPORTED_API</faultcode><faultstring>The Salesforce emulator only " +
        "implements OAuth 2.0 logins: give the jsforce Connection oauth2 { clientId, clientSecret } so login() uses " +
        "the username-password flow</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    }
  }
  if (path === "/services/data" || path === "/services/data/") {
    return method === "GET" || method === "HEAD" ? { status: 200, body: versions() } : { status: 405 }
  }
  const data = /^\/services\/data\/v(\d+\.\d)(?:\/(.*))?$/.exec(path)
  if (data === null) return { status: 404, body: restBody(notFound().errors) }

  const session: Session | undefined = sessions.authenticate(bearer(req) ?? "")
  if (session === undefined) return { status: 401, body: restBody(invalidSession().errors) }
  if (!limits.tryConsume()) {
    return {
      status: 403,
      body: restBody(apiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").errors),
      headers: { "Sforce-Limit-Info": limits.header() }
    }
  }
  const limitHeader = () => ({ "Sforce-Limit-Info": limits.header() })
  let body: unknown
  const text = raw.toString("utf8")
  if (text.trim() !== "" && method !== "GET" && method !== "HEAD") {
    try {
      body = JSON.parse(text)
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e)
      return {
        status: 400,
        body: restBody([{ errorCode: "JSON_PARSER_ERROR", message: reason }]),
        headers: limitHeader()
      }
    }
  }
  let segments: Array<string>
  try {
    segments = (data[2] ?? "")
      .split("/")
      .filter((s) => s !== "")
      .map((s) => decodeURIComponent(s))
  } catch {
    return {
      status: 400,
      body: restBody([{ errorCode: "MALFORMED_URL", message: "Malformed URL" }]),
      headers: limitHeader()
    }
  }
  const version = data[1] ?? "60.0"
  const response = dispatch(
    {
      org,
      cursors: state.cursors,
      limits,
      user: session.user,
      version,
      versionNumber: Number(version),
      journal: new Journal(),
      subrequestFault: (subMethod, subPath) => {
        const fault = state.faults.takeStatus(subMethod, subPath)
        if (fault?.status === undefined) return undefined
        const answer = faultAnswer(fault, fault.status, subPath)
        return { status: answer.status, body: answer.body, headers: answer.headers ?? {} }
      }
    },
    {
      method: method === "HEAD" ? "GET" : method,
      segments,
      query: url.searchParams,
      body,
      header: headerOf(req)
    }
  )
  return {
    status: response.status,
    body: response.body,
    headers: { ...response.headers, ...limitHeader() },
    ...(response.subrequests === undefined ? {} : { subrequests: response.subrequests })
  }
}

/** Starts listening on 127.0.0.1 (port 0 picks a free port). */
export const listen = (state: ServerState, port: number): Promise<RunningServer> => {
  const closing = new AbortController()
  let baseUrl = ""

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const method = (req.method ?? "GET").toUpperCase()
    const log = (
      status: number,
      fault?: RequestLogEntry["fault"],
      subrequests?: RequestLogEntry["subrequests"]
    ) =>
      state.log.push({
        method,
        path: url.pathname,
        search: url.search,
        status,
        at: state.org.clock.iso(),
        ...(fault === undefined ? {} : { fault }),
        ...(subrequests === undefined ? {} : { subrequests })
      })
    let raw: Buffer
    try {
      raw = await readBody(req)
    } catch {
      return
    }
    const fault = state.faults.take(method, url.pathname)
    try {
      if (fault?.delayMs !== undefined && fault.delayMs > 0)
        await delay(fault.delayMs, undefined, { signal: closing.signal })
      if (state.latencyMs > 0) await delay(state.latencyMs, undefined, { signal: closing.signal })
    } catch {
      res.destroy()
      return
    }
    if (fault?.drop === true) {
      log(0, "drop")
      req.socket.destroy()
      return
    }
    if (fault?.hang === true) {
      log(0, "hang")
      await new Promise<void>((resolve) => {
        res.once("close", () => resolve())
        closing.signal.addEventListener("abort", () => resolve(), { once: true })
      })
      res.destroy()
      return
    }
    if (fault?.status !== undefined) {
      log(fault.status, "status")
      send(res, faultAnswer(fault, fault.status, url.pathname))
      return
    }
    let result: Answer
    try {
      result = answer(state, baseUrl, req, url, raw)
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e)
      result = {
        status: 500,
        body: restBody([{ errorCode: "UNKNOWN_EXCEPTION", message: `Salesforce emulator bug: ${message}` }])
      }
    }
    log(result.status, fault === undefined ? undefined : "delay", result.subrequests)
    send(res, result)
  }

  const server = createServer((req, res) => {
    void handle(req, res)
  })
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject)
      const actual = (server.address() as AddressInfo).port
      baseUrl = `http://127.0.0.1:${actual}`
      resolve({
        url: baseUrl,
        port: actual,
        close: () =>
          new Promise<void>((done) => {
            closing.abort()
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })
}
