/**
 * The resolution engine: blocking index, match graph and incremental clustering over dense
 * integer record ids. Synchronous and allocation-conscious: this is the hot path.
 *
 * The partition it maintains is a function of the set of records, not of their order:
 * an edge joins two records iff they share a usable block (a fuzzy block of at most
 * `maxBlockSize` records, or an identifier block of at most `maxIdentifierRecords`), no veto
 * separates them, and either they share an unambiguous linking identifier or their fuzzy
 * score reaches the threshold. When a block's usability or an identifier's ambiguity changes,
 * the pairs inside it are re-evaluated, so the edge set always equals that definition, and a
 * profile is a connected component of the edges (the cluster-size cap is the one exception,
 * and says so with a warning event).
 */
import { Buffer } from "node:buffer"
import * as Matcher from "../Matcher.js"
import { ProfileEvent } from "../ProfileEvent.js"
import type { ResolverConfig } from "../ResolverConfig.js"
import type { RecordRef, SourceRecord } from "../SourceRecord.js"
import { BlockTable, IntColumn, RecordIndex } from "./blockTable.js"
import { type KeyWriter, writeFuzzyKeys } from "./blocking.js"
import { UNSUPPORTED, writeJson } from "./jsonBytes.js"

/** Flags of a block. */
const IDENT = 1
const LINKING = 2
const AMBIGUOUS = 4
/** An identifier block's type, as `Features.idMask` bits shifted left by TYPE_SHIFT. */
const TYPE_SHIFT = 3

/** What happened to one upserted record. */
export type UpsertOutcome = "created" | "updated" | "unchanged" | "stale"

/** Counters the engine keeps (for summaries and benchmarks). */
export interface EngineStats {
  records: number
  profiles: number
  merges: number
  splits: number
  candidatePairs: number
  edges: number
  capWarnings: number
}

export class Engine {
  // records, by dense id (ids are never reused, so an id also orders records by first arrival)
  readonly refs: Array<RecordRef | undefined> = []
  /**
   * Each live record as its JSON text in UTF-8, in large off-heap chunks: a graph of small objects
   * would double the memory, and even one string per record is copied twice by the young-generation
   * collector before it settles (at a million records that copying was most of the GC time).
   * A record's bytes are [payOff, payOff + payLen) of chunk payAt (-1: not live).
   */
  private chunks: Array<Buffer> = []
  private chunkUsed = 0
  /** Where `encode` left its bytes: a chunk index, or -1 for `spare`. */
  private encAt = -1
  private spare: Buffer = Buffer.alloc(1 << 16)
  private liveBytes = 0
  private deadBytes = 0
  private readonly payAt = new IntColumn(1 << 16, -1)
  private readonly payOff = new IntColumn(1 << 16, 0)
  private readonly payLen = new IntColumn(1 << 16, 0)
  /**
   * Matching features of each live record, FEAT_STRIDE strings per record in one flat array, and
   * its identifier-type mask: no object per record (a million of them cost ~100 MB and GC time).
   */
  private readonly fstr: Array<string | undefined> = []
  private readonly fmask = new IntColumn(1 << 16, 0)
  /** Extra-field values per record (only with configured extra fields). */
  private readonly extras: Array<ReadonlyArray<string> | undefined> = []
  // Two reusable views that scoring fills from the columns.
  private readonly viewA: MutableFeatures = emptyFeatures()
  private readonly viewB: MutableFeatures = emptyFeatures()
  // Block ids of each record: a range [recStart, recStart + recCount) of one shared pool, so that
  // a million records do not cost a million small arrays. An update appends a fresh range.
  private readonly recStart = new IntColumn(1 << 16, -1)
  private readonly recCount = new IntColumn(1 << 16, 0)
  private readonly pool = new IntColumn(1 << 18, 0)
  private poolEnd = 0
  readonly adj: Array<Array<number> | undefined> = []
  private readonly byKey = new RecordIndex((r, source, id) => {
    const ref = this.refs[r]
    return ref !== undefined && ref.id === id && ref.source === source
  })

  // blocks
  private readonly table = new BlockTable(1 << 16)
  /**
   * Per block, BLOCK_STRIDE slots side by side (size, head: the member of a one-record block or -1,
   * flags), so that attaching a record touches one cache line per block rather than three.
   */
  private readonly blk = new IntColumn(1 << 18, 0)
  /** Members of blocks with two or more records (a one-record block keeps its member in B_HEAD). */
  private readonly blockMore: Array<Array<number> | undefined> = []
  private blockCount = 0
  // The block ids of the record being attached, filled by `keyWriter` as it hashes each key.
  private readonly keyBlocks: Array<number> = []
  private keyCount = 0
  private readonly keyWriter: KeyWriter = {
    begin: (tag) => {
      this.table.begin()
      this.table.code(tag)
    },
    text: (s, from, to) => {
      this.table.text(s, from, to)
    },
    end: () => {
      let b = this.table.internStreamed(this.blockCount)
      if (b === this.blockCount) b = this.newBlock(-1)
      this.keyBlocks[this.keyCount++] = b
    }
  }
  /** The identifiers of the record being attached (reused). */
  private readonly ids = Matcher.identifierList()

