/** The adapter: `make`, `layer(options)` and `layerConfig(config)` providing core's ConsentTarget tag. */
export { layer, layerConfig, make, type RedisAdapter } from "./Redis.js"
/** Options, defaults, validation and the environment-reading Config. */
export * as RedisConfig from "./RedisConfig.js"
/** The key layout shared with edge services and stream writers. */
export * as RedisKeys from "./RedisKeys.js"
/** The ioredis connection and the adapter's Lua scripts. */
export * as RedisClient from "./RedisClient.js"
/** The mapping of ioredis failures onto AdapterError reasons. */
export * as RedisErrors from "./RedisErrors.js"
/** The consent target over a connection. */
export * as RedisConsentTarget from "./RedisConsentTarget.js"
