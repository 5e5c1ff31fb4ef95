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
import * as Matcher from "../Matcher.js"
import { ProfileEvent } from "../ProfileEvent.js"
import type { ResolverConfig } from "../ResolverConfig.js"
import type { RecordRef, SourceRecord } from "../SourceRecord.js"
import { recordKey } from "../SourceRecord.js"
import { BlockTable, IntColumn } from "./blockTable.js"
import { blockingKeys } from "./blocking.js"

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
   * Each live record as its JSON text: one leaf string instead of a graph of small objects, which
   * at a million records halves the memory and spares the garbage collector ~40M objects to trace.
   */
  private readonly payload: Array<string | undefined> = []
  readonly feats: Array<Matcher.Features | undefined> = []
  // Block ids of each record: a range [recStart, recStart + recCount) of one shared pool, so that
  // a million records do not cost a million small arrays. An update appends a fresh range.
  private readonly recStart = new IntColumn(1 << 16, -1)
  private readonly recCount = new IntColumn(1 << 16, 0)
  private readonly pool = new IntColumn(1 << 18, 0)
  private poolEnd = 0
  readonly adj: Array<Array<number> | undefined> = []
  private readonly byKey = new Map<string, number>()

  // blocks
  private readonly table = new BlockTable(1 << 16)
  private readonly blockSize = new IntColumn(1 << 16, 0)
  private readonly blockHead = new IntColumn(1 << 16, -1)
  private readonly blockFlags = new IntColumn(1 << 16, 0)
  /** Members of blocks with two or more records (singletons live in blockHead alone). */
  private readonly blockMore: Array<Array<number> | undefined> = []
  private blockCount = 0

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
    return this.payload[r] !== undefined
  }

  /** A live record, decoded from its stored JSON (a fresh object per call). */
  record(r: number): SourceRecord | undefined {
    const json = this.payload[r]
    return json === undefined ? undefined : (JSON.parse(json) as SourceRecord)
  }

  /** Dense id of a record key, or undefined. */
  idOf(ref: RecordRef): number | undefined {
    return this.byKey.get(recordKey(ref))
  }

  /** Adds or replaces a record. Call `settle()` after a batch to re-cluster what changed. */
  upsert(record: SourceRecord): UpsertOutcome {
    const key = recordKey(record)
    const existing = this.byKey.get(key)
    const json = JSON.stringify(record)
    if (existing === undefined) {
      const r = this.refs.length
      this.refs.push({ source: record.source, id: record.id })
      this.payload.push(json)
      this.feats.push(undefined)
      this.recStart.ensure(r)
      this.recCount.ensure(r)
      this.adj.push(undefined)
      this.byKey.set(key, r)
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
    if (this.payload[existing] === json) return "unchanged"
    if (timeOf(record) < timeOf(this.record(existing)!)) return "stale"
    this.detachEvidence(existing)
    this.payload[existing] = json
    this.dirty.add(existing)
    this.attach(existing, record)
    return "updated"
  }

  /** Removes a record; its profile is re-evaluated at the next `settle()`. */
  remove(ref: RecordRef): boolean {
    const key = recordKey(ref)
    const r = this.byKey.get(key)
    if (r === undefined) return false
    this.detachEvidence(r)
    this.byKey.delete(key)
    this.payload[r] = undefined
    this.feats[r] = undefined
    this.stats.records--
    this.dirty.add(r)
    return true
  }

  /** Drops the bare ref a removed record left behind (erasure: not even its id stays). */
  forget(r: number): void {
    if (this.payload[r] === undefined) this.refs[r] = undefined
  }

  /** Profile ids that were merged into `id` (directly or through other aliases). */
  aliasesOf(id: string): Array<string> {
    const out: Array<string> = []
    for (const [absorbed] of this.aliases) if (this.resolveProfileId(absorbed) === id) out.push(absorbed)
    return out
  }

  // ---------------------------------------------------------------- evidence

  private attach(r: number, record: SourceRecord): void {
    const f = Matcher.features(record, this.config)
    this.feats[r] = f
    const keys = blockingKeys(f, this.config)
    const start = this.poolEnd
    const nkeys = keys.length
    this.pool.ensure(start + nkeys)
    this.poolEnd += nkeys
    this.recStart.data[r] = start
    this.recCount.data[r] = nkeys
    let transitioned: Array<number> | undefined
    for (let i = 0; i < nkeys; i++) {
      const k = keys[i]!
      let b = this.table.intern(k, this.blockCount)
      if (b === this.blockCount) b = this.newBlock(k)
      this.pool.data[start + i] = b
      const n = ++this.blockSize.data[b]!
      if (n === 1) this.blockHead.data[b] = r
      else {
        let more = this.blockMore[b]
        if (more === undefined) {
          more = [this.blockHead.data[b]!]
          this.blockMore[b] = more
        }
        more.push(r)
        if (n === this.limitOf(b) + 1) (transitioned ??= []).push(b)
      }
    }
    f.ids = Matcher.NO_IDS
    const pool = this.pool.data

    // Score every candidate once; identifier blocks learn whether they are ambiguous from it.
    const gen = ++this.stampGen
    this.stamp.ensure(this.refs.length)
    const stamp = this.stamp.data
    const candidates = this.candidates
    const scores = this.candidateScores
    const vetoes = this.candidateVetoes
    let count = 0
    for (let i = start; i < start + nkeys; i++) {
      const b = pool[i]!
      const size = this.blockSize.data[b]!
      if (size < 2 || size > this.limitOf(b)) continue
      const more = this.blockMore[b]!
      for (let j = 0; j < more.length; j++) {
        const m = more[j]!
        if (m === r || stamp[m] === gen) continue
        stamp[m] = gen
        this.scorePair(r, m)
        candidates[count] = m
        scores[count] = this.scratch.score
        vetoes[count] = this.scratch.veto ? 1 : 0
        count++
      }
    }
    this.stats.candidatePairs += count
    for (let k = start; k < start + nkeys; k++) {
      const b = pool[k]!
      const flags = this.blockFlags.data[b]!
      if ((flags & IDENT) === 0 || (flags & AMBIGUOUS) !== 0 || !this.usable(b)) continue
      for (let i = 0; i < count; i++) {
        if (vetoes[i] === 1 && this.inBlock(candidates[i]!, b)) {
          this.blockFlags.data[b] = flags | AMBIGUOUS
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
      const n = --this.blockSize.data[b]!
      const more = this.blockMore[b]
      if (more === undefined) this.blockHead.data[b] = -1
      else {
        const at = more.indexOf(r)
        more[at] = more[more.length - 1]!
        more.pop()
        if (more.length === 1) {
          this.blockHead.data[b] = more[0]!
          this.blockMore[b] = undefined
        } else this.blockHead.data[b] = more[0]!
      }
      const flags = this.blockFlags.data[b]!
      const reopened = n === this.limitOf(b)
      if (n > this.limitOf(b)) continue
      // Ambiguity is not maintained while a block is oversized, so a reopened block learns it afresh.
      let changed = reopened
      if ((flags & IDENT) !== 0 && (reopened || (flags & AMBIGUOUS) !== 0)) {
        const ambiguous = this.hasVetoedPair(b)
        if (ambiguous !== ((flags & AMBIGUOUS) !== 0)) changed = true
        this.blockFlags.data[b] = ambiguous ? flags | AMBIGUOUS : flags & ~AMBIGUOUS
      }
      if (changed) reopen.push(b)
    }
    this.feats[r] = undefined
    for (const b of reopen) this.reevaluateBlock(b, false)
  }

  private newBlock(key: string): number {
    const b = this.blockCount++
    this.blockSize.ensure(b)
    this.blockHead.ensure(b)
    this.blockFlags.ensure(b)
    if (key.charCodeAt(0) === 105 /* i */) {
      const id = key.slice(1)
      this.blockFlags.data[b] =
        IDENT | (Matcher.isLinkingType(this.config, id) ? LINKING : 0) | (Matcher.maskOfId(id) << TYPE_SHIFT)
    }
    return b
  }

  private limitOf(b: number): number {
    return (this.blockFlags.data[b]! & IDENT) !== 0
      ? this.config.maxIdentifierRecords
      : this.config.maxBlockSize
  }

  private usable(b: number): boolean {
    return this.blockSize.data[b]! <= this.limitOf(b)
  }

  private forMembers(b: number, f: (m: number) => void): void {
    const more = this.blockMore[b]
    if (more === undefined) {
      const h = this.blockHead.data[b]!
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

  /** Scores two live records into `this.scratch`, with the identifier types they share from their blocks. */
  private scorePair(a: number, b: number): Matcher.Scored {
    const fa = this.feats[a]!
    const fb = this.feats[b]!
    let shared = 0
    if ((fa.idMask & fb.idMask) !== 0) {
      const start = this.recStart.data[a]!
      const pool = this.pool.data
      for (let k = start, end = start + this.recCount.data[a]!; k < end; k++) {
        const x = pool[k]!
        const type = this.blockFlags.data[x]! >>> TYPE_SHIFT
        if (type !== 0 && this.inBlock(b, x)) shared |= type
      }
    }
    return Matcher.score(fa, fb, this.config, shared, this.scratch)
  }

  /** Whether two live records share a usable, unambiguous, linking identifier block. */
  private linkedByIdentifier(a: number, b: number): boolean {
    const start = this.recStart.data[a]!
    const pool = this.pool.data
    for (let k = start, end = start + this.recCount.data[a]!; k < end; k++) {
      const x = pool[k]!
      const flags = this.blockFlags.data[x]!
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
    const la = this.adj[a]
    if (la?.includes(b)) return
    if (la === undefined) this.adj[a] = [b]
    else la.push(b)
    const lb = this.adj[b]
    if (lb === undefined) this.adj[b] = [a]
    else lb.push(a)
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
    for (const r of newRecords) {
      if (this.payload[r] === undefined) continue
      const root = this.find(r)
      let p = this.profOf.data[root]!
      if (p < 0) {
        p = this.createProfile(root)
        this.profOf.data[root] = p
        this.events?.push(
          ProfileEvent.ProfileCreated({
            profileId: this.profileIds[p]!,
            records: this.members(root)
              .filter((m) => this.payload[m] !== undefined)
              .map((m) => this.refs[m]!)
          })
        )
      } else {
        this.events?.push(
          ProfileEvent.RecordAttached({ profileId: this.profileIds[p]!, record: this.refs[r]! })
        )
      }
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
      if (this.payload[m] !== undefined) live.push(m)
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
    // The largest part keeps the profile id (ties: the part holding the earliest record).
    let keep = -1
    let keepSize = -1
    for (const [r, list] of parts) {
      if (list.length > keepSize || (list.length === keepSize && list[0]! < parts.get(keep)![0]!)) {
        keep = r
        keepSize = list.length
      }
    }
    this.profOf.data[keep] = old
    this.profileAnchor[old] = keep
    if (parts.size === 1) return
    this.stats.splits++
    const into: Array<string> = [this.profileIds[old]!]
    for (const [r, list] of parts) {
      if (r === keep) continue
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
    return this.members(this.find(this.profileAnchor[p]!)).filter((m) => this.payload[m] !== undefined)
  }

  /** Profile id of a live record. */
  profileOf(r: number): string | undefined {
    if (this.payload[r] === undefined) return undefined
    const p = this.profOf.data[this.find(r)]!
    return p < 0 ? undefined : this.profileIds[p]
  }

  /** Every live profile as (id, members), in creation order. */
  *profiles(): Generator<{ readonly id: string; readonly members: Array<number> }> {
    for (let p = 0; p < this.profileIds.length; p++) {
      const anchor = this.profileAnchor[p]!
      if (anchor < 0) continue
      const members = this.members(this.find(anchor)).filter((m) => this.payload[m] !== undefined)
      if (members.length > 0) yield { id: this.profileIds[p]!, members }
    }
  }

  /** State of the identifier block of a normalised identifier (`type:value`). */
  identifierState(id: string): { readonly usable: boolean; readonly ambiguous: boolean } | undefined {
    const b = this.table.get(`i${id}`)
    if (b < 0) return undefined
    return { usable: this.usable(b), ambiguous: (this.blockFlags.data[b]! & AMBIGUOUS) !== 0 }
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
      identifier: (this.blockFlags.data[b]! & IDENT) !== 0,
      usable: this.usable(b),
      ambiguous: (this.blockFlags.data[b]! & AMBIGUOUS) !== 0,
      size: this.blockSize.data[b]!
    }))
  }
}

const timeOf = (r: SourceRecord): number => (r.updatedAt === undefined ? 0 : Date.parse(r.updatedAt))

const defaultProfileId = (seq: number): string => `p${seq.toString(36).padStart(7, "0")}`
