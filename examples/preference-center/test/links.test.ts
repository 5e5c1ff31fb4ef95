import { randomBytes } from "node:crypto"
import { Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { makeSigner } from "../src/links.js"

const signer = makeSigner(Redacted.make<Uint8Array>(randomBytes(32)))
const NOW = 1_800_000_000

describe("signed links", () => {
  it("verify what they sign, until they expire", () => {
    const token = signer.sign("p0000001", NOW + 60)
    expect(signer.verify(token, NOW)).toEqual(Either.right({ profileId: "p0000001", expiresAt: NOW + 60 }))
    expect(signer.verify(token, NOW + 60)).toEqual(Either.left("expired"))
  })

  it("refuse a changed signature, profile id or expiry", () => {
    const token = signer.sign("p0000001", NOW + 60)
    const [v, id, exp, mac] = token.split(".") as [string, string, string, string]
    const flipped = `${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`
    expect(signer.verify(`${v}.${id}.${exp}.${flipped}`, NOW)).toEqual(Either.left("bad-signature"))
    const other = Buffer.from("p0000002").toString("base64url")
    expect(signer.verify(`${v}.${other}.${exp}.${mac}`, NOW)).toEqual(Either.left("bad-signature"))
    expect(signer.verify(`${v}.${id}.${NOW + 999_999}.${mac}`, NOW)).toEqual(Either.left("bad-signature"))
    expect(signer.verify(`${v}.${id}.${exp}.${mac.slice(0, 10)}`, NOW)).toEqual(Either.left("bad-signature"))
  })

  it("refuse tokens of another secret", () => {
    const other = makeSigner(Redacted.make<Uint8Array>(randomBytes(32)))
    expect(signer.verify(other.sign("p0000001", NOW + 60), NOW)).toEqual(Either.left("bad-signature"))
  })

  it("refuse malformed tokens without hashing them", () => {
    for (const bad of ["", "v1", "v1.a.b", "v2.cDE.1.abc", "v1.cDE.x1.abc", "v1.c+E.1.abc", "v1.cDE.1.a.b"])
      expect(signer.verify(bad, NOW)).toEqual(Either.left("malformed"))
    expect(signer.verify("x".repeat(600), NOW)).toEqual(Either.left("malformed"))
  })

  it("need a secret of at least 32 bytes", () => {
    expect(() => makeSigner(Redacted.make<Uint8Array>(randomBytes(16)))).toThrow(RangeError)
  })
})

describe("canonical signatures", () => {
  it("refuses another spelling of the same MAC (a changed padding bit in the last character)", () => {
    const links = makeSigner(Redacted.make(new Uint8Array(32).fill(7)))
    const token = links.sign("p0000001", 4_000_000_000)
    const last = token.slice(-1)
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    const i = alphabet.indexOf(last)
    // Same upper 4 bits (the ones that carry data), different padding bits.
    const twin = alphabet[(i & ~3) | ((i & 3) ^ 1)]!
    expect(Either.isRight(links.verify(token, 1))).toBe(true)
    expect(Either.isLeft(links.verify(`${token.slice(0, -1)}${twin}`, 1))).toBe(true)
  })
})
