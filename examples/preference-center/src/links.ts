/**
 * Signed, expiring links scoped to one profile: `v1.<profileId, base64url>.<expiry, epoch seconds>.<mac>`
 * where mac = HMAC-SHA-256(secret, "v1", profileId, expiry). The profile id in the token is the only
 * profile a request may touch: the server never takes one from the URL or the body.
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { Either, Redacted } from "effect"

/** What a valid token says. */
export interface LinkClaims {
  readonly profileId: string
  /** Epoch seconds. */
  readonly expiresAt: number
}

/** Why a token was refused; the page shows the same 403 for each, the reason is for tests and metrics. */
export type LinkRefusal = "malformed" | "bad-signature" | "expired"

/** Signs and verifies links with one secret. */
export interface LinkSigner {
  readonly sign: (profileId: string, expiresAt: number) => string
  readonly verify: (token: string, nowSeconds: number) => Either.Either<LinkClaims, LinkRefusal>
}

const VERSION = "v1"
// Profile ids are short; a longer token is not one of ours and is refused before any hashing.
const MAX_TOKEN_LENGTH = 512

const b64url = (bytes: Buffer): string => bytes.toString("base64url")

/** A signer over `secret` (at least 32 bytes: the MAC key). */
export const makeSigner = (secret: Redacted.Redacted<Uint8Array>): LinkSigner => {
  if (Redacted.value(secret).length < 32) throw new RangeError("the link secret must have at least 32 bytes")
  // The separator cannot occur in the fields (base64url and digits), so no two inputs share a MAC.
  const mac = (encodedId: string, expiresAt: string): Buffer =>
    createHmac("sha256", Redacted.value(secret)).update(`${VERSION}.${encodedId}.${expiresAt}`).digest()

  const sign = (profileId: string, expiresAt: number): string => {
    const encodedId = b64url(Buffer.from(profileId, "utf8"))
    const exp = String(Math.floor(expiresAt))
    return `${VERSION}.${encodedId}.${exp}.${b64url(mac(encodedId, exp))}`
  }

  const verify = (token: string, nowSeconds: number): Either.Either<LinkClaims, LinkRefusal> => {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return Either.left("malformed")
    const parts = token.split(".")
    if (parts.length !== 4) return Either.left("malformed")
    const [version, encodedId, exp, given] = parts as [string, string, string, string]
    if (version !== VERSION || !/^[A-Za-z0-9_-]+$/.test(encodedId) || !/^\d{1,12}$/.test(exp))
      return Either.left("malformed")
    if (!/^[A-Za-z0-9_-]+$/.test(given)) return Either.left("malformed")
    // Compare the canonical text of the MAC, not its decoded bytes: base64url's last character
    // carries padding bits, so decoding would accept several spellings of one signature.
    const expected = Buffer.from(b64url(mac(encodedId, exp)), "ascii")
    const actual = Buffer.from(given, "ascii")
    // timingSafeEqual needs equal lengths; a length mismatch reveals nothing about the secret.
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
      return Either.left("bad-signature")
    // The expiry is checked only once the MAC holds, so a forged expiry is a bad signature.
    const expiresAt = Number(exp)
    if (expiresAt <= nowSeconds) return Either.left("expired")
    const profileId = Buffer.from(encodedId, "base64url").toString("utf8")
    if (profileId.length === 0) return Either.left("malformed")
    return Either.right({ profileId, expiresAt })
  }

  return { sign, verify }
}
