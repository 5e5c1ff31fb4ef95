/**
 * The log of requests the emulator answered, for assertions such as "201 records took two calls".
 * Bounded: the oldest entries go first past the limit.
 */

/** One answered (or faulted) request. */
export interface RequestLogEntry {
  readonly method: string
  /** URL path without the query string, e.g. `/services/data/v60.0/composite/sobjects`. */
  readonly path: string
  /** The query string with its `?`, or "". */
  readonly search: string
  /** HTTP status answered; 0 when the connection was dropped or left hanging. */
  readonly status: number
  /** Emulator-clock time of the answer (ISO-8601). */
  readonly at: string
  /** The injected fault, if one applied. */
  readonly fault?: "status" | "drop" | "hang" | "delay"
  /** For a Composite request: its subrequests, in order, with the status each answered. */
  readonly subrequests?: ReadonlyArray<SubrequestLogEntry>
}

/** One subrequest of a logged Composite request. */
export interface SubrequestLogEntry {
  readonly method: string
  /** The subrequest URL's path, without the query string. */
  readonly path: string
  readonly status: number
}

/** A bounded request log. */
export class RequestLog {
  private entries: Array<RequestLogEntry> = []

  constructor(private readonly limit: number) {}

  /** Appends an entry, dropping the oldest past the limit. */
  push(entry: RequestLogEntry): void {
    this.entries.push(entry)
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit)
  }

  /** A copy of the entries, oldest first. */
  snapshot(): ReadonlyArray<RequestLogEntry> {
    return [...this.entries]
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries = []
  }
}
