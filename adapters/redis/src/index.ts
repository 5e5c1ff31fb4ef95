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
/** The SyncStore on Redis: cursors, known state, links, dirty marks, the outbox and its dead letters. */
export * as RedisSyncStore from "./RedisSyncStore.js"
/** A SyncStore with its own connection, and the layers providing core's SyncStore tag. */
export { layerSyncStore, layerSyncStoreConfig, makeSyncStore } from "./RedisSyncStore.js"
/** The ProfileStore on Redis: records, the change log, profiles and aliases shared by every process. */
export * as RedisProfileStore from "./RedisProfileStore.js"
export { make as makeProfileStore } from "./RedisProfileStore.js"
/** The ProfileStore's key layout. */
export * as ProfileKeys from "./ProfileKeys.js"
/** Encryption at rest of the ProfileStore's values (AES-256-GCM, key ring). */
export * as Sealing from "./Sealing.js"
