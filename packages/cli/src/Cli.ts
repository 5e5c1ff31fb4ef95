/**
 * The command line: argument parsing (node:util parseArgs, strict), help texts, and the mapping
 * of outcomes to exit codes and messages. Messages never carry record values.
 */
import type { Writable } from "node:stream"
import { parseArgs } from "node:util"
import { ResolverConfig } from "@living-profile/core"
import { loadConfig } from "./Config.js"
import { ExitCode, InputError, isCliError, UsageError } from "./ExitCode.js"
import { exportStore } from "./Export.js"
import * as Output from "./Output.js"
import * as Progress from "./Progress.js"
import { HubSpotEmulator, SalesforceEmulator } from "@living-profile/emulators"
import { defaultBatchSize, resolveFile, type ResolveOptions } from "./Resolve.js"
import * as Store from "./Store.js"
import * as Summary from "./Summary.js"
import * as HubSpotKind from "./HubSpotKind.js"
import * as SalesforceKind from "./SalesforceKind.js"
import { adapters, syncFile } from "./Sync.js"
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
  2  usage error: unknown command or flag, missing or extra argument, bad flag value,
     --store without ${Store.secretVariable}, a sync target's secret not set in the environment
  3  I/O error: input file not found or unreadable, output not writable
  4  invalid --config or --mapping file (the message names the field)
  5  store error: the --store cannot be reached, refused the credentials, or failed
  70 internal error (a bug: please report it)`

const storeHelp = `Environment (with --store):
  ${Store.secretVariable}               required: the secret of the store's keyed hashes,
                                      the same for every run on one store
  ${Store.keyPrefixVariable}           the key prefix when --key-prefix is not given
  LIVING_PROFILE_ENCRYPTION_KEYS      encryption at rest: id:base64key,id:base64key (32-byte keys)
  LIVING_PROFILE_ENCRYPTION_CURRENT   the key id that seals new values (with the keys)
  REDIS_USERNAME, REDIS_PASSWORD      credentials (safer than in the URL, which ps shows)`

/** Help of the command. */
export const mainHelp = `living-profile ${version}: one living profile per customer.

Usage:
  living-profile resolve <file.ndjson|file.csv> [options]
  living-profile export --store <url> [--assignments out.csv] [--profiles out.ndjson]
  living-profile sync --config <sync.json> [--once] [--dry-run]
  living-profile emulator salesforce|hubspot [--port N] [options]
  living-profile --help | --version

Commands:
  resolve   resolve a file of records into living profiles, in memory or into a store
            (see: living-profile resolve --help)
  export    write the profiles a store holds, as resolve writes them
            (see: living-profile export --help)
  sync      keep consent targets and living profiles in step, both ways
            (see: living-profile sync --help)
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
  --store <url>                resolve into the Redis profile store at redis://host:port/db (rediss://
                               for TLS) and keep the profiles there; without it they live in memory.
                               Every run on one store needs the same --config and secret
  --key-prefix <prefix>        the store's key prefix (default: $${Store.keyPrefixVariable}, else "${Store.defaultKeyPrefix}")
  --quiet                      no progress and no summary on stderr
  --json-summary               print the summary as one JSON line on stderr (for benchmarks)
  -h, --help                   show this help

Progress is shown on stderr when it is a terminal; a summary follows at the end.

${storeHelp}

${exitCodes}
`

/** Help of `export`. */
export const exportHelp = `Usage: living-profile export --store <url> [options]

Reads the living profiles a store holds (as resolve --store left them) and writes them in the
formats of resolve. With neither --profiles nor --assignments, the profiles go to stdout as NDJSON.

Options:
  --store <url>                the Redis profile store: redis://host:port/db (rediss:// for TLS); required
  --key-prefix <prefix>        its key prefix (default: $${Store.keyPrefixVariable}, else "${Store.defaultKeyPrefix}")
  --config <cfg.json>          resolver config: the one the profiles were resolved with (its survivorship
                               rules choose the attributes of each profile)
  --assignments <out.csv>      write "source,id,profileId", one row per record held
  --profiles <out.ndjson>      write one JSON line per living profile
  --quiet                      no summary on stderr
  --json-summary               print the summary as one JSON line on stderr
  -h, --help                   show this help

A summary (profiles, records) follows on stderr.

${storeHelp}

${exitCodes}
`

/** Help of `sync`. */
export const syncHelp = `Usage: living-profile sync --config <sync.json> [--once] [--dry-run]

