import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { Clock } from "./Clock.js"
import { HttpError, correlationId, errorBody, faultBody, unauthorized, validation } from "./Errors.js"
import type { FaultRegistry } from "./Faults.js"
import * as Json from "./Json.js"
import type { Limits, RequestKind } from "./Limits.js"
import type { PendingEntry, RequestLog } from "./RequestLog.js"

/** What a handler gets. */
export interface RequestContext {
  readonly method: string
  readonly pathname: string
  /** Path parameters, URI-decoded. */
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  /** The parsed JSON body, or undefined when empty. */
  readonly body: unknown
  /** The body text (the search limit on query length counts it). */
  readonly rawBody: string
}

/** What a handler answers. */
export interface Reply {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** One endpoint. */
export interface Route {
  readonly method: string
  /** Anchored pattern over the pathname; named groups become `params`. */
  readonly pattern: RegExp
  readonly kind: RequestKind
  readonly handle: (context: RequestContext) => Reply
}

/** What the server needs from the rest of the emulator. */
export interface ServerDeps {
  readonly routes: ReadonlyArray<Route>
  readonly faults: FaultRegistry
  readonly limits: Limits
  readonly clock: Clock
  /** Valid tokens and the app id each belongs to. */
  readonly apps: ReadonlyMap<string, number>
  readonly log: RequestLog
}

/** A listening server. */
export interface Listening {
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

const JSON_TYPE = "application/json;charset=utf-8"

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

const bearer = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

type Resolution =
  | { readonly kind: "route"; readonly route: Route; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: "wrong-method" }
  | { readonly kind: "none" }

const resolve = (routes: ReadonlyArray<Route>, method: string, pathname: string): Resolution => {
  let pathMatched = false
  for (const route of routes) {
    const match = route.pattern.exec(pathname)
    if (match === null) continue
    pathMatched = true
    if (route.method !== method) continue
    const params: Record<string, string> = {}
    for (const [name, value] of Object.entries(match.groups ?? {})) {
      try {
        params[name] = decodeURIComponent(value)
      } catch {
        throw validation(`Malformed path parameter ${name}: ${value}`)
      }
    }
    return { kind: "route", route, params }
  }
  return pathMatched ? { kind: "wrong-method" } : { kind: "none" }
}

/** Starts the HTTP server on `host:port` (0 picks a free port). */
export const listen = async (deps: ServerDeps, port: number, host: string): Promise<Listening> => {
  const server = http.createServer((req, res) => {
    handle(deps, req, res).catch((cause: unknown) => {
      // Handlers throw HttpError for expected failures; anything else is an emulator bug made visible.
      if (!res.headersSent && !res.destroyed) {
        const body = JSON.stringify(errorBody("INTERNAL_ERROR", `Emulator failure: ${String(cause)}`))
        res.writeHead(500, { "Content-Type": JSON_TYPE }).end(body)
      }
    })
  })
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => {
      server.off("error", reject)
      resolvePromise()
    })
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolvePromise) => {
        deps.faults.dropHeld()
        server.close(() => resolvePromise())
        server.closeAllConnections()
      })
  }
}

const handle = async (
  deps: ServerDeps,
  req: http.IncomingMessage,
  res: http.ServerResponse
): Promise<void> => {
  const { faults, limits, clock, apps, log } = deps
  const url = new URL(req.url ?? "/", "http://emulator.invalid")
  const method = (req.method ?? "GET").toUpperCase()
  const raw = await readBody(req)
  const entry = log.start({
    at: clock.iso(),
    method,
    path: url.pathname,
    query: url.search,
    bodySize: raw.byteLength
  })
  let faulted = false
  const send = (
    status: number,
    body: unknown,
    headers: Readonly<Record<string, string>>,
    type = JSON_TYPE
  ) => {
    answer(res, entry, faulted, status, body, headers, type)
  }
  let dropped = false
  const drop = (): void => {
    dropped = true
    entry.end("dropped", true)
    req.socket.destroy()
  }

  const latency = faults.latency()
  if (latency > 0) await sleep(latency)
  const fault = faults.take(method, url.pathname)
  if (fault !== undefined) {
    faulted = true
    if ("drop" in fault) return drop()
    if ("hold" in fault) {
      const parked = faults.park(drop)
      res.once("close", parked.cancel)
      const served = await parked.released
      res.off("close", parked.cancel)
      if (!served) {
        // Either the server dropped it on close (already logged) or the client gave up waiting.
        if (!dropped) entry.end("aborted", true)
        return
      }
    } else if ("delayMs" in fault) {
      await sleep(fault.delayMs)
    } else if ("rateLimit" in fault) {
      const forced = limits.forced(fault.rateLimit)
      return send(429, forced.body, forced.headers)
    } else {
      const body = fault.body ?? faultBody(fault.status)
      const type =
        fault.contentType ?? (typeof fault.body === "string" ? "text/plain;charset=utf-8" : JSON_TYPE)
      return send(fault.status, body, fault.headers ?? {}, type)
    }
  }

  const token = bearer(req.headers.authorization)
  const appId = token === undefined ? undefined : apps.get(token)
  if (token === undefined || appId === undefined) {
    const error = unauthorized()
    return send(error.status, error.body, {})
  }

  let resolution: Resolution
  try {
    resolution = resolve(deps.routes, method, url.pathname)
  } catch (error) {
    if (error instanceof HttpError) return send(error.status, error.body, error.headers)
    throw error
  }
  const kind = resolution.kind === "route" ? resolution.route.kind : "standard"
  const decision = limits.admit(token, appId, kind, clock.now())
  if (!decision.allowed) return send(429, decision.body, decision.headers)

  try {
    if (resolution.kind === "none") {
      throw new HttpError(
        404,
        errorBody("OBJECT_NOT_FOUND", `No emulated endpoint for ${method} ${url.pathname}`)
      )
    }
    if (resolution.kind === "wrong-method") {
      throw new HttpError(
        405,
        errorBody("METHOD_NOT_ALLOWED", `${method} is not supported on ${url.pathname}`)
      )
    }
    const rawBody = raw.toString("utf8")
    const reply = resolution.route.handle({
      method,
      pathname: url.pathname,
      params: resolution.params,
      query: url.searchParams,
      body: Json.parse(rawBody),
      rawBody
    })
    send(reply.status, reply.body, { ...decision.headers, ...reply.headers })
  } catch (error) {
    if (!(error instanceof HttpError)) throw error
    send(error.status, error.body, { ...decision.headers, ...error.headers })
  }
}

const answer = (
  res: http.ServerResponse,
  entry: PendingEntry,
  faulted: boolean,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>>,
  type: string
): void => {
  if (res.destroyed) {
    entry.end("aborted", faulted)
    return
  }
  const correlation =
    Json.isObject(body) && typeof body["correlationId"] === "string" ? body["correlationId"] : correlationId()
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body)
  const payload = Buffer.from(text, "utf8")
  res.writeHead(status, {
    ...(status === 204 ? {} : { "Content-Type": type, "Content-Length": String(payload.byteLength) }),
    "x-hubspot-correlation-id": correlation,
    ...headers
  })
  res.end(status === 204 ? undefined : payload)
  entry.answer(status, status === 204 ? 0 : payload.byteLength, faulted)
}
