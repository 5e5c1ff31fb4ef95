/**
 * Progress of a long run on a terminal: one line, redrawn at most a few times a second.
 * Only counts are shown, never record values.
 */

/** What progress reports. */
export interface Tick {
  /** Reading and resolving the input, or writing the outputs. */
  readonly phase: "reading" | "writing"
  readonly read: number
  readonly rejects: number
  readonly seconds: number
}

/** A progress display. */
export interface Progress {
  readonly update: (tick: Tick) => void
  /** Erases the line so the summary starts on a clean one. */
  readonly done: () => void
}

/** A display that shows nothing (stderr is not a terminal, or `--quiet`). */
export const none: Progress = { update: () => undefined, done: () => undefined }

const n = (x: number): string => x.toLocaleString("en-US")

/** A one-line display on a terminal stream, redrawn every `intervalMs` at most. */
export const line = (out: { write: (s: string) => unknown }, intervalMs = 200): Progress => {
  let last = 0
  let shown = false
  return {
    update: (t) => {
      const now = Date.now()
      // The switch to writing is always shown: it can take a while on large runs.
      if (now - last < intervalMs && t.phase === "reading") return
      last = now
      shown = true
      const rate = t.seconds > 0 ? Math.round(t.read / t.seconds) : 0
      out.write(
        t.phase === "writing"
          ? `\r\x1b[Kwriting outputs (${n(t.read)} records read)`
          : `\r\x1b[Kresolving: ${n(t.read)} records, ${n(rate)} records/s${t.rejects > 0 ? `, ${n(t.rejects)} rejected` : ""}`
      )
    },
    done: () => {
      if (shown) out.write("\r\x1b[K")
    }
  }
}
