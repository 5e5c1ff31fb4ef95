/**
 * The jsforce connection and its lifecycle: OAuth 2.0 login on first use (username-password or
 * client credentials), one token refresh per call on a 401, requests tuned per connection, and every
 * call's failure mapped onto AdapterError.
 *
 * Why it is built this way:
 * - **Proxy variables.** jsforce reads `HTTP(S)_PROXY` when its transport module loads and sends
 *   every request through that proxy, loopback included. Clearing the variables in a library
 *   would change the whole process and come too late (the module may be loaded already), so the
 *   client wraps the transport of its own connection and OAuth2 objects and passes
 *   `httpProxy: undefined` for loopback URLs (localhost, 127.0.0.0/8, ::1): the emulator works
 *   with a proxy set, and a real org keeps the proxy the environment asks for.
 * - **Refresh.** After a client-credentials login jsforce cannot refresh (it looks for a refresh
 *   token), and after a password login it would repeat the grant forever if the new token were
 *   refused too. The client passes its own `refreshFn`: it repeats the configured grant once per
 *   call; a second 401 in the same call, or a refused grant, fails the call as Unauthorized.
 * - **Status and Retry-After.** jsforce's errors drop both; the wrapped transport records them
 *   per call (an AsyncLocalStorage context, since calls run concurrently) for `Errors`.
 * - **Retries and timeouts.** jsforce's own retries (GET/DELETE only, up to 15.5 s) are off by
 *   default and never cover rate limits: the engine retries with its backoff and the retry-after.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import { Connection, OAuth2, type TokenResponse } from "@jsforce/jsforce-node"
import type { AdapterError } from "@living-profile/core"
import { Context, Effect, Option, Redacted, type Scope, SynchronizedRef } from "effect"
import * as Errors from "./Errors.js"
import { passwordOf, type Resolved } from "./SalesforceConfig.js"

/** A logged-in jsforce connection. */
export type JsforceConnection = Connection

type Transport = Connection["_transport"]
type HttpRequestOptions = NonNullable<Parameters<Transport["httpRequest"]>[1]>

/** API usage as Salesforce last reported it (`Sforce-Limit-Info`). */
export interface ApiUsage {
  readonly used: number
  readonly limit: number
}

/** The Salesforce client of one adapter instance. */
export interface SalesforceClient {
  /** The target / source name errors carry. */
  readonly name: string
  /** The resolved options. */
  readonly config: Resolved
  /** Runs one jsforce call on the logged-in connection (logging in first if needed); failures mapped. */
  readonly call: <A>(
    operation: AdapterError.Operation,
    what: string,
    run: (conn: JsforceConnection) => Promise<A>
  ) => Effect.Effect<A, AdapterError.AdapterError>
  /** API usage from the last response, if any call was made. */
  readonly usage: Effect.Effect<Option.Option<ApiUsage>>
}

/** The tag of the Salesforce client (the adapter's layer provides it next to the core tags). */
export class Tag extends Context.Tag("@living-profile/salesforce/SalesforceClient")<
  Tag,
  SalesforceClient
>() {}

/** Whether a URL points at this machine (the emulator), where no proxy may be used. */
export const isLoopback = (url: string): boolean => {
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    return false
  }
  return (
    host === "localhost" ||
    host === "[::1]" ||
    host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  )
}

/** Status codes jsforce may retry itself (when `requestRetries` > 0): never 420/429 rate limits. */
const RETRIED_STATUSES = [500, 502, 503, 504]

/**
 * Wraps a jsforce transport: per-request timeout and retry settings, no proxy for loopback, and
 * the status / Retry-After of error responses recorded into the current call's observation.
 */
const tune = (
  transport: Transport,
  settings: { readonly timeoutMs: number; readonly retries: number },
  calls: AsyncLocalStorage<Errors.Observed>
): void => {
  const send = transport.httpRequest.bind(transport)
  transport.httpRequest = (req, options) => {
    const tuned: Record<string, unknown> = {
      timeout: settings.timeoutMs,
      ...options,
      retry: { maxRetries: settings.retries, statusCodes: RETRIED_STATUSES, ...options?.retry }
    }
    // jsforce merges options over its module-level defaults, so an explicit undefined wins over
    // the proxy it read from the environment.
    if (isLoopback(req.url)) tuned["httpProxy"] = undefined
    const observed = calls.getStore()
    const pending = send(req, tuned as HttpRequestOptions)
    if (observed !== undefined)
      pending.then(
        (res) => {
          observed.status = res.statusCode >= 400 ? res.statusCode : undefined
          observed.retryAfter = res.statusCode >= 400 ? res.headers["retry-after"] : undefined
        },
        () => undefined
      )
    return pending
  }
}

