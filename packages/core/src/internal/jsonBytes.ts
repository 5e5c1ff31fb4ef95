/**
 * JSON text of a value written straight into a byte buffer as UTF-8, byte for byte what
 * `Buffer.from(JSON.stringify(value))` holds. The engine keeps every record as its JSON bytes; going
 * through a string first allocated the whole text once more per record, and that young garbage is
 * what made the collector run (and copy the caller's still unprocessed batch) so often.
 *
 * Only plain data is written here (plain objects, arrays, strings, finite and non-finite numbers,
 * booleans, null, undefined, functions and symbols, which JSON skips or writes as null). Anything
 * else (a `toJSON` method, a class instance, a boxed primitive, a bigint, nesting deeper than
 * MAX_DEPTH, which is also where a cycle would go) answers UNSUPPORTED, and the caller uses
 * `JSON.stringify` itself, so its output and its errors stay the reference.
 */

/** The value needs `JSON.stringify` (see above). */
export const UNSUPPORTED = -1
/** The buffer is too small from `from` on. */
export const OVERFLOW = -2

const MAX_DEPTH = 32
const OBJECT_PROTO = Object.prototype
const ARRAY_PROTO = Array.prototype

const HEX = "0123456789abcdef"

// Thrown (as values, never escaping this module) to unwind a nested write.
const overflow = { reason: OVERFLOW }
const unsupported = { reason: UNSUPPORTED }

let buf: Uint8Array = new Uint8Array(0)
let end = 0

/**
 * Writes the JSON of `value` into `out` from `from`, not past `limit`. Returns the end offset, or
 * OVERFLOW (write again into a larger buffer), or UNSUPPORTED (use `JSON.stringify`). A top-level
 * value JSON would not write at all (undefined, a function, a symbol) is UNSUPPORTED too.
 */
export const writeJson = (value: unknown, out: Uint8Array, from: number, limit: number): number => {
  // An enumerable property on Object.prototype would show up in for-in but not in JSON.
  for (const _ in OBJECT_PROTO) return UNSUPPORTED
  buf = out
  end = limit
  try {
    const t = typeof value
    if (value === undefined || t === "function" || t === "symbol") return UNSUPPORTED
    return writeValue(value, from, 0)
  } catch (e) {
    if (e === overflow) return OVERFLOW
    if (e === unsupported) return UNSUPPORTED
    throw e
  } finally {
    buf = EMPTY
  }
}

const EMPTY = new Uint8Array(0)

/** Writes a value that is not undefined, a function or a symbol (the caller skipped those). */
const writeValue = (v: unknown, p: number, depth: number): number => {
  switch (typeof v) {
    case "string":
      return writeString(v, p)
    case "number":
      return writeAscii(Number.isFinite(v) ? String(v) : "null", p)
    case "boolean":
      return writeAscii(v ? "true" : "false", p)
    case "object": {
      if (v === null) return writeAscii("null", p)
      if (depth >= MAX_DEPTH) throw unsupported
      const proto = Object.getPrototypeOf(v)
      if (proto === ARRAY_PROTO && Array.isArray(v)) return writeArray(v, p, depth + 1)
      if (proto !== OBJECT_PROTO && proto !== null) throw unsupported
      if (typeof (v as { toJSON?: unknown }).toJSON === "function") throw unsupported
      return writeObject(v as Record<string, unknown>, p, depth + 1)
    }
    default:
      // bigint: JSON.stringify throws, and should be the one to.
      throw unsupported
  }
}

const writeArray = (a: ReadonlyArray<unknown>, p: number, depth: number): number => {
  if (p + 2 > end) throw overflow
  buf[p++] = 0x5b // [
  for (let i = 0; i < a.length; i++) {
    if (i > 0) {
      if (p + 1 > end) throw overflow
      buf[p++] = 0x2c // ,
    }
    const x = a[i]
    const t = typeof x
    p =
      x === undefined || t === "function" || t === "symbol" ? writeAscii("null", p) : writeValue(x, p, depth)
  }
  if (p + 1 > end) throw overflow
  buf[p++] = 0x5d // ]
  return p
}