Keeps the configured consent targets and the living profiles in step, both ways. A cycle pulls
every target's changes since its checkpoint, resolves each changed person to a living profile,
takes their choices into the profile's consent ledger (a change made on both sides is settled
newest-wins and audited), then records every profile's effective consent that a target does not
hold yet in a durable outbox and pushes it, in batches, retrying failures with exponential
backoff. A change pulled from one target reaches the others and is never sent back to it.
Without --once a cycle runs every pollInterval until interrupted (Ctrl-C lets the batch in
flight finish or leaves it in the outbox, then exits).

Options:
  --config <sync.json>   the sync configuration (required; format below)
  --once                 one cycle, retrying failed items until each is done or parked, then exit
  --dry-run              pull and diff, print the diffs, push nothing, move no cursor
  -h, --help             show this help

Configuration (JSON; paths are relative to the config file):
  {
    "targets": [                              one entry per system; names are unique
      { "name": "newsletter",                 the target's name: the source of its events
        "kind": "memory",                     the adapter, see below
        "options": { },                       the adapter's options
        "rateLimit": { "requests": 10, "per": "1 second" },   optional token bucket
        "concurrency": 1 }                    optional: batches in flight to this target
    ],
    "resolver": "resolver.json",              optional resolver config: a file or an inline object
    "records": "customers.ndjson",            optional records (NDJSON or .csv) resolved before the first cycle
    "pollInterval": "30 seconds",             wait between cycles without --once (default 30 seconds)
    "retry": { "maxAttempts": 5, "base": "1 second", "factor": 2, "maxDelay": "5 minutes", "jitter": true },
    "scan": "all"                             all: diff every profile each cycle; dirty: only those pulled
  }
  Durations are milliseconds or text: "<n> millis|seconds|minutes|hours|days|weeks".

Adapter kinds:
${Object.entries(adapters)
  .map(([kind, a]) => `  ${kind.padEnd(11)}${a.description}`)
  .join("\n")}
  memory options: maxBatchSize, pageSize, identifiers (["email"]), holds (["withdrawn"]), mapping,
  seed: [{ "identifiers": { "email": ["..."] }, "attributes": { }, "fields": { "newsletter": "granted" } }]
  salesforce options: loginUrl, instanceUrl, apiVersion, flow ("password" | "client-credentials"), env,
    batchSize, maxBatchSize, pageSize, objects, consent, attributes, placeholderLastName,
    createMissingPurposes, captureContactPointType, erasure, requestTimeout, requestRetries
  hubspot options: subscriptions (required: [{ "purpose": "marketing", "subscriptionId": 1001 }]),
    basePath, env, legalBasis, batchSize, burstBudget, searchBudget, pullPageSize, pullSettle,
    attributes, retry, requestTimeout, concurrency

Credentials are read from the environment, never from the config file (a missing one: exit code 2):
  salesforce  ${SalesforceKind.variables.clientId}, ${SalesforceKind.variables.clientSecret}, and for the password flow
              ${SalesforceKind.variables.username}, ${SalesforceKind.variables.password}, ${SalesforceKind.variables.securityToken} (optional);
              ${SalesforceKind.variables.loginUrl}, ${SalesforceKind.variables.instanceUrl}, ${SalesforceKind.variables.apiVersion} when the options lack them
  hubspot     ${HubSpotKind.variables.accessToken}; ${HubSpotKind.variables.basePath} when the options lack basePath
  An entry reads other variables with "env": { "${SalesforceKind.variables.clientSecret}": "EU_ORG_SECRET" }.

Output: one JSON object per line on stdout, its "type" first:
  pull        per target: pages, changes, records, events, echoes, skipped, and an error if it failed
  conflict    a change made on both sides since the last sync, and which side won
  diff        a diff recorded in the outbox ("queued", "replaced") or, with --dry-run, "dry-run":
              target, profileId, itemId, ref (externalId | identifiers), changes [{ key, field, from, to }]
  outcome     applied | erased | retry | parked | stopped | cancelled, with attempts and reason
  cycle       the cycle's summary: changes, diffs, applied, parked, pending, deadLetters, lagMillis
  deadLetter  at exit, every parked item with its reason
Lines carry profile ids, field names, statuses and reasons, never identifiers or attributes.

