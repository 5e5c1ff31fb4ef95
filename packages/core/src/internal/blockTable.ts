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
  /**
   * Slot i is [3i] = first hash, [3i + 1] = second hash, [3i + 2] = id + 1 (0: empty): one array so
   * that a probe touches one cache line, not three (at a million records the table is ~100 MB and
   * nearly every probe misses the cache).
   */
  private slots: Int32Array
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
    this.slots = new Int32Array(cap * 3)
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
    const slots = this.slots
    for (let i = (h1 ^ (h2 >>> 7)) & this.mask; ; i = (i + 1) & this.mask) {
      const o = i * 3
      const id = slots[o + 2]! - 1
      if (id < 0) return -1
      if (slots[o] === h1 && slots[o + 1] === h2) return id
    }
  }

  /** The id of a key; a new key gets `fresh` (the caller sees it came back and initialises it). */
  intern(key: string, fresh: number): number {
    return this.internHashed(hash1(key, this.seed1), hash2(key, this.seed2), fresh)
  }

  // A key streamed in parts hashes exactly like the string of those parts, so keys need not be built.
  private h1 = 0
  private h2 = 0
  private length = 0

  /** Starts a streamed key. */
  begin(): void {
    this.h1 = 0x811c9dc5 ^ this.seed1
    this.h2 = 0x9747b28c ^ this.seed2
    this.length = 0
  }

  /** Appends one UTF-16 code unit to the streamed key. */
  code(c: number): void {
    this.h1 = Math.imul(this.h1 ^ c, 0x01000193)
    const h = Math.imul(this.h2 ^ c, 0x5bd1e995)
    this.h2 = h ^ (h >>> 15)
    this.length++
  }

  /** Appends `s.slice(from, to)` to the streamed key. */
  text(s: string, from = 0, to = s.length): void {
    let h1 = this.h1
    let h2 = this.h2
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193)
      h2 = Math.imul(h2 ^ c, 0x5bd1e995)
      h2 ^= h2 >>> 15
    }
    this.h1 = h1
    this.h2 = h2
    this.length += to - from
  }

  /** `intern` of the streamed key. */
  internStreamed(fresh: number): number {
    return this.internHashed(this.h1 | 0, (this.h2 ^ this.length) | 0, fresh)
  }

  private internHashed(h1: number, h2: number, fresh: number): number {
    const slots = this.slots
    let i = (h1 ^ (h2 >>> 7)) & this.mask
    for (; ; i = (i + 1) & this.mask) {
      const o = i * 3
      const id = slots[o + 2]! - 1
      if (id < 0) break
      if (slots[o] === h1 && slots[o + 1] === h2) return id
    }
    const o = i * 3
    slots[o] = h1
    slots[o + 1] = h2
    slots[o + 2] = fresh + 1
    if (++this.count * 4 > (this.mask + 1) * 3) this.grow()
    return fresh
  }

  private grow(): void {
    const old = this.slots
    const cap = (this.mask + 1) * 2
    const slots = new Int32Array(cap * 3)
    const mask = cap - 1
    for (let o = 0; o < old.length; o += 3) {
      if (old[o + 2] === 0) continue
      const h1 = old[o]!
      const h2 = old[o + 1]!
      let i = (h1 ^ (h2 >>> 7)) & mask
      while (slots[i * 3 + 2] !== 0) i = (i + 1) & mask
      const p = i * 3
      slots[p] = h1
      slots[p + 1] = h2
      slots[p + 2] = old[o + 2]!
    }
    this.slots = slots
    this.mask = mask
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
    this.data = filled(Math.max(16, capacity), fill)
  }

  /** Makes index `i` addressable. */
  ensure(i: number): void {
    if (i < this.data.length) return
    let cap = this.data.length
    while (cap <= i) cap *= 2
    const next = filled(cap, this.fill)
    next.set(this.data)
    this.data = next
  }
}

/**
 * Dense record ids by record key (source and id), without building or keeping the key string:
 * a Map<string, number> costs a concatenated key string and an entry per record (~90 bytes, and
 * two allocations the young-generation GC must copy). Slots hold a 32-bit hash and the record id;
 * a hash match is confirmed by `same`, which compares the stored record's own source and id.
 */
export class RecordIndex {
  private hashes: Int32Array
  /** Record id + 1 (0: empty slot). */
  private ids: Int32Array
  private mask: number
  private count = 0
  private readonly seed: number

  constructor(
    private readonly same: (r: number, source: string, id: string) => boolean,
    capacity = 1 << 16
  ) {
    this.seed = randomBytes(4).readInt32LE(0)
    let cap = 16
    while (cap < capacity) cap <<= 1
    this.hashes = new Int32Array(cap)
    this.ids = new Int32Array(cap)
    this.mask = cap - 1
  }

  /** The record id of a key, or -1. */
  get(source: string, id: string): number {
    const h = keyHash(source, id, this.seed)
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const r = this.ids[i]! - 1
      if (r < 0) return -1
      if (this.hashes[i] === h && this.same(r, source, id)) return r
    }
  }

  /** Adds a key that is not present. */
  add(source: string, id: string, r: number): void {
    const h = keyHash(source, id, this.seed)
    let i = h & this.mask
    while (this.ids[i] !== 0) i = (i + 1) & this.mask
    this.hashes[i] = h
    this.ids[i] = r + 1
    if (++this.count * 4 > this.ids.length * 3) this.grow()
  }

  /** Removes a key (no-op when absent). */
  delete(source: string, id: string): void {
    const h = keyHash(source, id, this.seed)
    const mask = this.mask
    let i = h & mask
    for (; ; i = (i + 1) & mask) {
      const r = this.ids[i]! - 1
      if (r < 0) return
      if (this.hashes[i] === h && this.same(r, source, id)) break
    }
    this.count--
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    for (let j = i; ; ) {
      j = (j + 1) & mask
      if (this.ids[j] === 0) break
      const home = this.hashes[j]! & mask
      const between = i <= j ? home > i && home <= j : home > i || home <= j
      if (between) continue
      this.hashes[i] = this.hashes[j]!
      this.ids[i] = this.ids[j]!
      i = j
    }
    this.hashes[i] = 0
    this.ids[i] = 0
  }

  private grow(): void {
    const { hashes, ids } = this
    const cap = ids.length * 2
    this.hashes = new Int32Array(cap)
    this.ids = new Int32Array(cap)
    this.mask = cap - 1
    for (let j = 0; j < ids.length; j++) {
      if (ids[j] === 0) continue
      let i = hashes[j]! & this.mask
      while (this.ids[i] !== 0) i = (i + 1) & this.mask
      this.hashes[i] = hashes[j]!
      this.ids[i] = ids[j]!
    }
  }
}

/** FNV-1a over source, a separator and id, with a final avalanche so the low bits index well. */
const keyHash = (source: string, id: string, seed: number): number => {
  let h = 0x811c9dc5 ^ seed
  for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ 0x1f, 0x01000193)
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h | 0
}

/**
 * A typed array of `length` copies of `fill`. New typed arrays are already zero, and leaving them
 * untouched keeps the unused tail of a doubled column out of the resident set until it is used.
 */
const filled = (length: number, fill: number): Int32Array => {
  const a = new Int32Array(length)
  return fill === 0 ? a : a.fill(fill)
}
