/** The adapter: `make`, `layer(options)`, `layerConfig(config)` (providing core's ConsentTarget and RecordSource). */
export { layer, layerConfig, make, type Provided, type SalesforceAdapter } from "./Salesforce.js"
/** The adapter as a whole: make, layers, what they provide. */
export * as Salesforce from "./Salesforce.js"
/** Options, defaults, the consent mapping and `fromEnv`. */
export * as SalesforceConfig from "./SalesforceConfig.js"
/** The jsforce connection: login, refresh, per-call error mapping; its tag. */
export * as SalesforceClient from "./Client.js"
/** jsforce and Salesforce failures as AdapterError reasons. */
export * as SalesforceErrors from "./Errors.js"
/** The consent target over a client. */
export * as SalesforceTarget from "./SalesforceTarget.js"
/** The record source over a client. */
export * as SalesforceSource from "./SalesforceSource.js"
