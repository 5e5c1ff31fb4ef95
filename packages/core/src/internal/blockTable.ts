/**
 * An open-addressing hash table from block-key strings to dense integer ids, keyed by a 64-bit
 * hash (two independent 32-bit FNV-1a variants). Millions of blocking keys in a Map<string, number>
 * cost several hundred MB of strings and entries; here a key costs 12 bytes and the string is not kept.
 * Two different keys with the same 64-bit hash would share a block: that only adds candidates,
 * which the matcher still scores, and is vanishingly rare at a billion keys.
 *
 * Keys contain personal data (e-mails, phones, names). The hashes are seeded with random bits
 * drawn per table, so an entry left behind by an erased person cannot be matched against a guessed
 * e-mail by anyone without the seed, which lives and dies with the process.
 */
import { randomBytes } from "node:crypto"

export class BlockTable {
  private hi: Int32Array
  private lo: Int32Array
  private ids: Int32Array
  private mask: number
  private count = 0
  private readonly seed1: number
  private readonly seed2: number

  constructor(capacity = 1 << 16) {
    const seed = randomBytes(8)
    this.seed1 = seed.readInt32LE(0)
    this.seed2 = seed.readInt32LE(4)
    let cap = 16
    while (cap < capacity) cap <<= 1
    this.hi = new Int32Array(cap)
    this.lo = new Int32Array(cap)
    this.ids = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
  }

  /** Number of distinct keys. */
  get size(): number {
    return this.count
  }

  /** The id of a key, or -1. */
  get(key: string): number {
    const h1 = hash1(key, this.seed1)
    const h2 = hash2(key, this.seed2)
    let i = (h1 ^ (h2 >>> 7)) & this.mask
    for (;;) {
      const id = this.ids[i]!
      if (id === -1) return -1
      if (this.hi[i] === h1 && this.lo[i] === h2) return id
      i = (i + 1) & this.mask
    }
  }

  /** The id of a key; a new key gets `fresh` (the caller sees it came back and initialises it). */
  intern(key: string, fresh: number): number {
    const h1 = hash1(key, this.seed1)
    const h2 = hash2(key, this.seed2)
    let i = (h1 ^ (h2 >>> 7)) & this.mask
    for (;;) {
      const id = this.ids[i]!
      if (id === -1) break
      if (this.hi[i] === h1 && this.lo[i] === h2) return id
      i = (i + 1) & this.mask
    }
    const id = fresh
    this.hi[i] = h1
    this.lo[i] = h2
    this.ids[i] = id
    if (++this.count * 4 > this.ids.length * 3) this.grow()
    return id
  }

  private grow(): void {
    const { hi, lo, ids } = this
    const cap = ids.length * 2
    this.hi = new Int32Array(cap)
    this.lo = new Int32Array(cap)
    this.ids = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j]!
      if (id === -1) continue
      let i = (hi[j]! ^ (lo[j]! >>> 7)) & this.mask
      while (this.ids[i] !== -1) i = (i + 1) & this.mask
      this.hi[i] = hi[j]!
      this.lo[i] = lo[j]!
      this.ids[i] = id
    }
  }
}

const hash1 = (s: string, seed: number): number => {
  let h = 0x811c9dc5 ^ seed
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h | 0
}

const hash2 = (s: string, seed: number): number => {
  let h = 0x9747b28c ^ seed
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x5bd1e995)
    h ^= h >>> 15
  }
  return (h ^ s.length) | 0
}

/** A growable Int32Array. */
export class IntColumn {
  data: Int32Array
  constructor(
    capacity: number,
    private readonly fill: number
  ) {
    this.data = new Int32Array(Math.max(16, capacity)).fill(fill)
  }

  /** Makes index `i` addressable. */
  ensure(i: number): void {
    if (i < this.data.length) return
    let cap = this.data.length
    while (cap <= i) cap *= 2
    const next = new Int32Array(cap).fill(this.fill)
    next.set(this.data)
    this.data = next
  }
}
