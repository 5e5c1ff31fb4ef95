/** How a logged request ended. */
export type Outcome = "pending" | "answered" | "dropped" | "aborted"

/** One request as the emulator saw it. */
export interface RequestLogEntry {
  /** Emulated time of arrival, ISO-8601. */
  readonly at: string
  readonly method: string
  /** Pathname without the query string. */
  readonly path: string
  /** The query string including its "?", or "". */
  readonly query: string
  /** HTTP status sent; 0 while pending or when no response was sent. */
  readonly status: number
  /** Request body size in bytes. */
  readonly bodySize: number
  /** Response body size in bytes. */
  readonly responseSize: number
  readonly outcome: Outcome
  /** Whether an injected fault decided the outcome. */
  readonly faulted: boolean
}

/** The mutable side of an entry, used by the server while the request runs. */
export interface PendingEntry {
  /** Records the response. */
  readonly answer: (status: number, responseSize: number, faulted: boolean) => void
  /** Records a connection that ended without a response. */
  readonly end: (outcome: "dropped" | "aborted", faulted: boolean) => void
}

/** Every request in arrival order. */
export class RequestLog {
  #entries: Array<RequestLogEntry> = []

  /** The entries so far (a copy). */
  entries(): ReadonlyArray<RequestLogEntry> {
    return [...this.#entries]
  }

  /** Appends a pending entry and returns its updater. */
  start(entry: Pick<RequestLogEntry, "at" | "method" | "path" | "query" | "bodySize">): PendingEntry {
    const index = this.#entries.length
    const generation = this.#entries
    this.#entries.push({ ...entry, status: 0, responseSize: 0, outcome: "pending", faulted: false })
    const update = (patch: Partial<RequestLogEntry>): void => {
      // A clear() while the request ran starts a new list; the old entry is then forgotten.
      const current = generation[index]
      if (generation !== this.#entries || current === undefined) return
      generation[index] = { ...current, ...patch }
    }
    return {
      answer: (status, responseSize, faulted) =>
        update({ status, responseSize, outcome: "answered", faulted }),
      end: (outcome, faulted) => update({ outcome, faulted })
    }
  }

  /** Forgets every entry. */
  clear(): void {
    this.#entries = []
  }
}