  // union-find with circular member lists
  private readonly parent = new IntColumn(1 << 16, 0)
  private readonly size = new IntColumn(1 << 16, 1)
  private readonly next = new IntColumn(1 << 16, 0)
  /** Profile index of a root (-1: none yet). */
  private readonly profOf = new IntColumn(1 << 16, -1)

  // profiles
  readonly profileIds: Array<string> = []
  /** A member of each live profile (-1 when the profile is gone). */
  readonly profileAnchor: Array<number> = []
  private readonly profileIndex = new Map<string, number>()
  private readonly aliases = new Map<string, string>()
  private profileSeq = 0

  private readonly dirty = new Set<number>()
  /**
   * Updated records of the current batch, with the profile they were in. Their new edges wait in
   * `pendingEdges` until their old component is rebuilt without them, so that a record moving from
   * one profile to another moves alone instead of first gluing the two profiles together.
   */
  private readonly moving = new Map<number, number>()
  private pendingEdges: Array<number> = []
  private events: Array<ProfileEvent> | undefined
  private readonly scratch: Matcher.Scored = { score: 0, veto: false }
  private stamp = new IntColumn(1 << 16, -1)
  // Scratch space of one attach (reused: attach is the hot path and must not allocate per record).
  private candidates: Array<number> = []
  private candidateScores: Array<number> = []
  private candidateVetoes: Array<number> = []
  private stampGen = 0

  readonly stats: EngineStats = {
    records: 0,
    profiles: 0,
    merges: 0,
    splits: 0,
    candidatePairs: 0,
    edges: 0,
    capWarnings: 0
  }

  constructor(
    readonly config: ResolverConfig,
    private readonly newProfileId: (seq: number) => string = defaultProfileId
  ) {}

  /** Starts collecting events into `sink` (or stops, with undefined). */
  collect(sink: Array<ProfileEvent> | undefined): void {
    this.events = sink
  }

  /** Whether record `r` is live. */
  isLive(r: number): boolean {
    return this.payAt.data[r]! >= 0
  }

  /** A live record, decoded from its stored JSON (a fresh object per call). */
  record(r: number): SourceRecord | undefined {
    const json = this.payloadText(r)
    return json === undefined ? undefined : (JSON.parse(json) as SourceRecord)
  }

  private payloadText(r: number): string | undefined {
    const c = this.payAt.data[r]!
    if (c < 0) return undefined
    const off = this.payOff.data[r]!
    return this.chunks[c]!.toString("utf8", off, off + this.payLen.data[r]!)
  }

  /** The chunk that takes the next `room` bytes (a new one when the last is too full). */
  private chunkFor(room: number): number {
    const c = this.chunks.length - 1
    if (c >= 0 && this.chunkUsed + room <= this.chunks[c]!.length) return c
    this.chunks.push(Buffer.alloc(Math.max(CHUNK_BYTES, room)))
    this.chunkUsed = 0
    return c + 1
  }

  /**
   * Writes a record's JSON (byte for byte `JSON.stringify`) where it can be kept without a copy: at
   * the free tail of the last chunk (encAt = that chunk) or, when it does not fit there, in `spare`
   * (encAt = -1). Returns the length; nothing is kept until `keepEncoded`.
   */
  private encode(record: SourceRecord): number {
    const c = this.chunks.length - 1
    if (c >= 0) {
      const chunk = this.chunks[c]!
      const end = writeJson(record, chunk, this.chunkUsed, chunk.length)
      if (end >= 0) {
        this.encAt = c
        return end - this.chunkUsed
      }
      // A write that gave up leaves part of the record behind in the free tail.
      chunk.fill(0, this.chunkUsed)
      if (end === UNSUPPORTED) return this.encodeString(JSON.stringify(record))
    }
    for (;;) {
      const end = writeJson(record, this.spare, 0, this.spare.length)
      this.encAt = -1
      if (end >= 0) return end
      this.spare.fill(0)
      if (end === UNSUPPORTED) return this.encodeString(JSON.stringify(record))
      this.spare = Buffer.alloc(this.spare.length * 2)
    }
  }

  private encodeString(json: string): number {
    // UTF-8 takes at most three bytes per UTF-16 code unit.
    if (this.spare.length < json.length * 3) this.spare = Buffer.alloc(json.length * 3)
    this.encAt = -1
    return this.spare.write(json, 0, "utf8")
  }

  /** The encoded bytes of `encode` (n of them) start at this offset of their buffer. */
  private encodedStart(): number {
    return this.encAt < 0 ? 0 : this.chunkUsed
  }

  /** Whether the `n` encoded bytes equal record r's stored bytes. */
  private sameAsStored(r: number, n: number): boolean {
    const c = this.payAt.data[r]!
    if (c < 0 || this.payLen.data[r] !== n) return false
    const off = this.payOff.data[r]!
    const src = this.encAt < 0 ? this.spare : this.chunks[this.encAt]!
    const from = this.encodedStart()
    return this.chunks[c]!.compare(src, from, from + n, off, off + n) === 0
  }

  /** Wipes encoded bytes that are not kept (erasure: no copy of a record lingers). */
  private discardEncoded(n: number): void {
    if (this.encAt < 0) this.spare.fill(0, 0, n)
    else this.chunks[this.encAt]!.fill(0, this.chunkUsed, this.chunkUsed + n)
  }

