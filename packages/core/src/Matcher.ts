/**
 * Pairwise matching: the normalised features of a record, and the comparison of two records
 * into a Fellegi-Sunter style score (a sum of log2 likelihood ratios per field), vetoes that
 * guard against false merges, and the deterministic identifier rule.
 */
import * as Normalize from "./Normalize.js"
import type { ResolverConfig } from "./ResolverConfig.js"
import type { SourceRecord } from "./SourceRecord.js"

/** What matching reads of a record, normalised once at ingestion. */
export interface Features {
  readonly fn: string
  readonly ln: string
  /** YYYYMMDD, or eight raw digits when the source wrote an impossible date, or "". */
  readonly dob: string
  readonly street: string
  readonly city: string
  readonly postcode: string
  /**
   * Normalised identifiers as `type:value`. The engine keeps features for as long as their record
   * lives but needs identifiers only at ingestion (as blocking keys), so it empties this list.
   */
  ids: ReadonlyArray<string>
  /** Which well-known identifier types the record has (bit 1: email, bit 2: phone). */
  readonly idMask: number
  /** Values of the configured extra fields, in config order ("" when missing). */
  readonly extra: ReadonlyArray<string>
}

/** Agreement level of one comparison. */
export type Level = "missing" | "exact" | "close" | "fuzzy" | "different" | "initial" | "swapped"

const MISSING = 0
const EXACT = 1
const CLOSE = 2
const FUZZY = 3
const DIFFERENT = 4
const INITIAL = 5
const levelNames: ReadonlyArray<Level> = ["missing", "exact", "close", "fuzzy", "different", "initial"]

const text = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "")

const EIGHT_DIGITS = /^\d{8}$/
const NO_EXTRA: ReadonlyArray<string> = []

/** `idMask` bit of e-mail. */
export const EMAIL_BIT = 1
/** `idMask` bit of phone. */
export const PHONE_BIT = 2
/** Bit of a well-known identifier type (`type:value`) in `Features.idMask`; 0 for other types. */
export const maskOfId = (id: string): number =>
  id.startsWith("email:") ? EMAIL_BIT : id.startsWith("phone:") ? PHONE_BIT : 0
/** The empty identifier list features are left with once their identifiers became blocking keys. */
export const NO_IDS: ReadonlyArray<string> = []

/**
 * A record's normalised identifiers as (type, value) pairs: `identifierKeys` before each pair is
 * joined into `type:value`. The engine fills one reused list per record, so it builds no strings.
 */
export interface IdentifierList {
  readonly types: Array<string>
  readonly values: Array<string>
  count: number
}

/** An empty identifier list to fill with `collectIdentifiers`. */
export const identifierList = (): IdentifierList => ({ types: [], values: [], count: 0 })

const NO_ATTRIBUTES: Readonly<Record<string, unknown>> = {}

/** Whether `${t1}:${v1}` and `${t2}:${v2}` are one string (without building either). */
const sameKey = (t1: string, v1: string, t2: string, v2: string): boolean => {
  if (t1 === t2) return v1 === v2
  // Types holding ":" can still join into the same key.
  return t1.length + v1.length === t2.length + v2.length && `${t1}:${v1}` === `${t2}:${v2}`
}

/** Fills `into` with a record's normalised identifiers, in `identifierKeys` order and as distinct. */
export const collectIdentifiers = (
  record: SourceRecord,
  config: ResolverConfig,
  into: IdentifierList
): IdentifierList => {
  const a = record.attributes ?? NO_ATTRIBUTES
  const { types, values } = into
  let n = 0
  for (const attribute of config.identifierAttributes) {
    const v = text(a[attribute]).trim()
    if (v !== "") {
      types[n] = attribute
      values[n++] = v
    }
  }
  const identifiers = record.identifiers
  if (identifiers !== undefined) {
    let region: string | undefined
    for (const type in identifiers) {
      const list = identifiers[type]!
      for (let i = 0; i < list.length; i++) {
        const raw = list[i]!
        let v: string | undefined
        if (type === "email") v = Normalize.email(raw, config.email)
        else if (type === "phone") {
          if (region === undefined) {
            const country = text(a["country"]).toUpperCase()
            region = country.length === 2 ? country : config.defaultRegion
          }
          v = Normalize.phone(raw, region)
        } else {
          v = raw.trim()
          if (v === "") v = undefined
        }
        if (v === undefined) continue
        let seen = false
        for (let k = 0; k < n && !seen; k++) seen = sameKey(types[k]!, values[k]!, type, v)
        if (!seen) {
          types[n] = type
          values[n++] = v
        }
      }
    }
  }
  into.count = n
  return into
}

/**
 * A record's normalised identifiers as `type:value` (identifier attributes first), distinct: what
 * blocking and the deterministic rule read, and what erasure suppresses.
 */
