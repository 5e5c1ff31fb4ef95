/** The `living-profile` command as a library: resolve files without spawning a process. */
export { resolveFile, defaultBatchSize, type ResolveOptions } from "./Resolve.js"
/** Writing the profiles a store holds, in the formats of `resolve`. */
export { exportStore, type ExportOptions } from "./Export.js"
/** The Redis profile store of `--store`: settings from the URL and the environment, opened per run. */
export * as Store from "./Store.js"
/** The summary of a run and its text form. */
export * as Summary from "./Summary.js"
/** The CSV mapping: schema, decoding and row plans. */
export * as Mapping from "./Mapping.js"
/** Streaming readers of NDJSON and CSV input. */
export * as Input from "./Input.js"
/** Output sinks and the assignments CSV format. */
export * as Output from "./Output.js"
/** Exit codes and the typed failures of the command. */
export * from "./ExitCode.js"
/** Running the command in-process with its arguments. */
export { run, type Io, mainHelp, resolveHelp, exportHelp, internalErrorCode } from "./Cli.js"
/** The package version. */
export { version } from "./Version.js"
