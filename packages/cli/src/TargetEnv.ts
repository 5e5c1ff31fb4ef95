/**
 * The environment of a sync target: an adapter reads its credentials with its own `Config`
 * (`SalesforceConfig.fromEnv`, `HubSpotConfig.fromEnv`), under the variable names it documents.
 * A config entry may name other variables instead (`"env": { "SALESFORCE_CLIENT_SECRET":
 * "EU_ORG_SECRET" }`, so that two orgs can run side by side) and may give the non-secret values
 * (a login URL) itself. Both are applied by the ConfigProvider the adapter's Config runs under,
 * so the adapter's reading stays the only one. Messages name variables, never their values.
 */
import { type Config, type ConfigError, ConfigProvider, Effect, Either, Schema } from "effect"
import type { AdapterContext } from "./AdapterKind.js"
import { ConfigInvalid, UsageError } from "./ExitCode.js"

/** The name of an environment variable. */
export const VariableName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: () => "an environment variable name" })
)

/** How one adapter's Config meets the environment of one target. */
export interface TargetEnv {
  /** Every variable the adapter's Config reads, by its documented name. */
  readonly variables: ReadonlyArray<string>
  /** Documented name to the variable read instead (from the entry's `env`). */
  readonly renames?: Readonly<Partial<Record<string, string>>> | undefined
  /** Documented name to a value from the config file (non-secret options); it wins over the environment. */
  readonly fromFile?: Readonly<Record<string, string | undefined>> | undefined
  /** Documented names that must not be read at all (e.g. the password flow's, for client credentials). */
  readonly ignore?: ReadonlyArray<string> | undefined
  /** Documented names that must be set although the Config treats them as optional. */
  readonly require?: ReadonlyArray<string> | undefined
  /** Documented name to the option of the entry that may give it instead, for messages. */
  readonly options?: Readonly<Record<string, string>> | undefined
}

/** The variable a documented name is read from for this target. */
export const variableOf = (spec: TargetEnv, name: string): string => spec.renames?.[name] ?? name

const paths = (e: ConfigError.ConfigError): Array<{ readonly name: string; readonly missing: boolean }> => {
  switch (e._op) {
    case "And":
    case "Or":
      return [...paths(e.left), ...paths(e.right)]
    case "MissingData":
      return [{ name: e.path.join("."), missing: true }]
    default:
      return [{ name: e.path.join("."), missing: false }]
  }
}

/**
 * Runs the adapter's Config against the target's environment. A variable that is unset or empty
 * counts as missing; every missing one is named in one usage error (exit code 2).
 */
export const read = <A>(config: Config.Config<A>, spec: TargetEnv, context: AdapterContext): A => {
  const ignored = new Set(spec.ignore ?? [])
  const map = new Map<string, string>()
  for (const name of spec.variables) {
    if (ignored.has(name)) continue
    const value = spec.fromFile?.[name] ?? context.env[variableOf(spec, name)]
    if (value !== undefined && value !== "") map.set(name, value)
  }
  const result = Effect.runSync(Effect.either(Effect.withConfigProvider(config, ConfigProvider.fromMap(map))))
  const problems = Either.isLeft(result) ? paths(result.left) : []
  for (const name of spec.require ?? [])
    if (!map.has(name) && !problems.some((p) => p.name === name)) problems.push({ name, missing: true })
  if (problems.length === 0 && Either.isRight(result)) return result.right
  const named = (name: string) => {
    const variable = variableOf(spec, name)
    const option = spec.options?.[name]
    return option === undefined ? variable : `${variable} (or ${context.path}.${option})`
  }
  const missing = [...new Set(problems.filter((p) => p.missing).map((p) => named(p.name)))]
  const invalid = [...new Set(problems.filter((p) => !p.missing).map((p) => named(p.name)))]
  const where = `sync target "${context.name}" (${context.path.replace(/\.options$/, "")})`
  const parts = [
    ...(missing.length === 0
      ? []
      : [`needs the environment variable${missing.length === 1 ? "" : "s"} ${missing.join(", ")}`]),
    ...(invalid.length === 0
      ? []
      : [
          `has an invalid value in the environment variable${invalid.length === 1 ? "" : "s"} ${invalid.join(", ")}`
        ])
  ]
  // Only names reach the message: values may be secrets.
  throw new UsageError({
    detail: `${where} ${parts.length === 0 ? "cannot read its environment" : parts.join(" and ")}`
  })
}

/** Refuses credentials in the config file, naming the variable that holds them (never the value). */
export const refuseCredentials = (context: AdapterContext, where: Readonly<Record<string, string>>): void => {
  for (const [option, variable] of Object.entries(where))
    if (Object.hasOwn(context.options, option))
      throw new ConfigInvalid({
        file: context.file,
        detail: `${context.path}.${option}: credentials are read from the environment, not from the config file: set ${variable} (or name other variables in ${context.path}.env)`
      })
}