${exitCodes}
`

const syncOptions = {
  config: { type: "string" },
  once: { type: "boolean" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" }
} as const

const resolveOptions = {
  config: { type: "string" },
  mapping: { type: "string" },
  assignments: { type: "string" },
  profiles: { type: "string" },
  rejects: { type: "string" },
  "batch-size": { type: "string" },
  store: { type: "string" },
  "key-prefix": { type: "string" },
  quiet: { type: "boolean" },
  "json-summary": { type: "boolean" },
  help: { type: "boolean", short: "h" }
} as const

const exportOptions = {
  store: { type: "string" },
  "key-prefix": { type: "string" },
  config: { type: "string" },
  assignments: { type: "string" },
  profiles: { type: "string" },
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
    if (command === "export") return await exportCommand(rest, io)
    if (command === "sync") return await syncCommand(rest, io)
    if (command === "emulator") return await emulatorCommand(rest)
    if (command === "help") {
      const help = new Map([
        ["resolve", resolveHelp],
        ["export", exportHelp],
        ["sync", syncHelp]
      ])
      io.stdout.write(help.get(rest[0] ?? "") ?? mainHelp)
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
  const store = await storeSettings(values.store, values["key-prefix"])
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
    const summary =
      store === undefined
        ? await resolveFile(options)
        : await Store.withStore(store, await configOf(values.config), (s) =>
            resolveFile({ ...options, store: s })
          )
    progress.done()
    if (values["json-summary"] === true) io.stderr.write(`${JSON.stringify(summary)}\n`)
    else if (!quiet) io.stderr.write(Summary.format(summary))
    return ExitCode.Ok
  } finally {
    progress.done()
  }
}

/** The store of `--store` and `--key-prefix`, checked; undefined without --store. */
const storeSettings = async (
  url: string | undefined,
  keyPrefix: string | undefined
): Promise<Store.StoreSettings | undefined> => {
  if (url === undefined) {
    if (keyPrefix !== undefined) throw new UsageError({ detail: "--key-prefix applies with --store only" })
    return undefined
  }
  return await Store.settings({ url, keyPrefix })
}

const configOf = async (path: string | undefined): Promise<ResolverConfig.ResolverConfig> =>
  path === undefined ? ResolverConfig.defaults : await loadConfig(path)

const exportCommand = async (args: ReadonlyArray<string>, io: Io): Promise<number> => {
  const { values, positionals } = parse(() =>
    parseArgs({ args: [...args], options: exportOptions, strict: true, allowPositionals: true })
  )
  if (values.help === true) {
    io.stdout.write(exportHelp)
    return ExitCode.Ok
  }
  if (positionals.length > 0)
    throw new UsageError({ detail: "export: no arguments expected besides the options" })
  if (values.store === undefined) throw new UsageError({ detail: "export: --store <url> is required" })
  const store = await Store.settings({ url: values.store, keyPrefix: values["key-prefix"] })
  Output.checkDistinct(
    [["the --config file", values.config]],
    [
      ["--assignments", values.assignments],
      ["--profiles", values.profiles]
    ]
  )
  const config = await configOf(values.config)
  const summary = await Store.withStore(store, config, async (s) => {
    await Store.settle(s)
    return exportStore({
      store: s,
      ...(values.assignments === undefined ? {} : { assignments: values.assignments }),
      ...(values.profiles === undefined ? {} : { profiles: values.profiles }),
      ...(values.profiles === undefined && values.assignments === undefined
        ? { profilesStream: io.stdout }
        : {})
    })
  })
  if (values["json-summary"] === true)
    io.stderr.write(`${JSON.stringify({ store: store.display, keyPrefix: store.keyPrefix, ...summary })}\n`)
  else if (values.quiet !== true)
    io.stderr.write(Summary.formatExport(summary, `${store.display} (key prefix ${store.keyPrefix})`))
  return ExitCode.Ok
}

const syncCommand = async (args: ReadonlyArray<string>, io: Io): Promise<number> => {
  const { values, positionals } = parse(() =>
    parseArgs({ args: [...args], options: syncOptions, strict: true, allowPositionals: true })
  )
  if (values.help === true) {
    io.stdout.write(syncHelp)
    return ExitCode.Ok
  }
  if (positionals.length > 0)
    throw new UsageError({ detail: "sync: no arguments expected besides the options" })
  if (values.config === undefined) throw new UsageError({ detail: "sync: --config <sync.json> is required" })
  const once = values.once === true
  // In continuous mode the first SIGINT or SIGTERM stops after the batch in flight.
  let onSignal = () => {}
  const stop = new Promise<void>((resolve) => {
    onSignal = () => resolve()
  })
  if (!once) {
    process.once("SIGINT", onSignal)
    process.once("SIGTERM", onSignal)
  }
  try {
    await syncFile({ config: values.config, once, dryRun: values["dry-run"] === true, out: io.stdout, stop })
    return ExitCode.Ok
  } finally {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  }
}
