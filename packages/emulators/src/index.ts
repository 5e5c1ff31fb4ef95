/** The emulators land with their issues (Salesforce: #6, HubSpot: #7). */
export {}
