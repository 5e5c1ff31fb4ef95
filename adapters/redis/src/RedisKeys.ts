/**
 * The key layout, shared by the adapter, by edge services that read consent and by writers of the
 * change stream. Every key of a person carries the person's id as its hash tag (`{...}`), so all of
 * them live in one Redis Cluster slot and one script or `DEL` may touch them together.
 *
 * | key                              | type   | holds                                                         |
 * | -------------------------------- | ------ | ------------------------------------------------------------- |
 * | `{prefix}consent:{<externalId>}` | hash   | `<field>` -> status; `__modifiedAt:<field>`, `__policyVersion:<field>` |
 * | `{prefix}person:{<externalId>}`  | hash   | `identifiers` (JSON), `attributes` (JSON), `index` (JSON list of index keys), `createdAt` |
 * | `{prefix}entries:{<externalId>}` | set    | ids of the person's change-stream entries (for erasure)       |
 * | `{prefix}ident:{<hmac>}`         | string | the externalId holding the identifier; `hmac` = base64url HMAC-SHA-256 |
 * | `{prefix}changes`                | stream | changes written by other services; pull reads it              |
 */
import { createHmac } from "node:crypto"
import { Redacted } from "effect"

/** Prefix of the hash fields holding when a field last changed (ISO-8601, `toISOString` form). */
export const MODIFIED_AT = "__modifiedAt:"
/** Prefix of the hash fields holding the policy version recorded with a field. */
export const POLICY_VERSION = "__policyVersion:"

/** The keys of one adapter instance. */
export interface Keys {
  readonly prefix: string
  /** The consent hash the edge reads with `HGETALL`. */
  readonly consent: (externalId: string) => string
  /** The person's record: identifiers, attributes, the index keys naming them. */
  readonly person: (externalId: string) => string
  /** The set of the person's change-stream entry ids. */
  readonly entries: (externalId: string) => string
  /** The index key of an identifier (a keyed hash: the raw value never appears in a key). */
  readonly ident: (type: string, value: string) => string
  /** The change stream. */
  readonly stream: string
  /** A `SCAN MATCH` pattern for every key of this prefix. */
  readonly pattern: string
}

/**
 * An identifier as the index compares it: e-mails case-insensitively in NFC (as core's reference
 * target does), other types verbatim.
 */
export const normalize = (type: string, value: string): string =>
  type === "email" ? value.normalize("NFC").toLowerCase() : value

/** The keyed hash naming an identifier's index key. */
export const identifierHash = (secret: Redacted.Redacted<string>, type: string, value: string): string =>
  createHmac("sha256", Redacted.value(secret))
    .update(`${type}\u0000${normalize(type, value)}`, "utf8")
    .digest("base64url")

/** The keys under `prefix`, with the stream at `{prefix}{streamKey}`. */
export const make = (prefix: string, streamKey: string, secret: Redacted.Redacted<string>): Keys => ({
  prefix,
  consent: (id) => `${prefix}consent:{${id}}`,
  person: (id) => `${prefix}person:{${id}}`,
  entries: (id) => `${prefix}entries:{${id}}`,
  ident: (type, value) => `${prefix}ident:{${identifierHash(secret, type, value)}}`,
  stream: `${prefix}${streamKey}`,
  // SCAN MATCH is a glob: escape its metacharacters in the prefix.
  pattern: `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`
})
