/**
 * The command line: argument parsing (node:util parseArgs, strict), help texts, and the mapping
 * of outcomes to exit codes and messages. Messages never carry record values.
 */
import type { Writable } from "node:stream"
import { parseArgs } from "node:util"
import { ExitCode, InputError, isCliError, UsageError } from "./ExitCode.js"
import * as Progress from "./Progress.js"
import { HubSpotEmulator, SalesforceEmulator } from "@living-profile/emulators"
import { defaultBatchSize, resolveFile, type ResolveOptions } from "./Resolve.js"
import * as Summary from "./Summary.js"
import { version } from "./Version.js"

/** The streams the command talks to (the process's own, or test doubles). */
export interface Io {
  readonly stdout: Writable
  readonly stderr: { readonly write: (s: string) => unknown; readonly isTTY?: boolean | undefined }
}

/** Exit code of an internal failure (a bug): EX_SOFTWARE of sysexits.h, apart from the documented codes. */
export const internalErrorCode = 70

const exitCodes = `Exit codes:
  0  success
  1  a record could not be read (invalid JSON, schema error, bad CSV row) and no --rejects file was given
  2  usage error: unknown command or flag, missing or extra argument, bad flag value
  3  I/O error: input file not found or unreadable, output not writable
  4  invalid --config or --mapping file (the message names the field)
  70 internal error (a bug: please report it)`

/** Help of the command. */
export const mainHelp = `living-profile ${version}: one living profile per customer.

Usage:
  living-profile resolve <file.ndjson|file.csv> [options]
  living-profile emulator salesforce|hubspot [--port N] [options]
  living-profile --help | --version

Commands:
  resolve   resolve a file of records into living profiles (see: living-profile resolve --help)
  emulator  run the local Salesforce or HubSpot API emulator until interrupted
            (see: living-profile emulator salesforce --help)

Options:
  -h, --help      show this help
  -V, --version   print the version

${exitCodes}
`

/** Help of `resolve`. */
export const resolveHelp = `Usage: living-profile resolve <file.ndjson|file.csv> [options]

Streams the records of the file (NDJSON: one interchange record per line; a file ending in
.csv: a header row, columns mapped by name or by --mapping), resolves them into living
profiles, and writes the outputs. A record with "deleted": true removes that record.
With neither --profiles nor --assignments, the profiles go to stdout as NDJSON.

Options:
  --config <cfg.json>          resolver config: any subset of its fields, defaults for the rest
  --mapping <map.json>         which CSV columns are the source, id, identifiers and attributes
  --assignments <out.csv>      write "source,id,profileId", one row per record held
  --profiles <out.ndjson>      write one JSON line per living profile
  --rejects <rejects.ndjson>   set records that cannot be read aside here (with their line) and go on;
                               without it the first such record stops the run (exit code 1)
  --batch-size <n>             records per store write (default ${defaultBatchSize})
  --quiet                      no progress and no summary on stderr
  --json-summary               print the summary as one JSON line on stderr (for benchmarks)
  -h, --help                   show this help

Progress is shown on stderr when it is a terminal; a summary follows at the end.

${exitCodes}
`

const resolveOptions = {
  config: { type: "string" },
  mapping: { type: "string" },
  assignments: { type: "string" },
  profiles: { type: "string" },
  rejects: { type: "string" },
  "batch-size": { type: "string" },
  quiet: { type: "boolean" },
  "json-summary": { type: "boolean" },
  help: { type: "boolean", short: "h" }
} as const

const parse = <T>(f: () => T): T => {
  try {
    return f()
  } catch (e) {
    // parseArgs errors name the flag, which is what the user typed, not record data.
    throw new UsageError({ detail: e instanceof Error ? e.message : "invalid arguments" })
  }
}

/** Runs the command with its arguments (without `node` and the script); resolves to the exit code. */
export const run = async (argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  const say = (s: string) => io.stderr.write(s)
  try {
    const [command, ...rest] = argv
    if (command === undefined) {
      say(mainHelp)
      return ExitCode.Usage
    }
    if (command === "resolve") return await resolveCommand(rest, io)
    if (command === "emulator") return await emulatorCommand(rest)
    if (command === "help") {
      io.stdout.write(rest[0] === "resolve" ? resolveHelp : mainHelp)
      return ExitCode.Ok
    }
    if (!command.startsWith("-")) throw new UsageError({ detail: `unknown command "${command}"` })
    const { values } = parse(() =>
      parseArgs({
        args: [...argv],
        options: { help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "V" } },
        strict: true,
        allowPositionals: false
      })
    )
    if (values.version === true) io.stdout.write(`${version}\n`)
    else io.stdout.write(mainHelp)
    return ExitCode.Ok
  } catch (e) {
    return report(e, say)
  }
}

const report = (e: unknown, say: (s: string) => unknown): number => {
  if (isCliError(e)) {
    say(`living-profile: ${e.message}\n`)
    if (e instanceof UsageError) say(`Run "living-profile --help" for usage.\n`)
    if (e instanceof InputError && e.rejectable)
      say("(give --rejects <file> to set such records aside and go on)\n")
    return e.exitCode
  }
  // An unexpected failure is a bug; its message comes from our code or a library, not from record values.
  say(`living-profile: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  return internalErrorCode
}

const emulatorCommand = async (args: ReadonlyArray<string>): Promise<number> => {
  const [which, ...options] = args
  if (which === "salesforce") return SalesforceEmulator.main(options)
  if (which === "hubspot") {
    await HubSpotEmulator.main(options)
    return ExitCode.Ok
  }
  throw new UsageError({ detail: 'emulator: expected "salesforce" or "hubspot"' })
}

const resolveCommand = async (args: ReadonlyArray<string>, io: Io): Promise<number> => {
  const { values, positionals } = parse(() =>
    parseArgs({ args: [...args], options: resolveOptions, strict: true, allowPositionals: true })
  )
  if (values.help === true) {
    io.stdout.write(resolveHelp)
    return ExitCode.Ok
  }
  const [input, ...extra] = positionals
  if (input === undefined) throw new UsageError({ detail: "resolve: missing the input file argument" })
  if (extra.length > 0)
    throw new UsageError({ detail: `resolve: one input file expected, got ${positionals.length}` })
  let batchSize = defaultBatchSize
  if (values["batch-size"] !== undefined) {
    const text = values["batch-size"]
    if (!/^[1-9]\d*$/.test(text)) throw new UsageError({ detail: "--batch-size must be a positive integer" })
    batchSize = Number(text)
  }
  const quiet = values.quiet === true
  const progress = !quiet && io.stderr.isTTY === true ? Progress.line(io.stderr) : Progress.none
  const options: ResolveOptions = {
    input,
    batchSize,
    onProgress: progress.update,
    ...(values.config === undefined ? {} : { config: values.config }),
    ...(values.mapping === undefined ? {} : { mapping: values.mapping }),
    ...(values.assignments === undefined ? {} : { assignments: values.assignments }),
    ...(values.profiles === undefined ? {} : { profiles: values.profiles }),
    ...(values.rejects === undefined ? {} : { rejects: values.rejects }),
    ...(values.profiles === undefined && values.assignments === undefined
      ? { profilesStream: io.stdout }
      : {})
  }
  try {
    const summary = await resolveFile(options)
    progress.done()
    if (values["json-summary"] === true) io.stderr.write(`${JSON.stringify(summary)}\n`)
    else if (!quiet) io.stderr.write(Summary.format(summary))
    return ExitCode.Ok
  } finally {
    progress.done()
  }
}