/** A client for the options; it logs in on first use and revokes its token when the scope closes. */
export const make = (config: Resolved): Effect.Effect<SalesforceClient, never, Scope.Scope> =>
  Effect.gen(function* () {
    const name = config.name
    const auth = config.auth
    const calls = new AsyncLocalStorage<Errors.Observed>()
    const settings = { timeoutMs: config.requestTimeoutMs, retries: config.requestRetries }
    const oauth2 = new OAuth2({
      loginUrl: config.loginUrl,
      clientId: auth.clientId,
      clientSecret: Redacted.value(auth.clientSecret)
    })
    tune(oauth2._transport, settings, calls)

    const grant = (): Promise<TokenResponse> =>
      auth.type === "password"
        ? oauth2.authenticate(auth.username, passwordOf(auth))
        : oauth2.requestToken({ grant_type: "client_credentials" })

    // Called by jsforce on a 401, inside the async context of the call that met it.
    const refreshFn = (
      _conn: Connection,
      callback: (err: Error | null | undefined, token?: string, res?: TokenResponse) => void
    ) => {
      const observed = calls.getStore()
      if (observed !== undefined && observed.refreshes >= 1) {
        observed.refreshFailure = Errors.fromJsforce(name, "push", "the refreshed session", {
          errorCode: "INVALID_SESSION_ID"
        })
        callback(new Error("the refreshed session was refused too"))
        return
      }
      if (observed !== undefined) observed.refreshes++
      const tokenCall = Errors.observe()
      calls.run(tokenCall, grant).then(
        (res) => callback(null, res.access_token, res),
        (e: unknown) => {
          if (observed !== undefined)
            observed.refreshFailure = Errors.fromJsforce(name, "push", "token request", e, tokenCall)
          callback(e instanceof Error ? e : new Error("token request failed"))
        }
      )
    }

    const login = (operation: AdapterError.Operation) => {
      const observed = Errors.observe()
      return Effect.tryPromise({
        try: () => calls.run(observed, grant),
        catch: (e) => Errors.fromJsforce(name, operation, "login", e, observed)
      }).pipe(
        Effect.map((token) => {
          const conn = new Connection({
            instanceUrl: config.instanceUrl ?? token.instance_url,
            accessToken: token.access_token,
            version: config.apiVersion,
            oauth2,
            refreshFn
          })
          tune(conn._transport, settings, calls)
          return conn
        })
      )
    }

    const state = yield* SynchronizedRef.make(Option.none<Connection>())
    // One login at a time; a failed login leaves no connection, so the next call tries again.
    const connection = (operation: AdapterError.Operation) =>
      SynchronizedRef.modifyEffect(state, (current) =>
        Option.isSome(current)
          ? Effect.succeed([current.value, current] as const)
          : Effect.map(login(operation), (conn) => [conn, Option.some(conn)] as const)
      )

    yield* Effect.addFinalizer(() =>
      Effect.flatMap(SynchronizedRef.get(state), (current) => {
        const token = Option.isSome(current) ? current.value.accessToken : undefined
        return typeof token === "string"
          ? Effect.tryPromise(() => oauth2.revokeToken(token)).pipe(
              Effect.timeout("2 seconds"),
              Effect.ignore
            )
          : Effect.void
      })
    )

    const call: SalesforceClient["call"] = (operation, what, run) =>
      Effect.flatMap(connection(operation), (conn) => {
        const observed = Errors.observe()
        return Effect.tryPromise({
          try: () => calls.run(observed, () => run(conn)),
          catch: (e) => Errors.fromJsforce(name, operation, what, e, observed)
        })
      })

    const usage = Effect.map(SynchronizedRef.get(state), (current) =>
      Option.flatMap(current, (conn) => {
        const api = conn.limitInfo?.apiUsage
        return api === undefined ? Option.none() : Option.some({ used: api.used, limit: api.limit })
      })
    )

    return { name, config, call, usage }
  })