  /** Keeps the `n` encoded bytes as record r's payload. */
  private keepEncoded(r: number, n: number): void {
    let c = this.encAt
    if (c < 0) {
      c = this.chunkFor(n)
      this.spare.copy(this.chunks[c]!, this.chunkUsed, 0, n)
      this.spare.fill(0, 0, n)
    }
    this.payAt.data[r] = c
    this.payOff.data[r] = this.chunkUsed
    this.payLen.data[r] = n
    this.chunkUsed += n
    this.liveBytes += n
  }

  /** Overwrites a record's stored bytes (erasure: the text does not linger in the chunk). */
  private dropPayload(r: number): void {
    const c = this.payAt.data[r]!
    if (c < 0) return
    this.payAt.data[r] = -1
    this.dropBytes(c, this.payOff.data[r]!, this.payLen.data[r]!)
    this.payLen.data[r] = 0
  }

  private dropBytes(c: number, off: number, n: number): void {
    this.chunks[c]!.fill(0, off, off + n)
    this.liveBytes -= n
    this.deadBytes += n
    // Updates and removals leave holes; once they outweigh the live bytes, copy the live records
    // into fresh chunks, so a store that keeps updating the same records stays the same size.
    if (this.deadBytes > this.liveBytes && this.deadBytes > CHUNK_BYTES) this.compactPayloads()
  }

  private compactPayloads(): void {
    const old = this.chunks
    this.chunks = []
    this.chunkUsed = 0
    const at = this.payAt.data
    for (let r = 0; r < this.refs.length; r++) {
      const from = at[r]!
      if (from < 0) continue
      const off = this.payOff.data[r]!
      const n = this.payLen.data[r]!
      const c = this.chunkFor(n)
      old[from]!.copy(this.chunks[c]!, this.chunkUsed, off, off + n)
      at[r] = c
      this.payOff.data[r] = this.chunkUsed
      this.chunkUsed += n
    }
    for (const chunk of old) chunk.fill(0)
    this.deadBytes = 0
  }

  /** Dense id of a record key, or undefined. */
  idOf(ref: RecordRef): number | undefined {
    const r = this.byKey.get(ref.source, ref.id)
    return r < 0 ? undefined : r
  }

  /** Adds or replaces a record. Call `settle()` after a batch to re-cluster what changed. */
  upsert(record: SourceRecord): UpsertOutcome {
    const existing = this.byKey.get(record.source, record.id)
    const n = this.encode(record)
    if (existing < 0) {
      const r = this.refs.length
      this.refs.push({ source: record.source, id: record.id })
      this.payAt.ensure(r)
      this.payOff.ensure(r)
      this.payLen.ensure(r)
      this.keepEncoded(r, n)
      this.recStart.ensure(r)
      this.recCount.ensure(r)
      this.adj.push(undefined)
      this.byKey.add(record.source, record.id, r)
      this.parent.ensure(r)
      this.size.ensure(r)
      this.next.ensure(r)
      this.profOf.ensure(r)
      this.parent.data[r] = r
      this.next.data[r] = r
      this.stats.records++
      this.attach(r, record)
      return "created"
    }
    if (this.sameAsStored(existing, n)) {
      this.discardEncoded(n)
      return "unchanged"
    }
    if (timeOf(record) < timeOf(this.record(existing)!)) {
      this.discardEncoded(n)
      return "stale"
    }
    if (!this.moving.has(existing)) this.moving.set(existing, this.profOf.data[this.find(existing)]!)
    this.detachEvidence(existing)
    // The new bytes are kept before the old ones are dropped: dropping may compact the chunks.
    const c = this.payAt.data[existing]!
    const off = this.payOff.data[existing]!
    const len = this.payLen.data[existing]!
    this.keepEncoded(existing, n)
    this.dropBytes(c, off, len)
    this.dirty.add(existing)
    this.attach(existing, record)
    return "updated"
  }

  /** Removes a record; its profile is re-evaluated at the next `settle()`. */
  remove(ref: RecordRef): boolean {
    const r = this.byKey.get(ref.source, ref.id)
    if (r < 0) return false
    this.detachEvidence(r)
    this.byKey.delete(ref.source, ref.id)
    this.dropPayload(r)
    this.stats.records--
    this.dirty.add(r)
    return true
  }

  /** Drops the bare ref a removed record left behind (erasure: not even its id stays). */
  forget(r: number): void {
    if (!this.isLive(r)) this.refs[r] = undefined
  }

  /** Profile ids that were merged into `id` (directly or through other aliases). */
  aliasesOf(id: string): Array<string> {
    const out: Array<string> = []
    for (const [absorbed] of this.aliases) if (this.resolveProfileId(absorbed) === id) out.push(absorbed)
    return out
  }

  // ---------------------------------------------------------------- evidence

