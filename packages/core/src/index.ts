/** The interchange record: schema, decoding with located errors, record keys. */
export * as SourceRecord from "./SourceRecord.js"
