/**
 * The adapter as a whole: one client (one login) shared by the consent target and the record
 * source, and the layers that provide core's `ConsentTarget` and `RecordSource` tags plus this
 * adapter's `SalesforceClient`, so that user code depends only on core.
 */
import { type AdapterError, ConsentTarget } from "@living-profile/core"
import { type Config, type ConfigError, Context, Effect, Either, Layer, type Scope } from "effect"
import * as Client from "./Client.js"
import * as SalesforceConfig from "./SalesforceConfig.js"
import * as SalesforceSource from "./SalesforceSource.js"
import * as SalesforceTarget from "./SalesforceTarget.js"

/** A consent target and a record source over one Salesforce connection. */
export interface SalesforceAdapter {
  readonly target: ConsentTarget.ConsentTarget
  readonly source: ConsentTarget.RecordSource
  readonly client: Client.SalesforceClient
}

/** The adapter for the options (it logs in on first use and revokes its token when the scope closes). */
export const make = (
  options: SalesforceConfig.Options
): Effect.Effect<SalesforceAdapter, AdapterError.AdapterError, Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* Either.match(SalesforceConfig.resolve(options), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const client = yield* Client.make(config)
    const target = yield* SalesforceTarget.make(client)
    const source = yield* SalesforceSource.make(client)
    return { target, source, client }
  })

/** What the layers provide. */
export type Provided = ConsentTarget.Tag | ConsentTarget.RecordSourceTag | Client.Tag

const contextOf = (adapter: SalesforceAdapter) =>
  Context.make(ConsentTarget.Tag, adapter.target).pipe(
    Context.add(ConsentTarget.RecordSourceTag, adapter.source),
    Context.add(Client.Tag, adapter.client)
  )

/** A layer providing the consent target, the record source and the client for the options. */
export const layer = (options: SalesforceConfig.Options): Layer.Layer<Provided, AdapterError.AdapterError> =>
  Layer.scopedContext(Effect.map(make(options), contextOf))

/** The same layer with options read from configuration (default: `SalesforceConfig.fromEnv()`). */
export const layerConfig = (
  config: Config.Config<SalesforceConfig.Options> = SalesforceConfig.fromEnv()
): Layer.Layer<Provided, AdapterError.AdapterError | ConfigError.ConfigError> =>
  Layer.scopedContext(Effect.flatMap(config, (options) => Effect.map(make(options), contextOf)))