const writeObject = (o: Record<string, unknown>, p: number, depth: number): number => {
  if (p + 2 > end) throw overflow
  buf[p++] = 0x7b // {
  let first = true
  // for-in visits own enumerable string keys in JSON's order (integer keys first, then insertion
  // order); the prototype is Object.prototype (checked to have no enumerable keys) or null.
  for (const k in o) {
    const x = o[k]
    const t = typeof x
    if (x === undefined || t === "function" || t === "symbol") continue
    if (first) first = false
    else {
      if (p + 1 > end) throw overflow
      buf[p++] = 0x2c // ,
    }
    p = writeString(k, p)
    if (p + 1 > end) throw overflow
    buf[p++] = 0x3a // :
    p = writeValue(x, p, depth)
  }
  if (p + 1 > end) throw overflow
  buf[p++] = 0x7d // }
  return p
}

const writeAscii = (s: string, p: number): number => {
  const n = s.length
  if (p + n > end) throw overflow
  for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i)
  return p
}

/** A quoted, escaped string as JSON.stringify writes it (well-formed: lone surrogates escaped). */
const writeString = (s: string, p: number): number => {
  const n = s.length
  // Six bytes per code unit is the most any escape or UTF-8 sequence takes (a pair: four for two).
  if (p + n * 6 + 2 > end) {
    if (p + n + 2 > end) throw overflow
    return writeStringChecked(s, p)
  }
  const b = buf
  b[p++] = 0x22
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x20 && c < 0x7f) {
      if (c === 0x22 || c === 0x5c) b[p++] = 0x5c
      b[p++] = c
    } else {
      p = writeSpecial(s, i, c, p)
      i = lastI
    }
  }
  b[p++] = 0x22
  return p
}

// The last code unit writeSpecial consumed (a surrogate pair is two).
let lastI = 0

/** Writes code unit `c` at index `i` of `s` (not printable ASCII); sets lastI. */
const writeSpecial = (s: string, i: number, c: number, p: number): number => {
  const b = buf
  lastI = i
  if (c < 0x20) {
    b[p++] = 0x5c
    switch (c) {
      case 0x08:
        b[p++] = 0x62 // b
        break
      case 0x09:
        b[p++] = 0x74 // t
        break
      case 0x0a:
        b[p++] = 0x6e // n
        break
      case 0x0c:
        b[p++] = 0x66 // f
        break
      case 0x0d:
        b[p++] = 0x72 // r
        break
      default:
        b[p++] = 0x75 // u
        b[p++] = 0x30
        b[p++] = 0x30
        b[p++] = HEX.charCodeAt(c >> 4)
        b[p++] = HEX.charCodeAt(c & 15)
    }
  } else if (c === 0x7f) {
    b[p++] = c
  } else if (c < 0x800) {
    b[p++] = 0xc0 | (c >> 6)
    b[p++] = 0x80 | (c & 63)
  } else if (c < 0xd800 || c > 0xdfff) {
    b[p++] = 0xe0 | (c >> 12)
    b[p++] = 0x80 | ((c >> 6) & 63)
    b[p++] = 0x80 | (c & 63)
  } else {
    const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
    if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
      b[p++] = 0xf0 | (cp >> 18)
      b[p++] = 0x80 | ((cp >> 12) & 63)
      b[p++] = 0x80 | ((cp >> 6) & 63)
      b[p++] = 0x80 | (cp & 63)
      lastI = i + 1
    } else {
      // A lone surrogate: JSON.stringify escapes it (lowercase hex).
      b[p++] = 0x5c
      b[p++] = 0x75
      b[p++] = HEX.charCodeAt(c >> 12)
      b[p++] = HEX.charCodeAt((c >> 8) & 15)
      b[p++] = HEX.charCodeAt((c >> 4) & 15)
      b[p++] = HEX.charCodeAt(c & 15)
    }
  }
  return p
}

/** `writeString` near the end of the buffer: checks the room before every code unit. */
const writeStringChecked = (s: string, p: number): number => {
  if (p + 1 > end) throw overflow
  buf[p++] = 0x22
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x20 && c < 0x7f) {
      const escaped = c === 0x22 || c === 0x5c
      if (p + (escaped ? 2 : 1) > end) throw overflow
      if (escaped) buf[p++] = 0x5c
      buf[p++] = c
    } else {
      if (p + specialBytes(s, i, c) > end) throw overflow
      p = writeSpecial(s, i, c, p)
      i = lastI
    }
  }
  if (p + 1 > end) throw overflow
  buf[p++] = 0x22
  return p
}

/** How many bytes `writeSpecial` writes for code unit `c` at index `i` of `s`. */
const specialBytes = (s: string, i: number, c: number): number => {
  if (c < 0x20) return c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6
  if (c === 0x7f) return 1
  if (c < 0x800) return 2
  if (c < 0xd800 || c > 0xdfff) return 3
  const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
  return c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff ? 4 : 6
}
