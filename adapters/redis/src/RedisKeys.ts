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
 *
 * The SyncStore's keys, all under `{prefix}sync:`, are laid out at `syncKeys` below.
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

// ---------------------------------------------------------------------------------------------
// SyncStore

const SAFE_NAME = /^[A-Za-z0-9\-_.!~*'()]$/

/**
 * A name (target, source, profile id) as it appears inside a SyncStore key or sorted-set member:
 * percent-encoded like `encodeURIComponent` (an unpaired surrogate as `%uXXXX`), so that it holds
 * no `:`, space, brace or glob character and two names never give the same key.
 */
export const encodeName = (name: string): string => {
  let out = ""
  for (const ch of name) {
    if (SAFE_NAME.test(ch)) out += ch
    else if (ch.length === 1 && ch >= "\ud800" && ch <= "\udfff")
      out += `%u${ch.charCodeAt(0).toString(16).toUpperCase()}`
    else out += encodeURIComponent(ch)
  }
  return out
}

/** The keys of a SyncStore (see `syncKeys`). */
export interface SyncKeys {
  /** Hash: source -> pull cursor. */
  readonly cursors: string
  /** Hash: target -> when its last complete pull started (epoch millis, decimal text). */
  readonly lastSync: string
  /** Hash of a profile's known state in a target: field -> KnownState JSON. */
  readonly known: (target: string, profileId: string) => string
  /** Hash: `["<target>","<externalId>"]` (JSON) -> that link's member of `linksOf`. */
  readonly linkTo: string
  /** Sorted set by name: `<profile> <seq> ["<profile>","<target>","<externalId>"]` per link. */
  readonly linksOf: string
  /** Counter: the order of links. */
  readonly linkSeq: string
  /** Sorted set: dirty profile id, scored by when it was marked (a counter). */
  readonly dirty: string
  /** Counter: the order of dirty marks. */
  readonly dirtySeq: string
  /** Hash of the pending items' parts, `<part>:<id>` -> value. */
  readonly pending: string
  /** Hash: `<kind>:<target>:<profile>` -> the id pending under that key. */
  readonly pendingKeys: string
  /** Sorted set by name: `<target> <S(nextAttemptAt)><S(enqueuedAt)><id>` per pending item. */
  readonly due: string
  /** Sorted set: pending item id, scored by enqueuedAt. */
  readonly age: string
  /** Hash of the dead letters' parts, `<part>:<id>` -> value. */
  readonly dead: string
  /** Sorted set: dead letter id, scored by parkedAt. */
  readonly parked: string
  /** Sorted set by name: `<kind>:<target>:<profile> <id>` per dead letter. */
  readonly deadKeys: string
  /** The outbox's keys in the order its scripts take them. */
  readonly outbox: ReadonlyArray<string>
}

/**
 * The SyncStore's keys under `prefix`. `<target>`, `<profile>` are `encodeName` of the names;
 * ids and JSON appear verbatim, last in a member, so they need no encoding.
 *
 * | key                                  | type   | holds                                                        |
 * | ------------------------------------ | ------ | ------------------------------------------------------------ |
 * | `{prefix}sync:cursors`               | hash   | source -> cursor                                             |
 * | `{prefix}sync:last-sync`             | hash   | target -> epoch millis                                       |
 * | `{prefix}sync:known:<target>:{<profile>}` | hash | field -> `{"status","at"?,"eventId"?}` (KnownState JSON)  |
 * | `{prefix}sync:{links}:to`            | hash   | `["<target>","<externalId>"]` -> the link's member below     |
 * | `{prefix}sync:{links}:of`            | zset   | `<profile> <seq, 16 digits> ["<profileId>","<target>","<externalId>"]`, all scores 0 |
 * | `{prefix}sync:{links}:seq`           | string | link counter                                                 |
 * | `{prefix}sync:{dirty}:marks`         | zset   | profile id scored by its mark's number                       |
 * | `{prefix}sync:{dirty}:seq`           | string | mark counter                                                 |
 * | `{prefix}sync:{outbox}:pending`      | hash   | per item id: `c:<id>` content JSON (the item without the four fields that follow), `e:<id>` enqueuedAt, `a:<id>` attempts, `n:<id>` nextAttemptAt, `x:<id>` lastError JSON (when any), `s:<id>` S(enqueuedAt), `k:<id>` its key, `m:<id>` its `due` member |
 * | `{prefix}sync:{outbox}:keys`         | hash   | `<kind>:<target>:<profile>` -> the id pending under it       |
 * | `{prefix}sync:{outbox}:due`          | zset   | `<target> <S(nextAttemptAt)><S(enqueuedAt)><id>`, all scores 0 |
 * | `{prefix}sync:{outbox}:age`          | zset   | item id scored by enqueuedAt                                 |
 * | `{prefix}sync:{outbox}:dead`         | hash   | per dead letter id: the parts above (without `m`) plus `t:<id>` `<target>`, `p:<id>` parkedAt, `f:<id>` failure JSON |
 * | `{prefix}sync:{outbox}:parked`       | zset   | dead letter id scored by parkedAt                            |
 * | `{prefix}sync:{outbox}:dead-keys`    | zset   | `<kind>:<target>:<profile> <id>`, all scores 0               |
 *
 * `S(x)` is `sortableNumber(x)`: 16 hex digits that sort as the numbers do, so that one
 * `ZRANGEBYLEX` reads a target's due items in (nextAttemptAt, enqueuedAt, id) order. Numbers are
 * kept as the decimal text JavaScript writes, so they read back exactly. Hash tags: a profile's
 * known state is tagged with the profile; links, dirty marks and the outbox each share one tag,
 * because one script must see all of them (moving a link between two profiles; finding an item by
 * id alone in `complete` and `requeue`), so on Redis Cluster each of those three lives in one slot.
 */
export const syncKeys = (prefix: string): SyncKeys => {
  const s = `${prefix}sync:`
  const o = `${s}{outbox}:`
  const keys = {
    cursors: `${s}cursors`,
    lastSync: `${s}last-sync`,
    known: (target: string, profileId: string) =>
      `${s}known:${encodeName(target)}:{${encodeName(profileId)}}`,
    linkTo: `${s}{links}:to`,
    linksOf: `${s}{links}:of`,
    linkSeq: `${s}{links}:seq`,
    dirty: `${s}{dirty}:marks`,
    dirtySeq: `${s}{dirty}:seq`,
    pending: `${o}pending`,
    pendingKeys: `${o}keys`,
    due: `${o}due`,
    age: `${o}age`,
    dead: `${o}dead`,
    parked: `${o}parked`,
    deadKeys: `${o}dead-keys`
  }
  return {
    ...keys,
    outbox: [keys.pending, keys.pendingKeys, keys.due, keys.age, keys.dead, keys.parked, keys.deadKeys]
  }
}

/**
 * A number as 16 hex digits that sort (as bytes) in the order of the numbers: the IEEE-754 bits,
 * with the sign bit flipped for positives and every bit flipped for negatives.
 */
export const sortableNumber = (x: number): string => {
  const b = Buffer.alloc(8)
  b.writeDoubleBE(x === 0 ? 0 : x)
  if ((b[0]! & 0x80) !== 0) for (let i = 0; i < 8; i++) b[i] = ~b[i]! & 0xff
  else b[0] = b[0]! | 0x80
  return b.toString("hex")
}

/** The number `sortableNumber` wrote. */
export const fromSortableNumber = (hex: string): number => {
  const b = Buffer.from(hex, "hex")
  if ((b[0]! & 0x80) !== 0) b[0] = b[0]! & 0x7f
  else for (let i = 0; i < 8; i++) b[i] = ~b[i]! & 0xff
  return b.readDoubleBE(0)
}
