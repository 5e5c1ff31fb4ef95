/**
 * Exit codes of the `living-profile` command and the typed failures that map to them.
 * Messages name files, lines, fields and flags, never record values: inputs carry personal data.
 */
import type { SourceRecord } from "@living-profile/core"
import { Cause, Data, Effect, Exit } from "effect"

/** The documented exit codes; scripts rely on them, so they never change meaning. */
export const ExitCode = {
  /** The run finished. */
  Ok: 0,
  /** A record could not be read and no `--rejects` file was given. */
  BadInput: 1,
  /** Unknown flag, missing or extra argument, bad flag value. */
  Usage: 2,
  /** A file could not be read or written. */
  Io: 3,
  /** The resolver config or the CSV mapping is invalid. */
  Config: 4,
  /** The profile store (`--store`) failed: unreachable, refused the credentials, or could not be read. */
  Store: 5
} as const

/** One of the documented exit codes. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** The command line is wrong. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly detail: string }> {
  /** Exit code of this failure. */
  readonly exitCode: ExitCode = ExitCode.Usage
  override get message(): string {
    return this.detail
  }
}

/** A record (or the CSV header) could not be read, and the run stops. */
export class InputError extends Data.TaggedError("InputError")<{
  readonly error: SourceRecord.RecordDecodeError
  /** Whether `--rejects` would have set it aside (a bad CSV header stops the run regardless). */
  readonly rejectable: boolean
}> {
  /** Exit code of this failure. */
  readonly exitCode: ExitCode = ExitCode.BadInput
  override get message(): string {
    return this.error.message
  }
}

/** A file could not be opened, read or written. */
export class IoError extends Data.TaggedError("IoError")<{
  readonly path: string
  readonly action: "read" | "write"
  /** The system error code (ENOENT, EACCES...) when there is one. */
  readonly code: string | undefined
}> {
  /** Exit code of this failure. */
  readonly exitCode: ExitCode = ExitCode.Io
  override get message(): string {
    return `cannot ${this.action} ${this.path}: ${describeCode(this.code)}`
  }
}

/** The resolver config or the CSV mapping does not decode. */
export class ConfigInvalid extends Data.TaggedError("ConfigInvalid")<{
  readonly file: string
  readonly detail: string
}> {
  /** Exit code of this failure. */
  readonly exitCode: ExitCode = ExitCode.Config
  override get message(): string {
    return `${this.file}: ${this.detail}`
  }
}

/** The profile store failed; `store` is its URL without credentials. */
export class StoreFailure extends Data.TaggedError("StoreFailure")<{
  readonly store: string
  /** What failed and the failure's code (`write failed (ECONNREFUSED)`), never a reply's text. */
  readonly detail: string
}> {
  /** Exit code of this failure. */
  readonly exitCode: ExitCode = ExitCode.Store
  override get message(): string {
    return `store ${this.store}: ${this.detail}`
  }
}

/** Any failure the command reports with its own exit code. */
export type CliError = UsageError | InputError | IoError | ConfigInvalid | StoreFailure

/** Whether a thrown value is one of the command's typed failures. */
export const isCliError = (u: unknown): u is CliError =>
  u instanceof UsageError ||
  u instanceof InputError ||
  u instanceof IoError ||
  u instanceof ConfigInvalid ||
  u instanceof StoreFailure

/** Runs an effect, rejecting with its own failure (not a wrapper) so that typed errors keep their exit codes. */
export const runEffect = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

const codes: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a parent is not a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EMFILE: "too many open files",
  EEXIST: "already exists"
}

const describeCode = (code: string | undefined): string =>
  code === undefined ? "I/O error" : `${codes[code] ?? "I/O error"} (${code})`

/** The system error code of a thrown Node error, if any. */
export const errnoCode = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null || !("code" in u)) return undefined
  const code = (u as { code: unknown }).code
  return typeof code === "string" ? code : undefined
}
