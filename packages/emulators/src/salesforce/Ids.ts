/**
 * Salesforce record ids: 15-character case-sensitive ids, their 18-character case-insensitive form
 * (three checksum characters that encode which of the first 15 characters are upper case), and
 * a generator that mints ids with an object's 3-character key prefix.
 */

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const checksumAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
const shape = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-5]{3})?$/

/** The three checksum characters of a 15-character id. */
export const checksum = (id15: string): string => {
  let out = ""
  for (let chunk = 0; chunk < 3; chunk++) {
    let flags = 0
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i)
      if (c >= 65 && c <= 90) flags |= 1 << i
    }
    out += checksumAlphabet[flags]
  }
  return out
}

/**
 * The canonical 18-character form of a 15- or 18-character id, or undefined when the text is not
 * an id. An 18-character id whose suffix does not match its first 15 characters is rejected, as
 * Salesforce rejects it.
 */
export const to18 = (text: string): string | undefined => {
  if (!shape.test(text)) return undefined
  const id15 = text.slice(0, 15)
  const sum = checksum(id15)
  if (text.length === 18 && text.slice(15).toUpperCase() !== sum) return undefined
  return id15 + sum
}

/** Whether the text has the shape of a Salesforce id (15 or 18 characters, valid checksum). */
export const isId = (text: string): boolean => to18(text) !== undefined

/** The 3-character key prefix of an id (which object it belongs to). */
export const keyPrefix = (id: string): string => id.slice(0, 3)

const encode = (n: number, width: number): string => {
  let out = ""
  let rest = n
  while (rest > 0) {
    out = base62[rest % 62] + out
    rest = Math.floor(rest / 62)
  }
  return out.padStart(width, "0")
}

/** Mints 18-character ids per key prefix: prefix + 2-character pod + "0" + 9-character counter. */
export interface IdGenerator {
  readonly next: (prefix: string) => string
}

/** An id generator whose counters start high enough that ids carry upper-case letters. */
export const makeGenerator = (pod = "8d"): IdGenerator => {
  const counters = new Map<string, number>()
  // Counters are never reset (not even by backdoor.reset()) so an id is never reused in a run.
  return {
    next: (prefix) => {
      const n = (counters.get(prefix) ?? 3_000_000) + 1
      counters.set(prefix, n)
      const id15 = `${prefix}${pod}0${encode(n, 9)}`
      return id15 + checksum(id15)
    }
  }
}
