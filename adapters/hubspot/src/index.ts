/** The hubspot adapter: in progress (issue tracker). */
export {}