  private attach(r: number, record: SourceRecord): void {
    const ids = this.ids
    const f = Matcher.featuresOfList(record, this.config, ids)
    this.storeFeatures(r, f)
    // Identifier keys first (`i`, then `type:value` in parts), then the fuzzy keys: as blockingKeys.
    const table = this.table
    for (let i = 0; i < ids.count; i++) {
      table.begin()
      table.code(105 /* i */)
      table.text(ids.types[i]!)
      table.code(58 /* : */)
      table.text(ids.values[i]!)
      let b = table.internStreamed(this.blockCount)
      if (b === this.blockCount) b = this.newBlock(i)
      this.keyBlocks[i] = b
    }
    this.keyCount = ids.count
    writeFuzzyKeys(f, this.config, this.keyWriter)
    const keys = this.keyBlocks
    const start = this.poolEnd
    const nkeys = this.keyCount
    this.pool.ensure(start + nkeys)
    this.poolEnd += nkeys
    this.recStart.data[r] = start
    this.recCount.data[r] = nkeys
    let transitioned: Array<number> | undefined
    for (let i = 0; i < nkeys; i++) {
      const b = keys[i]!
      this.pool.data[start + i] = b
      const n = ++this.blk.data[b * BLOCK_STRIDE + B_SIZE]!
      if (n === 1) this.blk.data[b * BLOCK_STRIDE + B_HEAD] = r
      else {
        const more = this.blockMore[b]
        this.blockMore[b] =
          more === undefined ? [this.blk.data[b * BLOCK_STRIDE + B_HEAD]!, r] : appended(more, r)
        if (n === this.limitOf(b) + 1) (transitioned ??= []).push(b)
      }
    }
    const pool = this.pool.data

    // Score every candidate once; identifier blocks learn whether they are ambiguous from it.
    const gen = ++this.stampGen
    this.stamp.ensure(this.refs.length)
    const stamp = this.stamp.data
    const candidates = this.candidates
    const scores = this.candidateScores
    const vetoes = this.candidateVetoes
    let count = 0
    // Every candidate is scored against r: load r's features once.
    this.view(this.viewA, r)
    for (let i = start; i < start + nkeys; i++) {
      const b = pool[i]!
      const size = this.blk.data[b * BLOCK_STRIDE + B_SIZE]!
      if (size < 2 || size > this.limitOf(b)) continue
      const more = this.blockMore[b]!
      for (let j = 0; j < more.length; j++) {
        const m = more[j]!
        if (m === r || stamp[m] === gen) continue
        stamp[m] = gen
        this.scorePair(r, m, true)
        candidates[count] = m
        scores[count] = this.scratch.score
        vetoes[count] = this.scratch.veto ? 1 : 0
        count++
      }
    }
    this.stats.candidatePairs += count
    for (let k = start; k < start + nkeys; k++) {
      const b = pool[k]!
      const flags = this.blk.data[b * BLOCK_STRIDE + B_FLAGS]!
      if ((flags & IDENT) === 0 || (flags & AMBIGUOUS) !== 0 || !this.usable(b)) continue
      for (let i = 0; i < count; i++) {
        if (vetoes[i] === 1 && this.inBlock(candidates[i]!, b)) {
          this.blk.data[b * BLOCK_STRIDE + B_FLAGS] = flags | AMBIGUOUS
          ;(transitioned ??= []).push(b)
          break
        }
      }
    }
    for (let i = 0; i < count; i++) {
      if (vetoes[i] === 1) continue
      const m = candidates[i]!
      if (scores[i]! >= this.config.threshold || this.linkedByIdentifier(r, m)) this.addEdge(r, m)
    }
    if (transitioned !== undefined) for (const b of transitioned) this.reevaluateBlock(b, true)
  }

  private detachEvidence(r: number): void {
    const neighbours = this.adj[r]
    if (neighbours !== undefined) {
      for (const n of neighbours) this.unlink(n, r)
      this.stats.edges -= neighbours.length
      this.adj[r] = undefined
    }
    const start = this.recStart.data[r]!
    if (start < 0) return
    const end = start + this.recCount.data[r]!
    this.recStart.data[r] = -1
    this.recCount.data[r] = 0
    const reopen: Array<number> = []
    for (let k = start; k < end; k++) {
      const b = this.pool.data[k]!
      const n = --this.blk.data[b * BLOCK_STRIDE + B_SIZE]!
      const more = this.blockMore[b]
      if (more === undefined) this.blk.data[b * BLOCK_STRIDE + B_HEAD] = -1
      else {
        const at = more.indexOf(r)
        more[at] = more[more.length - 1]!
        more.pop()
        if (more.length === 1) {
          this.blk.data[b * BLOCK_STRIDE + B_HEAD] = more[0]!
          this.blockMore[b] = undefined
        } else this.blk.data[b * BLOCK_STRIDE + B_HEAD] = more[0]!
      }
      const flags = this.blk.data[b * BLOCK_STRIDE + B_FLAGS]!
      const reopened = n === this.limitOf(b)
      if (n > this.limitOf(b)) continue
      // Ambiguity is not maintained while a block is oversized, so a reopened block learns it afresh.
      let changed = reopened
      if ((flags & IDENT) !== 0 && (reopened || (flags & AMBIGUOUS) !== 0)) {
        const ambiguous = this.hasVetoedPair(b)
        if (ambiguous !== ((flags & AMBIGUOUS) !== 0)) changed = true
        this.blk.data[b * BLOCK_STRIDE + B_FLAGS] = ambiguous ? flags | AMBIGUOUS : flags & ~AMBIGUOUS
      }
      if (changed) reopen.push(b)
    }
    this.releaseFeatures(r)
    for (const b of reopen) this.reevaluateBlock(b, false)
  }

  private storeFeatures(r: number, f: Matcher.Features): void {
    const t = this.fstr
    const o = r * FEAT_STRIDE
    // Written in index order so the array stays packed.
    t[o + F_FN] = f.fn
    t[o + F_LN] = f.ln
    t[o + F_DOB] = f.dob
    t[o + F_STREET] = f.street
    t[o + F_CITY] = f.city
    t[o + F_POSTCODE] = f.postcode
    this.fmask.ensure(r)
    this.fmask.data[r] = f.idMask
    if (this.config.extraFields.length > 0) this.extras[r] = f.extra
  }

  private releaseFeatures(r: number): void {
    const o = r * FEAT_STRIDE
    for (let k = 0; k < FEAT_STRIDE; k++) this.fstr[o + k] = undefined
    this.fmask.data[r] = 0
    if (this.extras.length > r) this.extras[r] = undefined
  }

  /** Fills a reusable view with the features of live record r. */
  private view(into: MutableFeatures, r: number): MutableFeatures {
    const t = this.fstr
    const o = r * FEAT_STRIDE
    into.fn = t[o + F_FN]!
    into.ln = t[o + F_LN]!
    into.dob = t[o + F_DOB]!
    into.street = t[o + F_STREET]!
    into.city = t[o + F_CITY]!
    into.postcode = t[o + F_POSTCODE]!
    into.idMask = this.fmask.data[r]!
    into.extra = this.extras[r] ?? Matcher.NO_IDS
    return into
  }

  /** A new block: of identifier `id` of `this.ids`, or fuzzy (id -1). */
  private newBlock(id: number): number {
    const b = this.blockCount++
    this.blk.ensure(b * BLOCK_STRIDE + BLOCK_STRIDE - 1)
    this.blk.data[b * BLOCK_STRIDE + B_HEAD] = -1
    if (id >= 0) {
      const type = this.ids.types[id]!
      this.blk.data[b * BLOCK_STRIDE + B_FLAGS] =
        IDENT |
        (Matcher.isLinkingIdType(this.config, type) ? LINKING : 0) |
        (Matcher.maskOfType(type) << TYPE_SHIFT)
    }
    return b
  }

  private limitOf(b: number): number {
    return (this.blk.data[b * BLOCK_STRIDE + B_FLAGS]! & IDENT) !== 0
      ? this.config.maxIdentifierRecords
      : this.config.maxBlockSize
  }

  private usable(b: number): boolean {
    return this.blk.data[b * BLOCK_STRIDE + B_SIZE]! <= this.limitOf(b)
  }

  private forMembers(b: number, f: (m: number) => void): void {
    const more = this.blockMore[b]
    if (more === undefined) {
      const h = this.blk.data[b * BLOCK_STRIDE + B_HEAD]!
      if (h >= 0) f(h)
    } else for (let i = 0; i < more.length; i++) f(more[i]!)
  }

  private inBlock(m: number, b: number): boolean {
    const start = this.recStart.data[m]!
    if (start < 0) return false
    const pool = this.pool.data
    for (let k = start, end = start + this.recCount.data[m]!; k < end; k++) if (pool[k] === b) return true
    return false
  }

