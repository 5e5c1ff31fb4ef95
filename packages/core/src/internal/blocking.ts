/**
 * Blocking keys: which records are compared at all. Every identifier is a key of its own
 * ("i" prefix, exact); fuzzy keys combine phonetic name codes with birth date, postcode and
 * city so that duplicates with no shared identifier, typos, swapped names or swapped day and
 * month still meet in some block. Every fuzzy key pairs a name code with something specific to
 * a person (a birth date, a postcode, a city with the full name), so block sizes stay flat as
 * the population grows, and every pair that could reach the match threshold without a shared
 * identifier (it needs names plus a birth date or an address) shares at least one key.
 */
import type { Features } from "../Matcher.js"
import { soundex } from "../Normalize.js"
import type { ResolverConfig } from "../ResolverConfig.js"

/**
 * Receives keys part by part: the engine hashes the parts as they come (no key string is built),
 * and `blockingKeys` concatenates them. A key is `begin(tag)`, then `text` parts, then `end()`.
 */
export interface KeyWriter {
  begin(tag: number): void
  text(s: string, from?: number, to?: number): void
  end(): void
}

const S = 115 // s
const D = 100 // d
const Y = 121 // y
const M = 109 // m
const P = 112 // p
const C = 99 // c
const X = 120 // x
const I = 105 // i
const BAR = "|"

// Birth date with day and month in sorted order, so a day/month swap keeps the key: the year, then
// the smaller and the larger of the two-digit pairs at 4 and 6.
const dobUnordered = (w: KeyWriter, dob: string): void => {
  w.text(dob, 0, 4)
  dayMonth(w, dob)
}

const dayMonth = (w: KeyWriter, dob: string): void => {
  const a = dob.charCodeAt(4)
  const b = dob.charCodeAt(6)
  if (a < b || (a === b && dob.charCodeAt(5) <= dob.charCodeAt(7))) {
    w.text(dob, 4, 6)
    w.text(dob, 6, 8)
  } else {
    w.text(dob, 6, 8)
    w.text(dob, 4, 6)
  }
}

/** Writes the blocking keys of a record, in a fixed order. Keys of one record are distinct. */
export const writeBlockingKeys = (f: Features, config: ResolverConfig, w: KeyWriter): void => {
  for (const id of f.ids) {
    w.begin(I)
    w.text(id)
    w.end()
  }
  writeFuzzyKeys(f, config, w)
}

/** The blocking keys after the identifier keys (`i` and the `type:value` of each identifier). */
export const writeFuzzyKeys = (f: Features, config: ResolverConfig, w: KeyWriter): void => {
  const fnSx = soundex(f.fn)
  const lnSx = soundex(f.ln)
  if (f.dob !== "") {
    const dob = f.dob
    // First- and last-name codes share one prefix so that swapped names still meet.
    if (lnSx !== "") {
      w.begin(S)
      w.text(lnSx)
      dobUnordered(w, dob)
      w.end()
    }
    if (fnSx !== "" && fnSx !== lnSx) {
      w.begin(S)
      w.text(fnSx)
      dobUnordered(w, dob)
      w.end()
    }
    if (f.postcode !== "") {
      w.begin(D)
      w.text(dob)
      w.text(BAR)
      w.text(f.postcode)
      w.end()
    }
    // A one-digit error in the birth date breaks the keys above; both name codes with the year,
    // and with day and month, still meet (and stay small however large the population grows).
    if (fnSx !== "" && lnSx !== "") {
      // In sorted order (equal codes read the same either way).
      let first = fnSx
      let second = lnSx
      if (lnSx < fnSx) {
        first = lnSx
        second = fnSx
      }
      w.begin(Y)
      w.text(first)
      w.text(second)
      w.text(dob, 0, 4)
      w.end()
      w.begin(M)
      w.text(first)
      w.text(second)
      dayMonth(w, dob)
      w.end()
    }
  }
  if (f.postcode !== "") {
    if (lnSx !== "") {
      w.begin(P)
      w.text(lnSx)
      w.text(f.postcode)
      w.end()
    }
    if (fnSx !== "" && fnSx !== lnSx) {
      w.begin(P)
      w.text(fnSx)
      w.text(f.postcode)
      w.end()
    }
  }
  // Without a birth date or postcode, the full name in one city is the narrowest key left; keys
  // of a name alone grow with the population (namesakes) and are not used.
  if (f.city !== "" && f.fn !== "" && f.ln !== "") {
    let first = f.fn
    let second = f.ln
    if (f.ln < f.fn) {
      first = f.ln
      second = f.fn
    }
    w.begin(C)
    w.text(first)
    w.text(BAR)
    w.text(second)
    w.text(BAR)
    w.text(f.city)
    w.end()
  }
  const extras = config.extraFields
  for (let i = 0; i < extras.length; i++) {
    const v = f.extra[i]
    if (extras[i]!.block && v !== undefined && v !== "") {
      w.begin(X)
      w.text(String(i))
      w.text(BAR)
      w.text(v)
      w.end()
    }
  }
}

/** The blocking keys of a record as strings (what the engine hashes in parts). */
export const blockingKeys = (f: Features, config: ResolverConfig): Array<string> => {
  const keys: Array<string> = []
  let key = ""
  writeBlockingKeys(f, config, {
    begin: (tag) => {
      key = String.fromCharCode(tag)
    },
    text: (s, from = 0, to = s.length) => {
      key += s.slice(from, to)
    },
    end: () => {
      keys.push(key)
    }
  })
  return keys
}
