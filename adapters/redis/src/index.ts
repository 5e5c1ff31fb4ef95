/** The Redis adapter: in progress (issue 5). */
export {}
