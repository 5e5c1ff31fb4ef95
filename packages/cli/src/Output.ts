/**
 * The writers of the command's outputs: buffered text sinks with backpressure, the assignments
 * CSV and the profiles NDJSON. Files are written to a temporary name beside the target and
 * renamed on success, so a failed run never leaves a half-written output in place.
 */
import { stat, open, rename, unlink } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import type { Writable } from "node:stream"
import { finished } from "node:stream/promises"
import { errnoCode, IoError } from "./ExitCode.js"

/** A text sink. `write` returns a promise only when the caller must wait (the buffer is flushing into a full stream). */
export interface Sink {
  readonly write: (text: string) => Promise<void> | undefined
  /** Flushes and finishes the output (for a file: puts it in place). */
  readonly commit: () => Promise<void>
  /** Drops the output (for a file: removes the temporary file). */
  readonly abort: () => Promise<void>
}

/** Waits until a full stream drains (or fails or closes), leaving no listener behind. */
const drained = (stream: Writable): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done)
      stream.off("close", done)
      stream.off("error", done)
      resolve()
    }
    stream.on("drain", done)
    stream.on("close", done)
    stream.on("error", done)
  })

// Chunks of this size keep the number of stream writes low without holding much in memory.
const FLUSH_AT = 64 * 1024

const buffered = (
  stream: Writable,
  failure: () => unknown
): { write: (text: string) => Promise<void> | undefined; flush: () => Promise<void> } => {
  let buf = ""
  const push = async (chunk: string): Promise<void> => {
    const err = failure()
    if (err !== undefined) throw err
    if (!stream.write(chunk)) {
      await drained(stream)
      const after = failure()
      if (after !== undefined) throw after
    }
  }
  return {
    write: (text) => {
      buf += text
      if (buf.length < FLUSH_AT) return undefined
      const chunk = buf
      buf = ""
      return push(chunk)
    },
    flush: async () => {
      if (buf.length === 0) return
      const chunk = buf
      buf = ""
      await push(chunk)
    }
  }
}

/** Opens a file sink; fails at once (exit code 3) when the target cannot be written. */
export const fileSink = async (path: string): Promise<Sink> => {
  const ioError = (e: unknown) => new IoError({ path, action: "write", code: errnoCode(e) })
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory()) throw new IoError({ path, action: "write", code: "EISDIR" })
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
  const handle = await open(tmp, "w").catch((e: unknown) => {
    throw ioError(e)
  })
  const stream = handle.createWriteStream()
  let failed: IoError | undefined
  stream.on("error", (e) => {
    failed ??= ioError(e)
  })
  const out = buffered(stream, () => failed)
  let done = false
  return {
    write: out.write,
    commit: async () => {
      await out.flush()
      done = true
      stream.end()
      await finished(stream).catch(() => undefined)
      if (failed !== undefined) throw failed
      await rename(tmp, path).catch((e: unknown) => {
        throw ioError(e)
      })
    },
    abort: async () => {
      if (done) return
      done = true
      stream.destroy()
      await finished(stream).catch(() => undefined)
      await unlink(tmp).catch(() => undefined)
    }
  }
}

/** A sink on a stream the process does not own (stdout): never ended; a reader that went away (EPIPE) ends the output quietly. */
export const streamSink = (stream: Writable, name = "stdout"): Sink => {
  let gone = false
  let failed: IoError | undefined
  stream.on("error", (e) => {
    if (errnoCode(e) === "EPIPE") gone = true
    else failed ??= new IoError({ path: name, action: "write", code: errnoCode(e) })
  })
  const out = buffered(stream, () => failed)
  return {
    write: (text) => (gone ? undefined : out.write(text)),
    commit: async () => {
      if (!gone) await out.flush()
      if (failed !== undefined) throw failed
    },
    abort: async () => undefined
  }
}

const NEEDS_QUOTES = /[",\r\n]/

/** One CSV field, quoted when it holds a comma, quote or line break, or starts or ends with spaces. */
export const csvField = (value: string): string =>
  NEEDS_QUOTES.test(value) ||
  (value.length > 0 && (value.charCodeAt(0) <= 32 || value.charCodeAt(value.length - 1) <= 32))
    ? `"${value.replace(/"/g, '""')}"`
    : value

/** Header line of the assignments CSV. */
export const assignmentsHeader = "source,id,profileId\n"

/** One line of the assignments CSV. */
export const assignmentLine = (source: string, id: string, profileId: string): string =>
  `${csvField(source)},${csvField(id)},${csvField(profileId)}\n`