export const identifierKeys = (record: SourceRecord, config: ResolverConfig): Array<string> => {
  const list = collectIdentifiers(record, config, identifierList())
  const ids: Array<string> = []
  for (let i = 0; i < list.count; i++) ids.push(`${list.types[i]}:${list.values[i]}`)
  return ids
}

/** `maskOfId` of `${type}:${value}`, from the type alone. */
export const maskOfType = (type: string): number =>
  type === "email" || type.startsWith("email:")
    ? EMAIL_BIT
    : type === "phone" || type.startsWith("phone:")
      ? PHONE_BIT
      : 0

/** Normalises a record's matching features under a configuration. */
export const features = (record: SourceRecord, config: ResolverConfig): Features => {
  const ids = identifierKeys(record, config)
  let idMask = 0
  for (const id of ids) idMask |= maskOfId(id)
  return featuresWith(record, config, ids, idMask)
}

/**
 * `features` with the identifiers left in `list` (filled by `collectIdentifiers`) instead of joined
 * into `ids`, which stays empty: what the engine reads at ingestion.
 */
export const featuresOfList = (
  record: SourceRecord,
  config: ResolverConfig,
  list: IdentifierList
): Features => {
  collectIdentifiers(record, config, list)
  let idMask = 0
  for (let i = 0; i < list.count; i++) idMask |= maskOfType(list.types[i]!)
  return featuresWith(record, config, NO_IDS, idMask)
}

const featuresWith = (
  record: SourceRecord,
  config: ResolverConfig,
  ids: ReadonlyArray<string>,
  idMask: number
): Features => {
  const a = record.attributes ?? NO_ATTRIBUTES
  const fn = Normalize.name(text(a["firstName"]))
  const ln = Normalize.name(text(a["lastName"]))
  const rawDob = text(a["birthDate"])
  let dob = rawDob === "" ? "" : (Normalize.date(rawDob) ?? "")
  if (dob === "" && rawDob !== "") {
    const digits = rawDob.replace(/\D/g, "")
    if (EIGHT_DIGITS.test(digits)) dob = digits
  }
  const street = Normalize.street(text(a["street"]))
  // Features live as long as their record: share one empty array where no extra fields are configured.
  const extra =
    config.extraFields.length === 0
      ? NO_EXTRA
      : config.extraFields.map((f) => {
          const v = text(a[f.attribute]).trim()
          return f.comparator === "name" ? Normalize.name(v) : v.toLowerCase()
        })
  return {
    fn,
    ln,
    dob,
    street,
    city: Normalize.name(text(a["city"])),
    postcode: Normalize.postcode(text(a["postcode"])),
    ids,
    idMask,
    extra
  }
}

const tokenOverlap = (a: string, b: string): boolean => {
  const ta = a.split(" ")
  const tb = b.split(" ")
  for (const x of ta) if (x.length > 1 && tb.includes(x)) return true
  return false
}

const nameLevel = (a: string, b: string, config: ResolverConfig): number => {
  if (a === "" || b === "") return MISSING
  if (a === b || Normalize.germanic(a) === Normalize.germanic(b)) return EXACT
  if (a.length === 1 || b.length === 1) return a.charCodeAt(0) === b.charCodeAt(0) ? INITIAL : DIFFERENT
  if ((a.includes(" ") || b.includes(" ")) && tokenOverlap(a, b)) return CLOSE
  const jw = Normalize.jaroWinkler(a, b)
  if (jw >= config.nameSimilarity.close) return CLOSE
  if (jw >= config.nameSimilarity.fuzzy) return FUZZY
  return DIFFERENT
}

const dobLevel = (a: string, b: string): number => {
  if (a === "" || b === "") return MISSING
  if (a === b) return EXACT
  if (
    a.charCodeAt(4) === b.charCodeAt(6) &&
    a.charCodeAt(5) === b.charCodeAt(7) &&
    a.charCodeAt(6) === b.charCodeAt(4) &&
    a.charCodeAt(7) === b.charCodeAt(5) &&
    a.startsWith(b.slice(0, 4))
  )
    return CLOSE
  return Normalize.damerauWithin1(a, b) ? FUZZY : DIFFERENT
}

const postcodeLevel = (a: string, b: string): number => {
  if (a === "" || b === "") return MISSING
  if (a === b) return EXACT
  return Normalize.damerauWithin1(a, b) ? CLOSE : DIFFERENT
}

