/** The salesforce adapter: in progress (issue tracker). */
export {}
