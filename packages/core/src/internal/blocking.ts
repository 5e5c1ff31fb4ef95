/**
 * Blocking keys: which records are compared at all. Every identifier is a key of its own
 * ("i" prefix, exact); fuzzy keys combine phonetic name codes with birth date, postcode and
 * city so that duplicates with no shared identifier, typos, swapped names or swapped day and
 * month still meet in some block.
 */
import type { Features } from "../Matcher.js"
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
  if (f.fn !== "" && f.ln !== "") keys.push(f.fn < f.ln ? `n${f.fn}|${f.ln}` : `n${f.ln}|${f.fn}`)
  if (f.dob !== "") {
    const d = dobUnordered(f.dob)
    // First- and last-name codes share one prefix so that swapped names still meet.
    if (f.lnSx !== "") keys.push(`s${f.lnSx}${d}`)
    if (f.fnSx !== "" && f.fnSx !== f.lnSx) keys.push(`s${f.fnSx}${d}`)
    if (f.postcode !== "") keys.push(`d${f.dob}|${f.postcode}`)
  }
  if (f.postcode !== "") {
    if (f.lnSx !== "") keys.push(`p${f.lnSx}${f.postcode}`)
    if (f.fnSx !== "" && f.fnSx !== f.lnSx) keys.push(`p${f.fnSx}${f.postcode}`)
  }
  if (f.city !== "" && f.lnSx !== "" && f.fn !== "") keys.push(`c${f.lnSx}${f.fn.charAt(0)}|${f.city}`)
  const extras = config.extraFields
  for (let i = 0; i < extras.length; i++) {
    const v = f.extra[i]
    if (extras[i]!.block && v !== undefined && v !== "") keys.push(`x${i}|${v}`)
  }
  return keys
}
