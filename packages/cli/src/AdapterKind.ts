/**
 * What an adapter kind of the sync config is: how `sync` builds a consent target from a config
 * entry, and the pieces every kind uses to check its options (durations, located decoding errors
 * that never quote a value).
 */
import type { ConsentTarget } from "@living-profile/core"
import { Duration, Either, ParseResult, Schema, type Scope } from "effect"
import { ConfigInvalid } from "./ExitCode.js"

/** A non-empty string. */
export const NonEmpty = Schema.String.pipe(Schema.minLength(1))
/** A positive integer. */
export const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive())

/** A duration: milliseconds, or text such as `30 seconds` (millis, seconds, minutes, hours, days, weeks). */
export const DurationText = Schema.Union(
  Schema.Number.pipe(Schema.nonNegative()),
  Schema.String.pipe(
    Schema.pattern(/^\d+(\.\d+)? (millis?|seconds?|minutes?|hours?|days?|weeks?)$/, {
      message: () =>
        'a duration such as "30 seconds" (millis, seconds, minutes, hours, days, weeks) or milliseconds'
    })
  )
)

/** A decoded `DurationText` as a Duration. */
export const toDuration = (d: typeof DurationText.Type): Duration.Duration =>
  typeof d === "number" ? Duration.millis(d) : Duration.decode(d as Duration.DurationInput)

/**
 * A decoding failure as `path: problem`. Schema messages end in the offending value
 * (`..., actual "x"`), which may be a seeded e-mail: that part is cut.
 */
export const describe = (e: ParseResult.ParseError, prefix = ""): string =>
  ParseResult.ArrayFormatter.formatErrorSync(e)
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== "").join(".")
      return `${path === "" ? "(root)" : path}: ${i.message.replace(/,?\s*actual[\s\S]*$/, "")}`
    })
    .slice(0, 3)
    .join("; ")

/** What an adapter kind gets to build its target from. */
export interface AdapterContext {
  /** The target's name (from the entry). */
  readonly name: string
  /** The entry's `options` (undecoded: the adapter decodes them, e.g. with `decodeOptions`). */
  readonly options: Readonly<Record<string, unknown>>
  /** The config file, for error messages. */
  readonly file: string
  /** Where the options sit in the config (`targets.0.options`), for error messages. */
  readonly path: string
  /** The directory of the config file, which relative paths in options are read against. */
  readonly dir: string
  /** The environment secrets are read from (the process's, or a test's). */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Closed when the run ends: connections and sessions the target opens belong to it. */
  readonly scope: Scope.Scope
}

/** An adapter kind: how to build a target from a config entry. */
export interface AdapterKind {
  /** One line for `--help` and errors. */
  readonly description: string
  /**
   * Builds the target; throws ConfigInvalid naming the field when the options are wrong, and
   * UsageError naming the variable when a secret is missing from the environment.
   */
  readonly load: (context: AdapterContext) => Promise<ConsentTarget.ConsentTarget>
}

/** Decodes options with a schema; errors name the field under `targets.<n>.options`. */
export const decodeOptions = <A, I>(schema: Schema.Schema<A, I>, context: AdapterContext): A => {
  const r = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })(context.options)
  if (Either.isLeft(r))
    throw new ConfigInvalid({ file: context.file, detail: describe(r.left, context.path) })
  return r.right
}

/** An optional field of an entry's options: absent, never `undefined`. */
export const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })
