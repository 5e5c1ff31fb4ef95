/**
 * The key layout of the RedisProfileStore. Records, identifiers and tombstones appear in key names
 * and set members only as keyed hashes (HMAC-SHA-256 under the store's secret), never as values.
 *
 * | key                        | type   | holds                                                                 |
 * | -------------------------- | ------ | --------------------------------------------------------------------- |
 * | `<prefix>{g}rec`           | hash   | record hash -> `<updatedAt ms>\|<record JSON, or sealed (AES-256-GCM)>` |
 * | `<prefix>{g}log`           | stream | the ordered change log: `u` upserted, `r` removed, `e` erased record hashes (comma-separated) |
 * | `<prefix>{g}mat`           | string | the log entry id through which the derived keys below are up to date |
 * | `<prefix>{g}rp`            | hash   | record hash -> profile id                                              |
 * | `<prefix>{g}alias`         | hash   | absorbed profile id -> the id it was merged into                      |
 * | `<prefix>{g}seq`           | string | the profile id counter                                                 |
 * | `<prefix>{g}tomb`          | set    | suppression tombstones of erased persons (keyed hashes)               |
 * | `<prefix>{g}audit`         | list   | the hash-chained audit log, oldest first (JSON entries)               |
 * | `<prefix>{g}auditHead`     | string | the last audit entry (JSON), for compare-and-append                   |
 * | `<prefix>{g}keys`          | hash   | encryption key id -> check value (HMAC of a constant under the key)   |
 * | `<prefix>pm:{<profileId>}` | set    | the profile's member record hashes                                     |
 * | `<prefix>pa:{<profileId>}` | set    | profile ids merged into it (transitively)                              |
 * | `<prefix>pe:{<profileId>}` | list   | consent events attached to the profile itself (JSON, or sealed)        |
 * | `<prefix>pr:{<profileId>}` | list   | rectifications of the profile (JSON, or sealed)                        |
 *
 * Per-profile keys carry the profile id as their hash tag and the global keys share the tag `{g}`.
 * The store's scripts touch both kinds at once, so it runs on a standalone Redis (or a primary
 * with replicas); on Redis Cluster the global keys would need the per-shard split the README
 * describes.
 */
import { createHmac } from "node:crypto"
import { SourceRecord } from "@living-profile/core"

/** The keys under one prefix. */
export interface ProfileKeys {
  readonly prefix: string
  readonly rec: string
  readonly log: string
  readonly mat: string
  readonly rp: string
  readonly alias: string
  readonly seq: string
  readonly tomb: string
  readonly audit: string
  readonly auditHead: string
  readonly keyChecks: string
  readonly members: (profileId: string) => string
  readonly absorbed: (profileId: string) => string
  readonly events: (profileId: string) => string
  readonly rectifications: (profileId: string) => string
  /** A `SCAN MATCH` pattern for every key of this prefix. */
  readonly pattern: string
}

/** The keys of a store under `prefix`. */
export const make = (prefix: string): ProfileKeys => ({
  prefix,
  rec: `${prefix}{g}rec`,
  log: `${prefix}{g}log`,
  mat: `${prefix}{g}mat`,
  rp: `${prefix}{g}rp`,
  alias: `${prefix}{g}alias`,
  seq: `${prefix}{g}seq`,
  tomb: `${prefix}{g}tomb`,
  audit: `${prefix}{g}audit`,
  auditHead: `${prefix}{g}auditHead`,
  keyChecks: `${prefix}{g}keys`,
  members: (id) => `${prefix}pm:{${id}}`,
  absorbed: (id) => `${prefix}pa:{${id}}`,
  events: (id) => `${prefix}pe:{${id}}`,
  rectifications: (id) => `${prefix}pr:{${id}}`,
  pattern: `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`
})

/**
 * The keyed hash naming a record (`source` and `id`): 128 bits of HMAC-SHA-256, base64url
 * (22 characters), enough to make a collision among billions of records negligible.
 */
export const recordHash = (secret: Uint8Array, ref: SourceRecord.RecordRef): string =>
  createHmac("sha256", secret)
    .update(`r\u001f${SourceRecord.recordKey(ref)}`, "utf8")
    .digest("base64url")
    .slice(0, 22)

/** Profile ids of the store: `p` and a zero-padded base-36 sequence, so that text order is age order. */
export const profileId = (seq: number): string => `p${seq.toString(36).padStart(8, "0")}`
