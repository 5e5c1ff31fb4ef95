/**
 * The adapter as a whole: a connection and the consent target over it, made from one set of
 * options, and the layers that provide core's `ConsentTarget.Tag`, so that user code depends on
 * core only. The connection is scoped: it closes when the layer (or the scope of `make`) ends.
 */
import { ConsentTarget } from "@living-profile/core"
import { Config, type ConfigError, Effect, Layer, type Scope } from "effect"
import * as RedisClient from "./RedisClient.js"
import * as RedisConfig from "./RedisConfig.js"
import * as RedisConsentTarget from "./RedisConsentTarget.js"
import * as RedisKeys from "./RedisKeys.js"

/** What `make` gives: the target, its connection and its key layout. */
export interface RedisAdapter {
  readonly target: ConsentTarget.ConsentTarget
  readonly client: RedisClient.RedisClient
  readonly keys: RedisKeys.Keys
  readonly config: RedisConfig.Resolved
}

/** Makes the adapter from options; the connection closes with the scope. */
export const make = (
  options: RedisConfig.Options = {}
): Effect.Effect<RedisAdapter, RedisConfig.RedisConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* RedisConfig.resolve(options)
    const client = yield* RedisClient.connect(config)
    return {
      target: RedisConsentTarget.make(client, config),
      client,
      keys: RedisKeys.make(config.keyPrefix, config.streamKey, config.identifierSecret),
      config
    }
  })

/** A layer providing core's ConsentTarget tag from options. */
export const layer = (
  options: RedisConfig.Options = {}
): Layer.Layer<ConsentTarget.Tag, RedisConfig.RedisConfigError> =>
  Layer.scoped(
    ConsentTarget.Tag,
    Effect.map(make(options), (a) => a.target)
  )

/** The same layer from a Config, e.g. `RedisConfig.fromEnv(...)`, read when the layer is built. */
export const layerConfig = (
  config: Config.Config.Wrap<RedisConfig.Options>
): Layer.Layer<ConsentTarget.Tag, RedisConfig.RedisConfigError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