const streetLevel = (a: Features, b: Features): number => {
  if (a.street === "" || b.street === "") return MISSING
  if (a.street === b.street) return EXACT
  const jw = Normalize.jaroWinkler(a.street, b.street)
  if (jw >= 0.9) {
    // Neighbours and namesakes share street names: two house numbers that differ are two addresses.
    const ha = Normalize.houseNumber(a.street)
    const hb = Normalize.houseNumber(b.street)
    if (ha !== undefined && hb !== undefined) return ha === hb ? CLOSE : DIFFERENT
    return FUZZY
  }
  return DIFFERENT
}

const cityLevel = (a: string, b: string): number => {
  if (a === "" || b === "") return MISSING
  if (a === b) return EXACT
  return Normalize.jaroWinkler(a, b) >= 0.92 ? CLOSE : DIFFERENT
}

const extraLevel = (
  comparator: "exact" | "typo" | "name",
  a: string,
  b: string,
  config: ResolverConfig
): number => {
  if (a === "" || b === "") return MISSING
  if (a === b) return EXACT
  if (comparator === "exact") return DIFFERENT
  if (comparator === "typo") return Normalize.damerauWithin1(a, b) ? CLOSE : DIFFERENT
  return nameLevel(a, b, config)
}

interface Weights {
  readonly exact: number
  readonly close: number
  readonly fuzzy: number
  readonly different: number
}

const weightOf = (w: Weights, level: number, initial = 0): number => {
  switch (level) {
    case EXACT:
      return w.exact
    case CLOSE:
      return w.close
    case FUZZY:
      return w.fuzzy
    case DIFFERENT:
      return w.different
    case INITIAL:
      return initial
    default:
      return 0
  }
}

/** One field's part of a comparison, for explanations. */
export interface Evidence {
  readonly field: string
  readonly level: Level
  readonly weight: number
}

/** The outcome of comparing two records. */
export interface Comparison {
  /** Sum of the field weights. */
  readonly score: number
  /** Strong conflicting evidence: different first names without an agreeing birth date, or the reverse. */
  readonly veto: boolean
  /** Identifier values both records carry (`type:value`). */
  readonly sharedIds: ReadonlyArray<string>
  readonly evidence: ReadonlyArray<Evidence>
}

/** Scratch result of the allocation-free comparison on the hot path. */
export interface Scored {
  score: number
  veto: boolean
}

const scoreInto = (
  a: Features,
  b: Features,
  config: ResolverConfig,
  sharedMask: number,
  out: Scored,
  ev?: Array<Evidence>,
  floor?: number
): void => {
  const w = config.weights
  let fnL = nameLevel(a.fn, b.fn, config)
  let lnL = nameLevel(a.ln, b.ln, config)
  let swapped = false
  let halfSwapped = false
  if ((fnL === DIFFERENT || lnL === DIFFERENT) && a.fn !== "" && a.ln !== "" && b.fn !== "" && b.ln !== "") {
    const x = nameLevel(a.fn, b.ln, config)
    const y = nameLevel(a.ln, b.fn, config)
    const xOk = x === EXACT || x === CLOSE
    const yOk = y === EXACT || y === CLOSE
    if (xOk && yOk) swapped = true
    // One name written in the other's field and the other name lost: the crosswise agreement
    // counts as one agreeing name, and the lost one as unknown rather than as a conflict.
    else if (
      (x === EXACT && fnL === DIFFERENT && lnL === DIFFERENT) ||
      (y === EXACT && fnL === DIFFERENT && lnL === DIFFERENT)
    )
      halfSwapped = true
  }
  let score = 0
  if (swapped) {
    score += w.swappedNames
    fnL = EXACT
    lnL = EXACT
    ev?.push({ field: "name", level: "swapped", weight: w.swappedNames })
  } else if (halfSwapped) {
    score += w.lastName.exact
    fnL = MISSING
    lnL = EXACT
    ev?.push({ field: "name", level: "swapped", weight: w.lastName.exact })
  } else {
    const fw = weightOf(w.firstName, fnL, w.initial)
    const lw = weightOf(w.lastName, lnL, w.initial)
    score += fw + lw
    ev?.push({ field: "firstName", level: levelNames[fnL]!, weight: fw })
    ev?.push({ field: "lastName", level: levelNames[lnL]!, weight: lw })
  }
  const dL = dobLevel(a.dob, b.dob)
  const dw = weightOf(w.birthDate, dL)
  if (floor !== undefined) {
    // Names and birth date decide the veto; when the fields left cannot lift the score to the
    // floor, their comparisons (string similarity, most of the cost) are skipped. The margin keeps
    // rounding from ever skipping a pair whose exact score would reach the floor.
    const bound = score + dw + maxRest(config)
    if (bound < floor - 1e-6) {
      out.score = bound
      out.veto = vetoOf(fnL, dL)
      return
    }
  }
  const pL = postcodeLevel(a.postcode, b.postcode)
  const pw = weightOf(w.postcode, pL)
  const sL = streetLevel(a, b)
  const sw = weightOf(w.street, sL)
  const cL = cityLevel(a.city, b.city)
  const cw = weightOf(w.city, cL)
  score += dw + pw + sw + cw
  if (ev !== undefined) {
    ev.push({ field: "birthDate", level: levelNames[dL]!, weight: dw })
    ev.push({ field: "postcode", level: levelNames[pL]!, weight: pw })
    ev.push({ field: "street", level: levelNames[sL]!, weight: sw })
    ev.push({ field: "city", level: levelNames[cL]!, weight: cw })
  }
  const extras = config.extraFields
  for (let i = 0; i < extras.length; i++) {
    const f = extras[i]!
    const l = extraLevel(f.comparator, a.extra[i] ?? "", b.extra[i] ?? "", config)
    const xw = weightOf(f.weights, l)
    score += xw
    ev?.push({ field: f.attribute, level: levelNames[l]!, weight: xw })
  }
  // People have several e-mails and phones, so one that differs is weak evidence; but two records
  // that both carry e-mails (or phones) and share none are less likely one person.
  const conflicts = a.idMask & b.idMask & ~sharedMask
  if (conflicts !== 0) {
    const cw = w.identifierConflict
    if ((conflicts & EMAIL_BIT) !== 0) {
      score += cw
      ev?.push({ field: "email", level: "different", weight: cw })
    }
    if ((conflicts & PHONE_BIT) !== 0) {
      score += cw
      ev?.push({ field: "phone", level: "different", weight: cw })
    }
  }
  out.score = score
  out.veto = vetoOf(fnL, dL)
}