  private hasVetoedPair(b: number): boolean {
    const members: Array<number> = []
    this.forMembers(b, (m) => members.push(m))
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        this.scorePair(members[i]!, members[j]!)
        if (this.scratch.veto) return true
      }
    }
    return false
  }

  /**
   * Scores two live records into `this.scratch`, with the identifier types they share from their
   * blocks (`aInView`: `viewA` already holds a's features).
   */
  private scorePair(a: number, b: number, aInView = false): Matcher.Scored {
    const fa = aInView ? this.viewA : this.view(this.viewA, a)
    const fb = this.view(this.viewB, b)
    let shared = 0
    if ((fa.idMask & fb.idMask) !== 0) {
      const start = this.recStart.data[a]!
      const pool = this.pool.data
      for (let k = start, end = start + this.recCount.data[a]!; k < end; k++) {
        const x = pool[k]!
        const type = this.blk.data[x * BLOCK_STRIDE + B_FLAGS]! >>> TYPE_SHIFT
        if (type !== 0 && this.inBlock(b, x)) shared |= type
      }
    }
    return Matcher.decide(fa, fb, this.config, shared, this.scratch, this.config.threshold)
  }

  /** Whether two live records share a usable, unambiguous, linking identifier block. */
  private linkedByIdentifier(a: number, b: number): boolean {
    const start = this.recStart.data[a]!
    const pool = this.pool.data
    for (let k = start, end = start + this.recCount.data[a]!; k < end; k++) {
      const x = pool[k]!
      const flags = this.blk.data[x * BLOCK_STRIDE + B_FLAGS]!
      if ((flags & (IDENT | LINKING | AMBIGUOUS)) !== (IDENT | LINKING)) continue
      if (this.usable(x) && this.inBlock(b, x)) return true
    }
    return false
  }

  /** The edge rule, from scratch, for two live records. */
  wantsEdge(a: number, b: number): boolean {
    const start = this.recStart.data[a]!
    if (start < 0 || this.recStart.data[b]! < 0) return false
    const pool = this.pool.data
    let candidate = false
    for (let k = start, end = start + this.recCount.data[a]!; k < end; k++) {
      const x = pool[k]!
      if (this.usable(x) && this.inBlock(b, x)) {
        candidate = true
        break
      }
    }
    if (!candidate) return false
    this.scorePair(a, b)
    if (this.scratch.veto) return false
    return this.scratch.score >= this.config.threshold || this.linkedByIdentifier(a, b)
  }

  /** Re-applies the edge rule to the pairs of a block whose usability or ambiguity changed. */
  private reevaluateBlock(b: number, edgesOnly: boolean): void {
    const members: Array<number> = []
    this.forMembers(b, (m) => members.push(m))
    for (let i = 0; i < members.length; i++) {
      const x = members[i]!
      const ax = this.adj[x]
      if (edgesOnly && ax === undefined) continue
      for (let j = i + 1; j < members.length; j++) {
        const y = members[j]!
        const has = ax?.includes(y)
        if (edgesOnly && !has) continue
        const want = this.wantsEdge(x, y)
        if (want && !has) this.addEdge(x, y)
        else if (!want && has) {
          this.unlink(x, y)
          this.unlink(y, x)
          this.stats.edges--
          this.dirty.add(x)
        }
      }
    }
  }

  private unlink(a: number, b: number): void {
    const l = this.adj[a]
    if (l === undefined) return
    const i = l.indexOf(b)
    if (i < 0) return
    l[i] = l[l.length - 1]!
    l.pop()
    if (l.length === 0) this.adj[a] = undefined
  }

  private addEdge(a: number, b: number): void {
    if (this.moving.size > 0 && (this.moving.has(a) || this.moving.has(b))) {
      this.pendingEdges.push(a, b)
      return
    }
    const la = this.adj[a]
    if (la?.includes(b)) return
    this.adj[a] = la === undefined ? [b] : appended(la, b)
    const lb = this.adj[b]
    this.adj[b] = lb === undefined ? [a] : appended(lb, a)
    this.stats.edges++
    this.union(a, b, true)
  }

  // ---------------------------------------------------------------- clustering

  find(x: number): number {
    const p = this.parent.data
    let r = x
    while (p[r] !== r) r = p[r]!
    while (p[x] !== r) {
      const n = p[x]!
      p[x] = r
      x = n
    }
    return r
  }

  /** Members of the component of x (dead records included until the next settle). */
  members(x: number): Array<number> {
    const out = [x]
    const nx = this.next.data
    for (let m = nx[x]!; m !== x; m = nx[m]!) out.push(m)
    return out
  }

  private union(a: number, b: number, withEvents: boolean): void {
    let ra = this.find(a)
    let rb = this.find(b)
    if (ra === rb) return
    const size = this.size.data
    const total = size[ra]! + size[rb]!
    const pa = this.profOf.data[ra]!
    const pb = this.profOf.data[rb]!
    if (total > this.config.maxClusterSize) {
      this.stats.capWarnings++
      if (withEvents) {
        this.events?.push(
          ProfileEvent.ClusterCapReached({ records: [this.refs[a]!, this.refs[b]!], size: total })
        )
      }
      return
    }
    if (size[ra]! < size[rb]!) {
      const t = ra
      ra = rb
      rb = t
    }
    this.parent.data[rb] = ra
    size[ra] = total
    const nx = this.next.data
    const t = nx[ra]!
    nx[ra] = nx[rb]!
    nx[rb] = t
    let survivor = pa
    if (pa < 0) survivor = pb
    else if (pb >= 0) {
      // The oldest profile id survives a merge; the other stays resolvable as an alias.
      survivor = Math.min(pa, pb)
      const absorbed = Math.max(pa, pb)
      this.retire(absorbed, survivor)
      if (withEvents) {
        this.stats.merges++
        this.events?.push(
          ProfileEvent.ProfileMerged({
            profileId: this.profileIds[survivor]!,
            absorbed: this.profileIds[absorbed]!
          })
        )
      }
    }
    this.profOf.data[ra] = survivor
    if (survivor >= 0) this.profileAnchor[survivor] = ra
  }

  private retire(absorbed: number, survivor: number): void {
    this.profileAnchor[absorbed] = -1
    this.aliases.set(this.profileIds[absorbed]!, this.profileIds[survivor]!)
    this.stats.profiles--
  }

  private createProfile(anchor: number): number {
    const p = this.profileIds.length
    const id = this.newProfileId(++this.profileSeq)
    this.profileIds.push(id)
    this.profileAnchor.push(anchor)
    this.profileIndex.set(id, p)
    this.stats.profiles++
    return p
  }

  /**
   * Finishes a batch: gives new components a profile, re-clusters components that lost
   * evidence (un-merge), and emits the events of what changed.
   */
  settle(newRecords: ReadonlyArray<number>): void {
    if (this.dirty.size > 0) this.rebuildDirty()
    const moved = this.moving.size > 0 ? [...this.moving] : undefined
    this.moving.clear()
    if (this.pendingEdges.length > 0) {
      // Re-checked: later records of the batch may have changed the blocks since.
      const pending = this.pendingEdges
      this.pendingEdges = []
      for (let i = 0; i < pending.length; i += 2) {
        const a = pending[i]!
        const b = pending[i + 1]!
        if (this.isLive(a) && this.isLive(b) && !this.adj[a]?.includes(b) && this.wantsEdge(a, b))
          this.addEdge(a, b)
      }
    }
    for (const r of newRecords) {
      if (!this.isLive(r)) continue
      const root = this.find(r)
      let p = this.profOf.data[root]!
      if (p < 0) {
        p = this.createProfile(root)
        this.profOf.data[root] = p
        this.events?.push(
          ProfileEvent.ProfileCreated({
            profileId: this.profileIds[p]!,
            records: this.members(root)
              .filter((m) => this.isLive(m))
              .map((m) => this.refs[m]!)
          })
        )
      } else {
        this.events?.push(
          ProfileEvent.RecordAttached({ profileId: this.profileIds[p]!, record: this.refs[r]! })
        )
      }
    }
    if (moved !== undefined) for (const [r, from] of moved) this.settleMoved(r, from)
  }

  /** Gives an updated record a profile if its new component has none, with the events of its move. */
  private settleMoved(r: number, from: number): void {
    if (!this.isLive(r)) return
    const root = this.find(r)
    let p = this.profOf.data[root]!
    const fromId = from < 0 ? undefined : this.profileIds[from]!
    const created = p < 0
    if (created) {
      p = this.createProfile(root)
      this.profOf.data[root] = p
    }
    const toId = this.profileIds[p]!
    // The profile it was in may since have merged into the one it is in now: then it did not move.
    if (fromId !== undefined && this.resolveProfileId(fromId) === toId) return
    if (fromId !== undefined)
      this.events?.push(ProfileEvent.RecordDetached({ profileId: fromId, record: this.refs[r]! }))
    this.events?.push(
      created
        ? ProfileEvent.ProfileCreated({
            profileId: toId,
            records: this.members(root)
              .filter((m) => this.isLive(m))
              .map((m) => this.refs[m]!)
          })
        : ProfileEvent.RecordAttached({ profileId: toId, record: this.refs[r]! })
    )
    // Leaving a profile that lives on for a profile of its own is that profile splitting.
    if (created && fromId !== undefined && this.resolveProfileId(fromId) === fromId) {
      this.stats.splits++
      this.events?.push(ProfileEvent.ProfileSplit({ profileId: fromId, into: [fromId, toId] }))
    }
  }

  private rebuildDirty(): void {
    const roots = new Set<number>()
    for (const r of this.dirty) roots.add(this.find(r))
    this.dirty.clear()
    for (const root of roots) this.rebuild(root)
  }

  /** Recomputes the connected components of one old component from its current edges. */
  private rebuild(root: number): void {
    const old = this.profOf.data[root]!
    const all = this.members(root)
    const live: Array<number> = []
    for (const m of all) {
      this.parent.data[m] = m
      this.size.data[m] = 1
      this.next.data[m] = m
      this.profOf.data[m] = -1
      if (this.isLive(m)) live.push(m)
      else if (old >= 0 && this.refs[m] !== undefined) {
        this.events?.push(
          ProfileEvent.RecordDetached({ profileId: this.profileIds[old]!, record: this.refs[m]! })
        )
      }
    }
    for (const m of live) {
      const l = this.adj[m]
      if (l !== undefined) for (const n of l) this.union(m, n, false)
    }
    if (old < 0) return
    const parts = new Map<number, Array<number>>()
    for (const m of live) {
      const r = this.find(m)
      const list = parts.get(r)
      if (list === undefined) parts.set(r, [m])
      else list.push(m)
    }
    if (parts.size === 0) {
      this.profileAnchor[old] = -1
      this.stats.profiles--
      this.events?.push(ProfileEvent.ProfileDeleted({ profileId: this.profileIds[old]! }))
      return
    }
    // The largest part keeps the profile id (ties: the part holding the earliest record). Records
    // updated in this batch have no edges yet (see `moving`): they do not count, and a part of
    // them alone gets its profile when their new edges are in (settleMoved), unless nothing else
    // is left of the profile.
    const staying = (list: ReadonlyArray<number>) => {
      let n = 0
      for (const m of list) if (!this.moving.has(m)) n++
      return n
    }
    let keep = -1
    let keepSize = -1
    for (const [r, list] of parts) {
      const n = staying(list)
      if (n > keepSize || (n === keepSize && list[0]! < parts.get(keep)![0]!)) {
        keep = r
        keepSize = n
      }
    }
    this.profOf.data[keep] = old
    this.profileAnchor[old] = keep
    if (parts.size === 1) return
    const into: Array<string> = [this.profileIds[old]!]
    for (const [r, list] of parts) {
      if (r === keep || staying(list) === 0) continue
      const p = this.createProfile(r)
      this.profOf.data[r] = p
      into.push(this.profileIds[p]!)
      for (const m of list) {
        this.events?.push(
          ProfileEvent.RecordDetached({ profileId: this.profileIds[old]!, record: this.refs[m]! })
        )
        this.events?.push(
          ProfileEvent.RecordAttached({ profileId: this.profileIds[p]!, record: this.refs[m]! })
        )
      }
    }
    if (into.length === 1) return
    this.stats.splits++
    this.events?.push(ProfileEvent.ProfileSplit({ profileId: this.profileIds[old]!, into }))
  }

  // ---------------------------------------------------------------- queries

  /** The current id of a profile id or alias, or undefined when unknown or gone. */
  resolveProfileId(id: string): string | undefined {
    let cur = id
    for (let hops = 0; hops < 1000; hops++) {
      const p = this.profileIndex.get(cur)
      if (p !== undefined && this.profileAnchor[p]! >= 0) return cur
      const next = this.aliases.get(cur)
      if (next === undefined) return undefined
      cur = next
    }
    return undefined
  }

  /** Live member record ids of a profile id (after alias resolution). */
  profileMembers(id: string): Array<number> | undefined {
    const current = this.resolveProfileId(id)
    if (current === undefined) return undefined
    const p = this.profileIndex.get(current)!
    return this.members(this.find(this.profileAnchor[p]!)).filter((m) => this.isLive(m))
  }

  /** Profile id of a live record. */
  profileOf(r: number): string | undefined {
    if (!this.isLive(r)) return undefined
    const p = this.profOf.data[this.find(r)]!
    return p < 0 ? undefined : this.profileIds[p]
  }

  /** Every live profile as (id, members), in creation order. */
  *profiles(): Generator<{ readonly id: string; readonly members: Array<number> }> {
    for (let p = 0; p < this.profileIds.length; p++) {
      const anchor = this.profileAnchor[p]!
      if (anchor < 0) continue
      const members = this.members(this.find(anchor)).filter((m) => this.isLive(m))
      if (members.length > 0) yield { id: this.profileIds[p]!, members }
    }
  }

  /** State of the identifier block of a normalised identifier (`type:value`). */
  identifierState(id: string): { readonly usable: boolean; readonly ambiguous: boolean } | undefined {
    const b = this.table.get(`i${id}`)
    if (b < 0) return undefined
    return {
      usable: this.usable(b),
      ambiguous: (this.blk.data[b * BLOCK_STRIDE + B_FLAGS]! & AMBIGUOUS) !== 0
    }
  }

  /** Live records carrying a normalised identifier (`type:value`). */
  identifierHolders(id: string): Array<number> {
    const b = this.table.get(`i${id}`)
    const out: Array<number> = []
    if (b >= 0) this.forMembers(b, (m) => out.push(m))
    return out
  }

  /** Block keys of a live record that are usable for candidates, with their state (for explanations). */
  blockStates(r: number): Array<{
    readonly block: number
    readonly identifier: boolean
    readonly usable: boolean
    readonly ambiguous: boolean
    readonly size: number
  }> {
    const start = this.recStart.data[r]!
    const blocks = start < 0 ? [] : Array.from(this.pool.data.subarray(start, start + this.recCount.data[r]!))
    return blocks.map((b) => ({
      block: b,
      identifier: (this.blk.data[b * BLOCK_STRIDE + B_FLAGS]! & IDENT) !== 0,
      usable: this.usable(b),
      ambiguous: (this.blk.data[b * BLOCK_STRIDE + B_FLAGS]! & AMBIGUOUS) !== 0,
      size: this.blk.data[b * BLOCK_STRIDE + B_SIZE]!
    }))
  }
}

