/** The newsletter tool's consent target: make, layer, layerConfig. */
export * as NewsletterTarget from "./NewsletterTarget.js"
/** The tool's file format, its atomic reads and writes, and the mapping of file-system errors. */
export * as NewsletterFile from "./NewsletterFile.js"
/** Mappers between the tool's shapes and the shared ones. */
export * as Mappers from "./Mappers.js"