const vetoOf = (fnL: number, dL: number): boolean => {
  const fnAgree = fnL === EXACT || fnL === CLOSE || fnL === INITIAL
  const dobAgree = dL === EXACT || dL === CLOSE || dL === FUZZY
  return (fnL === DIFFERENT && !dobAgree) || (dL === DIFFERENT && !fnAgree)
}

const restBounds = new WeakMap<ResolverConfig, number>()

/** The most the fields scored after names and birth date can add to a score. */
const maxRest = (config: ResolverConfig): number => {
  let r = restBounds.get(config)
  if (r !== undefined) return r
  const w = config.weights
  const most = (x: Weights) => Math.max(0, x.exact, x.close, x.fuzzy, x.different)
  r = most(w.postcode) + most(w.street) + most(w.city) + 2 * Math.max(0, w.identifierConflict)
  for (const f of config.extraFields) r += most(f.weights)
  restBounds.set(config, r)
  return r
}

/**
 * Scores two records without allocating (the hot path of resolution). `sharedMask` has the
 * `idMask` bits of the identifier types whose values the two records share.
 */
export const score = (
  a: Features,
  b: Features,
  config: ResolverConfig,
  sharedMask: number,
  out: Scored
): Scored => {
  scoreInto(a, b, config, sharedMask, out)
  return out
}

/**
 * `score` for a yes/no decision against `threshold`: `out.veto` is exact, and so is `out.score`
 * whenever it could reach the threshold; otherwise the comparison may stop early and `out.score`
 * is only an upper bound, still below the threshold. What the engine runs on every candidate pair.
 */
export const decide = (
  a: Features,
  b: Features,
  config: ResolverConfig,
  sharedMask: number,
  out: Scored,
  threshold: number
): Scored => {
  scoreInto(a, b, config, sharedMask, out, undefined, threshold)
  return out
}

/** Identifier values two records share. */
export const sharedIds = (a: Features, b: Features): Array<string> => a.ids.filter((id) => b.ids.includes(id))

/** Compares two records, with the evidence of every field (for explanations and tests). */
export const compare = (a: Features, b: Features, config: ResolverConfig): Comparison => {
  const evidence: Array<Evidence> = []
  const out: Scored = { score: 0, veto: false }
  const shared = sharedIds(a, b)
  let sharedMask = 0
  for (const id of shared) sharedMask |= maskOfId(id)
  scoreInto(a, b, config, sharedMask, out, evidence)
  return { score: out.score, veto: out.veto, sharedIds: shared, evidence }
}

/** Whether an identifier type links records by itself under the configuration. */
export const isLinkingType = (config: ResolverConfig, id: string): boolean => {
  if (config.linkingIdentifiers === "all") return true
  const type = id.slice(0, id.indexOf(":"))
  return config.linkingIdentifiers.includes(type)
}

/** `isLinkingType` of `${type}:${value}`, from the type alone. */
export const isLinkingIdType = (config: ResolverConfig, type: string): boolean => {
  if (config.linkingIdentifiers === "all") return true
  const colon = type.indexOf(":")
  return config.linkingIdentifiers.includes(colon < 0 ? type : type.slice(0, colon))
}
