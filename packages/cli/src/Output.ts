/**
 * The writers of the command's outputs: buffered text sinks with backpressure, the assignments
 * CSV and the profiles NDJSON, written from a store's profiles by `resolve` and `export` alike.
 * Files are written to a temporary name beside the target and renamed on success, so a failed
 * run never leaves a half-written output in place.
 */
import { stat, open, rename, unlink } from "node:fs/promises"
import { basename, dirname, join, resolve as resolvePath } from "node:path"
import type { Writable } from "node:stream"
import { finished } from "node:stream/promises"
import { IdentityResolver, type ProfileStore, type ResolverConfig } from "@living-profile/core"
import { type Chunk, Effect, Stream } from "effect"
import { errnoCode, IoError, runEffect, UsageError } from "./ExitCode.js"

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

/** Where a run writes the profiles and the assignments. */
export interface ProfileOutputs {
  /** Where to write the `source,id,profileId` CSV. */
  readonly assignments?: string | undefined
  /** Where to write one JSON line per profile. */
  readonly profiles?: string | undefined
  /** A stream that receives the profiles NDJSON when no `profiles` file is given; it is not ended. */
  readonly profilesStream?: Writable | undefined
}

/** The open sinks of the profile outputs; either may be absent. */
export interface ProfileSinks {
  readonly assignments: Sink | undefined
  readonly profiles: Sink | undefined
}

/**
 * Opens the sinks of the profile outputs, adding each to `sinks` (which the caller commits on
 * success and aborts on failure); the stream serves only when no profiles file is given.
 */
export const openProfileSinks = async (
  outputs: ProfileOutputs,
  sinks: Array<Sink>
): Promise<ProfileSinks> => {
  const add = (sink: Sink): Sink => {
    sinks.push(sink)
    return sink
  }
  const assignments = outputs.assignments === undefined ? undefined : add(await fileSink(outputs.assignments))
  const profiles =
    outputs.profiles !== undefined
      ? add(await fileSink(outputs.profiles))
      : outputs.profilesStream !== undefined
        ? add(streamSink(outputs.profilesStream))
        : undefined
  return { assignments, profiles }
}

/** How much `writeProfiles` wrote. */
export interface Written {
  readonly profiles: number
  readonly records: number
}

/**
 * Writes every profile of a store's stream: one JSON line per profile (`IdentityResolver.view`
 * under `config`) and, after the header, one assignments row per record. Fails with the
 * stream's failure or the sinks'.
 */
export const writeProfiles = async <E>(
  profiles: Stream.Stream<ProfileStore.StoredProfile, E>,
  config: ResolverConfig.ResolverConfig,
  sinks: ProfileSinks
): Promise<Written> => {
  const written = { profiles: 0, records: 0 }
  const { assignments, profiles: out } = sinks
  if (assignments !== undefined) await assignments.write(assignmentsHeader)
  const writeChunk = async (chunk: Chunk.Chunk<ProfileStore.StoredProfile>): Promise<void> => {
    for (const stored of chunk) {
      written.profiles++
      written.records += stored.records.length
      if (out !== undefined) {
        const p = out.write(`${JSON.stringify(IdentityResolver.view(stored, config))}\n`)
        if (p !== undefined) await p
      }
      if (assignments !== undefined) {
        for (const r of stored.records) {
          const p = assignments.write(assignmentLine(r.source, r.id, stored.profileId))
          if (p !== undefined) await p
        }
      }
    }
  }
  // Chunk by chunk: an async iterator over the stream costs a fiber round trip per profile.
  await runEffect(
    Stream.runForEachChunk(profiles, (chunk) =>
      Effect.tryPromise({ try: () => writeChunk(chunk), catch: (e) => e })
    )
  )
  return written
}

/**
 * Refuses to write an output over one of the files a run reads (`[description, path]`, e.g.
 * `["the input file", "in.ndjson"]`) or two outputs (`[flag, path]`) to one file.
 */
export const checkDistinct = (
  reads: ReadonlyArray<readonly [string, string | undefined]>,
  writes: ReadonlyArray<readonly [string, string | undefined]>
): void => {
  const seen = new Map<string, string>()
  for (const [what, path] of reads) if (path !== undefined) seen.set(resolvePath(path), what)
  for (const [flag, path] of writes) {
    if (path === undefined) continue
    const full = resolvePath(path)
    const other = seen.get(full)
    if (other !== undefined) throw new UsageError({ detail: `${flag} ${path} would overwrite ${other}` })
    seen.set(full, `the ${flag} file`)
  }
}
