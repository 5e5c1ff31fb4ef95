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

/** Birth date with day and month in sorted order, so a day/month swap keeps the key. */
const dobUnordered = (dob: string): string => {
  const a = dob.slice(4, 6)
  const b = dob.slice(6, 8)
  return a <= b ? dob.slice(0, 4) + a + b : dob.slice(0, 4) + b + a
}

/** The blocking keys of a record. Keys of one record are distinct. */
export const blockingKeys = (f: Features, config: ResolverConfig): Array<string> => {
  const keys: Array<string> = []
  for (const id of f.ids) keys.push(`i${id}`)
  const fnSx = soundex(f.fn)
  const lnSx = soundex(f.ln)
  if (f.dob !== "") {
    const d = dobUnordered(f.dob)
    // First- and last-name codes share one prefix so that swapped names still meet.
    if (lnSx !== "") keys.push(`s${lnSx}${d}`)
    if (fnSx !== "" && fnSx !== lnSx) keys.push(`s${fnSx}${d}`)
    if (f.postcode !== "") keys.push(`d${f.dob}|${f.postcode}`)
    // A one-digit error in the birth date breaks the keys above; both name codes with the year,
    // and with day and month, still meet (and stay small however large the population grows).
    if (fnSx !== "" && lnSx !== "") {
      const names = fnSx < lnSx ? fnSx + lnSx : lnSx + fnSx
      keys.push(`y${names}${f.dob.slice(0, 4)}`)
      keys.push(`m${names}${d.slice(4)}`)
    }
  }
  if (f.postcode !== "") {
    if (lnSx !== "") keys.push(`p${lnSx}${f.postcode}`)
    if (fnSx !== "" && fnSx !== lnSx) keys.push(`p${fnSx}${f.postcode}`)
  }
  // Without a birth date or postcode, the full name in one city is the narrowest key left; keys
  // of a name alone grow with the population (namesakes) and are not used.
  if (f.city !== "" && f.fn !== "" && f.ln !== "") {
    keys.push(f.fn < f.ln ? `c${f.fn}|${f.ln}|${f.city}` : `c${f.ln}|${f.fn}|${f.city}`)
  }
  const extras = config.extraFields
  for (let i = 0; i < extras.length; i++) {
    const v = f.extra[i]
    if (extras[i]!.block && v !== undefined && v !== "") keys.push(`x${i}|${v}`)
  }
  return keys
}
