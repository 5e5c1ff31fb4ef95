/**
 * How ioredis failures become `AdapterError` reasons.
 *
 * | ioredis / Redis says                                           | reason       | code                         |
 * | -------------------------------------------------------------- | ------------ | ---------------------------- |
 * | `NOAUTH`, `WRONGPASS`, `NOPERM` replies                         | Unauthorized | the reply's first word       |
 * | `WRONGTYPE`, `ERR` (syntax, bad stream id), other refusals      | Invalid      | the reply's first word       |
 * | `LOADING`, `BUSY`, `TRYAGAIN`, `MASTERDOWN`, `READONLY`, ...     | Transport    | the reply's first word       |
 * | socket errors (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, ...)  | Transport    | the socket's code            |
 * | retries exhausted while disconnected, connection closed         | as the last connection failure (Transport, or Unauthorized after `WRONGPASS`) | its code |
 * | `Command timed out`                                             | Transport    | `TIMEOUT` (or the connection failure while reconnecting) |
 * | anything else (`OOM`, an unknown reply, a throw)                | Unknown      | the reply's word or class    |
 *
 * `detail` names the command, never the reply's message: Redis echoes arguments in some errors,
 * and arguments here are identifiers, ids and consent values.
 */
import { AdapterError } from "@living-profile/core"

const UNAUTHORIZED = new Set(["NOAUTH", "WRONGPASS", "NOPERM"])
// The server is there but cannot answer now (loading, failover, a busy script): worth retrying.
const TRANSIENT = new Set([
  "LOADING",
  "BUSY",
  "TRYAGAIN",
  "MASTERDOWN",
  "READONLY",
  "CLUSTERDOWN",
  "NOREPLICAS",
  "MOVED",
  "ASK"
])
// Refusals of the request as it is; `ERR` covers syntax, bad stream ids and bad arguments.
const INVALID = new Set(["WRONGTYPE", "ERR", "EXECABORT", "NOSCRIPT", "UNKILLABLE", "CROSSSLOT"])
const SOCKET = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ECONNABORTED"
])

/** Where a failure happened, for the error's target, operation and detail. */
export interface Where {
  readonly target: string
  readonly operation: AdapterError.Operation
  /** The command or step, e.g. `HGETALL consent`; no personal data. */
  readonly step: string
  /**
   * How the client's last connection attempt failed, when it did: ioredis reports a refused
   * socket or refused credentials (`HELLO` answered `WRONGPASS`) only to its `error` event and
   * gives the caller a `MaxRetriesPerRequestError`.
   */
  readonly lastConnection?: Classified | undefined
}

/** A reason and a machine code. */
export interface Classified {
  readonly reason: AdapterError.Reason
  readonly code: string | undefined
}

const fieldOf = (e: unknown, key: string): unknown =>
  typeof e === "object" && e !== null ? (e as Record<string, unknown>)[key] : undefined

/** The reason and code of an ioredis failure. */
export const classify = (e: unknown, lastConnection?: Classified): Classified => {
  const name = fieldOf(e, "name")
  const message = fieldOf(e, "message")
  const code = fieldOf(e, "code")
  if (name === "ReplyError" && typeof message === "string") {
    const word = /^[A-Z]+/.exec(message)?.[0] ?? "REPLY"
    if (UNAUTHORIZED.has(word)) return { reason: "Unauthorized", code: word }
    if (TRANSIENT.has(word)) return { reason: "Transport", code: word }
    if (INVALID.has(word)) return { reason: "Invalid", code: word }
    return { reason: "Unknown", code: word }
  }
  if (typeof code === "string" && SOCKET.has(code)) return { reason: "Transport", code }
  if (name === "MaxRetriesPerRequestError") return lastConnection ?? { reason: "Transport", code: "RETRIES" }
  if (typeof message === "string") {
    // Timed out while (re)connecting: the connection failure is the better explanation.
    if (message === "Command timed out") return lastConnection ?? { reason: "Transport", code: "TIMEOUT" }
    // ioredis' own words when the socket is gone or never came up.
    if (
      message === "Connection is closed." ||
      message.startsWith("Stream isn't writeable") ||
      message.startsWith("connect ")
    )
      return lastConnection ?? { reason: "Transport", code: "CLOSED" }
  }
  return { reason: "Unknown", code: typeof name === "string" ? name : undefined }
}

/** An ioredis failure as an AdapterError. */
export const fromRedis = (e: unknown, where: Where): AdapterError.AdapterError => {
  if (AdapterError.isAdapterError(e)) return e
  const { reason, code } = classify(e, where.lastConnection)
  return new AdapterError.AdapterError({
    reason,
    target: where.target,
    detail: `${where.step} failed`,
    operation: where.operation,
    code
  })
}
