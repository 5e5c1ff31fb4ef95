/**
 * Encryption at rest of what the store holds about a person (record payloads, profile events,
 * rectifications): AES-256-GCM under a key ring, node:crypto only.
 *
 * A sealed value is `~<keyId>~<base64url(iv | tag | ciphertext)>`; plain values are JSON and
 * never start with `~`. The 96-bit IV is synthetic: the first 12 bytes of HMAC-SHA-256 of the
 * plaintext under a key derived from the data key. The same plaintext under the same key seals
 * to the same value (which the store relies on to see that a re-ingested record is unchanged), and
 * two different plaintexts never share an IV except by a 2^-96 accident, which is what GCM needs.
 * What it reveals: that two stored values are equal.
 *
 * Key rotation: add the new key to `keys`, make it `current` (new writes use it, old values stay
 * readable under their key id), run `RedisProfileStore.reseal` to rewrite every value under the
 * current key, then drop the old key from `keys`.
 */
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto"
import { Data, Redacted } from "effect"

/** The key ring: key id -> 32-byte key, base64; `current` seals new values. */
export interface Encryption {
  readonly keys: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly current: string
}

/** A key ring that cannot be used (no current key, a key of the wrong length, an unknown key id). */
export class SealingError extends Data.TaggedError("SealingError")<{ readonly problem: string }> {
  override get message(): string {
    return `Encryption: ${this.problem}`
  }
}

/** Seals and opens values. */
export interface Sealer {
  readonly seal: (plain: string) => string
  readonly open: (value: string) => string
  /** Whether a stored value is sealed under the current key (plain values are not). */
  readonly isCurrent: (value: string) => boolean
  /**
   * A check value per key id (HMAC of a constant under the key): a store records them and refuses
   * a process whose key under the same id differs, before it seals anything with it.
   */
  readonly checks: ReadonlyArray<readonly [keyId: string, check: string]>
}

/** Values stored as they are. */
export const plain: Sealer = {
  seal: (s) => s,
  open: (value) => {
    if (value.startsWith("~"))
      throw new SealingError({ problem: "a sealed value, and no key ring is configured" })
    return value
  },
  isCurrent: (value) => !value.startsWith("~"),
  checks: []
}

interface Key {
  readonly data: Buffer
  readonly iv: Buffer
}

/** A sealer over a key ring; throws SealingError when the ring is unusable. */
export const make = (encryption: Encryption): Sealer => {
  const ring = new Map<string, Key>()
  for (const [id, secret] of Object.entries(encryption.keys)) {
    if (!/^[A-Za-z0-9_-]+$/.test(id))
      throw new SealingError({ problem: `key id "${id}" must be [A-Za-z0-9_-]+` })
    const data = Buffer.from(Redacted.value(secret), "base64")
    if (data.length !== 32) throw new SealingError({ problem: `key "${id}" must be 32 bytes, base64` })
    ring.set(id, { data, iv: createHmac("sha256", data).update("living-profile/iv").digest() })
  }
  const current = ring.get(encryption.current)
  if (current === undefined)
    throw new SealingError({ problem: `current key "${encryption.current}" is not in keys` })
  const prefix = `~${encryption.current}~`
  return {
    seal: (text) => {
      const iv = createHmac("sha256", current.iv).update(text, "utf8").digest().subarray(0, 12)
      const cipher = createCipheriv("aes-256-gcm", current.data, iv)
      const body = Buffer.concat([cipher.update(text, "utf8"), cipher.final()])
      return `${prefix}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`
    },
    open: (value) => {
      if (!value.startsWith("~")) return value
      const end = value.indexOf("~", 1)
      const id = value.slice(1, end)
      const key = ring.get(id)
      if (key === undefined)
        throw new SealingError({ problem: `value sealed under key "${id}", not in keys` })
      const raw = Buffer.from(value.slice(end + 1), "base64url")
      try {
        const decipher = createDecipheriv("aes-256-gcm", key.data, raw.subarray(0, 12))
        decipher.setAuthTag(raw.subarray(12, 28))
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8")
      } catch {
        throw new SealingError({
          problem: `a value sealed under key "${id}" does not open with that key (a different key, or a damaged value)`
        })
      }
    },
    isCurrent: (value) => value.startsWith(prefix),
    checks: [...ring].map(
      ([id, key]) =>
        [id, createHmac("sha256", key.data).update("living-profile/key-check").digest("base64url")] as const
    )
  }
}