/** Slots of a block in `Engine.blk`. */
const B_SIZE = 0
const B_HEAD = 1
const B_FLAGS = 2
const BLOCK_STRIDE = 3

/** Bytes per payload chunk (a larger record gets a chunk of its own size). */
const CHUNK_BYTES = 1 << 22

/** Slots of a record's features in `Engine.fstr`. */
const F_FN = 0
const F_LN = 1
const F_DOB = 2
const F_STREET = 3
const F_CITY = 4
const F_POSTCODE = 5
const FEAT_STRIDE = 6

type MutableFeatures = { -readonly [K in keyof Matcher.Features]: Matcher.Features[K] }

const emptyFeatures = (): MutableFeatures => ({
  fn: "",
  ln: "",
  dob: "",
  street: "",
  city: "",
  postcode: "",
  ids: Matcher.NO_IDS,
  idMask: 0,
  extra: Matcher.NO_IDS
})

/**
 * `list` with `x` appended. Most adjacency and block lists stay at two or three entries, and `push`
 * on a short array reserves 16 more slots: as short lists are copied at their exact size instead,
 * a million records keep ~150 MB less of empty slots (which the young-generation GC also copies).
 */
const appended = (list: Array<number>, x: number): Array<number> => {
  const n = list.length
  if (n >= 8) {
    list.push(x)
    return list
  }
  const out = new Array<number>(n + 1)
  for (let i = 0; i < n; i++) out[i] = list[i]!
  out[n] = x
  return out
}

const timeOf = (r: SourceRecord): number => (r.updatedAt === undefined ? 0 : Date.parse(r.updatedAt))

const defaultProfileId = (seq: number): string => `p${seq.toString(36).padStart(7, "0")}`
