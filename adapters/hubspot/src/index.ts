/** The adapter: `make`, `layer(options)` and `layerConfig(config)` providing core's ConsentTarget and RecordSource tags. */
export { type HubSpot, layer, layerConfig, make, type Provided } from "./HubSpot.js"
/** Options, defaults, validation and the environment-reading Config. */
export * as HubSpotConfig from "./HubSpotConfig.js"
/** The rate-limited, retrying SDK client and its tag. */
export * as HubSpotClient from "./Client.js"
/** The mapping of HubSpot failures onto AdapterError reasons. */
export * as HubSpotErrors from "./Errors.js"
/** The consent target over a client. */
export * as HubSpotTarget from "./HubSpotTarget.js"
/** The record source over a client. */
export * as HubSpotSource from "./HubSpotSource.js"
/** HubSpot contacts as records, persons and identifiers. */
export * as ContactMapper from "./mappers/Contact.js"
/** HubSpot subscription statuses as our statuses, and our changes as status writes. */
export * as SubscriptionStatusMapper from "./mappers/SubscriptionStatus.js"
