/** The Salesforce REST API emulator the real jsforce talks to. */
export * as SalesforceEmulator from "./salesforce/index.js"
/** The HubSpot API emulator the real @hubspot/api-client talks to. */
export * as HubSpotEmulator from "./hubspot/index.js"
