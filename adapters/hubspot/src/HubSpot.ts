/**
 * The adapter as a whole: the client, the consent target and the record source made from one set
 * of options, and the layers that provide core's `ConsentTarget` and `RecordSource` tags (and the
 * adapter's own `HubSpotClient`), so that user code depends on core only.
 */
import { ConsentTarget } from "@living-profile/core"
import { Config, type ConfigError, Context, Effect, Layer } from "effect"
import * as Client from "./Client.js"
import * as HubSpotConfig from "./HubSpotConfig.js"
import * as HubSpotSource from "./HubSpotSource.js"
import * as HubSpotTarget from "./HubSpotTarget.js"

/** What `make` gives: the target, the source and the client they share (one rate-limit budget). */
export interface HubSpot {
  readonly target: ConsentTarget.ConsentTarget
  readonly source: ConsentTarget.RecordSource
  readonly client: Client.HubSpotClient
}

/** Makes the adapter from options; fails when the options are not usable. */
export const make = (
  options: HubSpotConfig.Options
): Effect.Effect<HubSpot, HubSpotConfig.HubSpotConfigError> =>
  Effect.gen(function* () {
    const config = yield* HubSpotConfig.resolve(options)
    const client = yield* Client.make(config)
    return { target: HubSpotTarget.make(client, config), source: HubSpotSource.make(client, config), client }
  })

/** What the layers provide. */
export type Provided = ConsentTarget.Tag | ConsentTarget.RecordSourceTag | Client.Tag

/** A layer providing core's ConsentTarget and RecordSource tags, and the adapter's client tag, from options. */
export const layer = (
  options: HubSpotConfig.Options
): Layer.Layer<Provided, HubSpotConfig.HubSpotConfigError> =>
  Layer.effectContext(
    Effect.map(make(options), (hs) =>
      Context.make(ConsentTarget.Tag, hs.target).pipe(
        Context.add(ConsentTarget.RecordSourceTag, hs.source),
        Context.add(Client.Tag, hs.client)
      )
    )
  )

/** The same layer from a Config, e.g. `HubSpotConfig.fromEnv(...)`, read when the layer is built. */
export const layerConfig = (
  config: Config.Config.Wrap<HubSpotConfig.Options>
): Layer.Layer<Provided, HubSpotConfig.HubSpotConfigError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
