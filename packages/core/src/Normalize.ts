/**
 * Normalisation and string comparison for identity resolution: e-mail, phone, name, date, street
 * and postcode canonical forms that blocking keys are built from, and the similarity measures the
 * matcher scores with. Every function is pure and synchronous, and the hot ones avoid regexes and
 * allocation because the engine runs them several times per record at 150k records/s.
 */
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max"
import phoneMetadata from "libphonenumber-js/max/metadata"
import {
  FOLD_TABLE,
  FOLD_TABLE_SIZE,
  NUMBER_MARKERS,
  STREET_SUFFIXES,
  STREET_WORDS,
  foldCodePoint
} from "./internal/normalizeTables.js"

// ---------------------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------------------

/** Which provider-specific aliasing rules `email` undoes. */
export interface EmailRules {
  // RFC 5321 lets a server treat the local part case-sensitively, but no mainstream provider does,
  // so matching lowercases the whole address. The domain is lowercased regardless: DNS ignores case.
  /** Lowercase the local part too (the domain always is). */
  readonly lowercase: boolean
  /** Gmail ignores dots in the local part ("a.b@gmail.com" is "ab@gmail.com"). */
  readonly gmailDots: boolean
  /** Drop a "+tag" suffix of the local part: for every provider, only for Gmail, or never. */
  readonly plusTags: boolean | "gmail-only"
  /** googlemail.com is the same mailbox as gmail.com. */
  readonly googlemail: boolean
}

/** The rules `email` applies unless told otherwise: every alias collapsed. */
export const defaultEmailRules: EmailRules = {
  lowercase: true,
  gmailDots: true,
  plusTags: true,
  googlemail: true
}

const isUnicodeSpace = (c: number): boolean =>
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200b) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff

// Domains are compared as written (NFC), not IDNA-encoded: records spell a domain one way or the other
// far more consistently than they mix the two.
/** Canonical e-mail address (trimmed, NFC, lowercased, aliases collapsed), or undefined if implausible. */
export const email = (raw: string, rules: EmailRules = defaultEmailRules): string | undefined => {
  let s = raw
  let n = s.length
  if (n === 0) return undefined
  const first = s.charCodeAt(0)
  const last = s.charCodeAt(n - 1)
  if (first <= 32 || last <= 32 || first >= 0x80 || last >= 0x80) {
    s = s.trim()
    n = s.length
  }
  let at = -1
  let plus = -1
  let nonAscii = false
  let upperLocal = false
  let upperDomain = false
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 97 && c <= 122) continue
    if (c === 64) {
      if (at >= 0) return undefined
      at = i
    } else if (c <= 32 || c === 127) {
      return undefined
    } else if (c >= 65 && c <= 90) {
      if (at < 0) upperLocal = true
      else upperDomain = true
    } else if (c === 43) {
      if (at < 0 && plus < 0) plus = i
    } else if (c >= 0x80) {
      if (isUnicodeSpace(c)) return undefined
      nonAscii = true
    }
  }
  if (at <= 0 || at >= n - 1) return undefined
  if (nonAscii) {
    s = s.normalize("NFC")
    if (rules.lowercase) s = s.toLowerCase()
    else {
      const a = s.indexOf("@")
      s = s.slice(0, a + 1) + s.slice(a + 1).toLowerCase()
    }
    // NFC and case mapping can change lengths (İ lowercases to two code units), so re-locate.
    n = s.length
    at = s.indexOf("@")
    plus = s.indexOf("+")
    if (plus > at) plus = -1
  } else if (upperDomain || (upperLocal && rules.lowercase)) {
    s = rules.lowercase ? s.toLowerCase() : s.slice(0, at + 1) + s.slice(at + 1).toLowerCase()
  }
  let dot = false
  let prev = 64
  for (let i = at + 1; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) {
      if (prev === 46 || prev === 64) return undefined
      dot = true
    }
    prev = c
  }
  if (!dot || prev === 46) return undefined
  const gmail = at === n - 10 && s.endsWith("@gmail.com")
  const googlemail = !gmail && at === n - 15 && s.endsWith("@googlemail.com")
  const isGmail = gmail || googlemail
  // A leading "+" is kept: cutting there would leave no mailbox at all.
  const cutPlus = plus > 0 && (rules.plusTags === true || (rules.plusTags === "gmail-only" && isGmail))
  const stripDots = isGmail && rules.gmailDots
  const renameDomain = googlemail && rules.googlemail
  if (!cutPlus && !stripDots && !renameDomain) return s
  let local = s.slice(0, cutPlus ? plus : at)
  if (stripDots && local.includes(".")) local = local.replaceAll(".", "")
  if (local.length === 0) return undefined
  return local + "@" + (renameDomain ? "gmail.com" : s.slice(at + 1))
}

// ---------------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------------

// Two generations of at most this many entries each: when the young one fills up it becomes the
// old one, so hot numbers survive a rollover instead of all being dropped at once.
const PHONE_CACHE_GENERATION = 400_000
// Real numbers, even with an extension, compact to well under this; longer input is not cached so
// junk cannot inflate the cache's memory.
const PHONE_KEY_MAX = 40
// Below this the library is not asked. The price: numbers written nationally in 4-5 digits are
// refused, which (checked exhaustively) only exist in tiny plans (Niue, Tokelau, St Helena,
// Falklands, Samoa, …), some Finnish, Austrian and Luxembourg lines, and service or pager numbers;
// none in TR, GB or ES. Written with their country code they reach 6 digits and pass.
const PHONE_MIN_DIGITS = 6

// Keyed by region, then by the compact number: a nested lookup avoids building (and hashing) a
// concatenated key string, which halves the cost of a cache hit.
let phoneYoung = new Map<string, Map<string, string>>()
let phoneOld = new Map<string, Map<string, string>>()
let phoneYoungSize = 0

/** Empties the phone parse cache (benchmarks measure cold parses with it; tests isolate runs). */
export const clearCaches = (): void => {
  phoneYoung = new Map()
  phoneOld = new Map()
  phoneYoungSize = 0
}

const isPhoneSeparator = (c: number): boolean =>
  c <= 32 ||
  c === 45 ||
  c === 46 ||
  c === 40 ||
  c === 41 ||
  c === 47 ||
  c === 0xa0 ||
  (c >= 0x2000 && c <= 0x2015) ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x2212 ||
  c === 0x3000 ||
  c === 0xfeff

// libphonenumber also reads full-width and Arabic-Indic digits, so the pre-filter must count them.
const isWideDigit = (c: number): boolean =>
  (c >= 0xff10 && c <= 0xff19) || (c >= 0x660 && c <= 0x669) || (c >= 0x6f0 && c <= 0x6f9)

const regionCode = (region: string): string => {
  const a = region.charCodeAt(0)
  const b = region.charCodeAt(1)
  return region.length === 2 && a >= 65 && a <= 90 && b >= 65 && b <= 90
    ? region
    : region.trim().toUpperCase()
}

// isValid() with the "max" metadata, not isPossible(): a possible-length check accepts
// placeholders such as "123 456 7890" (US) and unallocated ranges, and a junk value shared by
// many records is exactly what makes an identity key merge strangers.
const parseE164 = (compact: string, region: string): string => {
  const parsed =
    region.length === 0
      ? parsePhoneNumberFromString(compact)
      : parsePhoneNumberFromString(compact, region as CountryCode)
  if (parsed === undefined || !parsed.isValid()) return ""
  // The same number usually comes back in other records written another way: seed the cache
  // with the two spellings the library itself produces for it (E.164, and the national format
  // of its own country), which parse back to this very number, so those records skip the parse.
  const e164 = parsed.number
  cachePhone("", e164, e164)
  if (parsed.country !== undefined) cachePhone(parsed.country, compactNational(parsed.formatNational()), e164)
  return e164
}

const compactNational = (formatted: string): string => {
  let out = ""
  for (let i = 0; i < formatted.length; i++) {
    const c = formatted.charCodeAt(i)
    if (!isPhoneSeparator(c)) out += formatted[i]
  }
  return out
}

const cachePhone = (region: string, compact: string, result: string): void => {
  if (phoneYoungSize >= PHONE_CACHE_GENERATION) {
    phoneOld = phoneYoung
    phoneYoung = new Map()
    phoneYoungSize = 0
  }
  let young = phoneYoung.get(region)
  if (young === undefined) {
    young = new Map()
    phoneYoung.set(region, young)
  }
  if (!young.has(compact)) {
    young.set(compact, result)
    phoneYoungSize++
  }
}

/** E.164 form of a valid phone number, national formats read in `defaultRegion` (ISO 3166 alpha-2). */
export const phone = (raw: string, defaultRegion?: string): string | undefined => {
  const n = raw.length
  let digits = 0
  let compact = ""
  let runStart = 0
  let stripped = false
  // Separators are removed before both the cache lookup and the library call, so every spelling
  // that shares a key also shares one parse result.
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i)
    if (c >= 48 && c <= 57) digits++
    else if (isPhoneSeparator(c)) {
      if (i > runStart) compact += raw.slice(runStart, i)
      runStart = i + 1
      stripped = true
    } else if (c >= 0x80 && isWideDigit(c)) digits++
  }
  if (digits < PHONE_MIN_DIGITS) return undefined
  compact = stripped ? compact + raw.slice(runStart) : raw
  // A number written with its country code reads the same in every region.
  const region =
    compact.charCodeAt(0) === 43 /* + */ || defaultRegion === undefined || defaultRegion.length === 0
      ? ""
      : regionCode(defaultRegion)
  if (compact.length > PHONE_KEY_MAX) {
    const r = parseE164(compact, region)
    return r.length === 0 ? undefined : r
  }
  let r = phoneYoung.get(region)?.get(compact)
  if (r === undefined) {
    r = phoneOld.get(region)?.get(compact)
    if (r === undefined) r = phoneFast(compact, region) ?? parseE164(compact, region)
    cachePhone(region, compact, r)
  }
  return r.length === 0 ? undefined : r
}

// A fast path for the shapes most input has: "+" and ASCII digits, or ASCII digits read in a
// region. It follows libphonenumber's own steps (calling code, national prefix, country among those
// sharing the code, validity by the type patterns of the "max" metadata) with the patterns compiled
// once (the library builds a RegExp per test, and a cache miss cost ~12 us), and answers undefined,
// leaving the library to decide, wherever those steps branch into anything rarer (a 0 after an IDD
// prefix, a country code written without "+", national prefixes with captured groups such as
// carrier codes, non-geographic codes, lengths outside 2..17). The numbers it answers are the ones
// the cache below would otherwise miss on; a test compares it with the library on ~50k numbers.

interface PhoneType {
  readonly pattern: RegExp
  readonly lengths: ReadonlyArray<number> | undefined
}

interface PhonePlan {
  readonly callingCode: string
  readonly idd: RegExp | undefined
  readonly national: RegExp
  readonly lengths: ReadonlyArray<number> | undefined
  /** National prefix for parsing, anchored at the start. */
  readonly prefix: RegExp | undefined
  /** Whether that pattern captures groups (carrier codes, transform rules: the library decides). */
  readonly complexPrefix: boolean
  readonly leading: RegExp | undefined
  /** Types in the order getNumberType tries them (fixed line first); undefined: no type data. */
  readonly types: ReadonlyArray<PhoneType | undefined> | undefined
}

type PlanJson = ReadonlyArray<unknown>
const PHONE_COUNTRIES = (phoneMetadata as unknown as { countries: Record<string, PlanJson> }).countries
const PHONE_CALLING_CODES = (
  phoneMetadata as unknown as { country_calling_codes: Record<string, Array<string>> }
).country_calling_codes
const PHONE_NON_GEOGRAPHIC =
  (phoneMetadata as unknown as { nonGeographic?: Record<string, unknown> }).nonGeographic ?? {}
// getNumberType's order: FIXED_LINE, MOBILE, then PREMIUM_RATE, TOLL_FREE, SHARED_COST, VOIP,
// PERSONAL_NUMBER, PAGER, UAN, VOICEMAIL, as indices into the metadata's type list.
const PHONE_TYPE_ORDER = [0, 1, 3, 2, 9, 8, 4, 7, 6, 5]
const phonePlans = new Map<string, PhonePlan | undefined>()

const whole = (pattern: string): RegExp => new RegExp(`^(?:${pattern})$`)

const phonePlan = (country: string): PhonePlan | undefined => {
  if (phonePlans.has(country)) return phonePlans.get(country)
  const m = Object.hasOwn(PHONE_COUNTRIES, country) ? PHONE_COUNTRIES[country] : undefined
  let plan: PhonePlan | undefined
  if (m !== undefined) {
    const lengths = m[3] as ReadonlyArray<number> | undefined
    const pfp = ((m[7] as string | undefined) || (m[5] as string | undefined) || "") as string
    const prefix = pfp === "" ? undefined : new RegExp(`^(?:${pfp})`)
    const rawTypes = m[11] as ReadonlyArray<unknown> | undefined
    const hasTypes =
      rawTypes !== undefined && rawTypes !== null && (rawTypes as unknown) !== 0 && rawTypes.length > 0
    plan = {
      callingCode: m[0] as string,
      idd: typeof m[1] === "string" && m[1] !== "" ? new RegExp(m[1]) : undefined,
      national: whole(m[2] as string),
      lengths,
      prefix,
      // Without captured groups the library neither applies a transform rule nor finds a carrier code.
      complexPrefix: pfp !== "" && new RegExp(`${pfp}|`).exec("")!.length > 1,
      leading: typeof m[10] === "string" && m[10] !== "" ? new RegExp(`^(?:${m[10]})`) : undefined,
      types: hasTypes
        ? PHONE_TYPE_ORDER.map((i) => {
            // Absent types are 0 or missing in the compressed metadata.
            const t = (rawTypes[i] || undefined) as ReadonlyArray<unknown> | undefined
            if (!t?.[0]) return undefined
            return {
              pattern: whole(t[0] as string),
              lengths: (t[1] as ReadonlyArray<number> | undefined) || lengths
            }
          })
        : undefined
    }
  }
  phonePlans.set(country, plan)
  return plan
}

const isPhoneType = (t: PhoneType | undefined, nsn: string): boolean =>
  t !== undefined && (t.lengths === undefined || t.lengths.includes(nsn.length)) && t.pattern.test(nsn)

/** Whether getNumberType finds a type for a national significant number (none without type data). */
const hasType = (plan: PhonePlan, nsn: string): boolean => {
  const types = plan.types
  if (types === undefined || !plan.national.test(nsn)) return false
  for (let i = 0; i < types.length; i++) if (isPhoneType(types[i], nsn)) return true
  return false
}

/** libphonenumber's isValid for a national significant number in one country's plan. */
const validIn = (plan: PhonePlan, nsn: string): boolean =>
  plan.types === undefined ? plan.national.test(nsn) : hasType(plan, nsn)

/** The country among those sharing a calling code that a number belongs to (getCountryByCallingCode). */
const countryOf = (callingCode: string, nsn: string): string | undefined => {
  const countries = PHONE_CALLING_CODES[callingCode]!
  if (countries.length === 1) return countries[0]
  for (const c of countries) {
    const plan = phonePlan(c)
    if (plan === undefined) continue
    if (plan.leading !== undefined) {
      if (plan.leading.test(nsn)) return c
    } else if (hasType(plan, nsn)) return c
  }
  return undefined
}

const lengthRefused = (lengths: ReadonlyArray<number>, n: number): boolean => {
  const min = lengths[0]!
  if (min === n) return false
  if (min > n) return true
  if (lengths[lengths.length - 1]! < n) return false
  return lengths.indexOf(n, 1) < 0
}

/** extractNationalNumber without capturing prefix patterns; undefined where the library must decide. */
const nationalNumber = (digits: string, plan: PhonePlan): string | undefined => {
  if (plan.prefix === undefined) return digits
  if (plan.complexPrefix) return undefined
  const match = plan.prefix.exec(digits)
  if (match === null) return digits
  const rest = digits.slice(match[0].length)
  if (plan.national.test(digits) && !plan.national.test(rest)) return digits
  if (plan.lengths !== undefined) {
    const country = countryOf(plan.callingCode, rest)
    const lengths = country === undefined ? plan.lengths : phonePlan(country)?.lengths
    if (lengths !== undefined && lengthRefused(lengths, rest.length)) return digits
  }
  return rest
}

const isAsciiDigits = (s: string, from: number): boolean => {
  if (from >= s.length) return false
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

/** E.164 (or "" when invalid) as libphonenumber would give it, or undefined to ask the library. */
export const phoneFast = (compact: string, region: string): string | undefined => {
  let callingCode: string
  let nsn: string | undefined
  let country: string | undefined
  if (compact.charCodeAt(0) === 43 /* + */) {
    if (!isAsciiDigits(compact, 1) || compact.charCodeAt(1) === 48) return undefined
    let i = 2
    for (; i <= 4 && i <= compact.length; i++) {
      const cc = compact.slice(1, i)
      if (Object.hasOwn(PHONE_CALLING_CODES, cc)) break
      if (Object.hasOwn(PHONE_NON_GEOGRAPHIC, cc)) return undefined
    }
    if (i > 4 || i > compact.length) return undefined
    callingCode = compact.slice(1, i)
    const main = phonePlan(PHONE_CALLING_CODES[callingCode]![0]!)
    const rest = compact.slice(i)
    if (main === undefined || rest === "") return undefined
    nsn = nationalNumber(rest, main)
    if (nsn === undefined) return undefined
    country = countryOf(callingCode, nsn) ?? PHONE_CALLING_CODES[callingCode]![0]
  } else {
    if (!isAsciiDigits(compact, 0)) return undefined
    // Digits alone name no country: the library finds no numbering plan.
    if (region === "") return ""
    const plan = phonePlan(region)
    if (plan === undefined || plan.idd === undefined) return undefined
    const idd = plan.idd.exec(compact)
    if (idd !== null && idd.index === 0) {
      // Read as "+" and the rest, unless a 0 follows the prefix (then the library reads it nationally).
      const rest = compact.slice(idd[0].length)
      return rest.charCodeAt(0) === 48 ? undefined : phoneFast(`+${rest}`, "")
    }
    if (compact.startsWith(plan.callingCode)) return undefined
    callingCode = plan.callingCode
    nsn = nationalNumber(compact, plan)
    if (nsn === undefined) return undefined
    country = countryOf(callingCode, nsn) ?? region
  }
  if (nsn.length < 2 || nsn.length > 17) return undefined
  const plan = phonePlan(country!)
  if (plan === undefined) return undefined
  return validIn(plan, nsn) ? `+${callingCode}${nsn}` : ""
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

const foldGeneral = (raw: string): string => {
  // Lowercasing first lets runs of plain letters be copied as slices; Turkish needs no locale
  // here because İ, I and ı all fold to "i" afterwards.
  const s = raw.toLowerCase()
  const n = s.length
  let out = ""
  let pendingSpace = false
  let run = -1
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (run < 0) {
        if (pendingSpace) {
          out += " "
          pendingSpace = false
        }
        run = i
      }
      continue
    }
    if (run >= 0) {
      out += s.slice(run, i)
      run = -1
    }
    let rep: string
    if (c < FOLD_TABLE_SIZE) rep = FOLD_TABLE[c]!
    else if (c >= 0xd800 && c <= 0xdbff) {
      const cp = s.codePointAt(i)!
      if (cp > 0xffff) i++
      rep = foldCodePoint(cp)
    } else rep = foldCodePoint(c)
    if (rep.length === 0) continue
    if (rep === " ") {
      if (out.length > 0) pendingSpace = true
      continue
    }
    if (pendingSpace) {
      out += " "
      pendingSpace = false
    }
    out += rep
  }
  if (run >= 0) out += run === 0 ? s : s.slice(run)
  return out
}

// Apostrophes vanish because "O'Brien" is also keyed as "OBrien"; hyphens and dots separate because
// "Jean-Luc" is also keyed as "Jean Luc" and initials stay initials. Non-Latin letters are kept
// (lowercased, marks removed): transliteration is ambiguous and would merge distinct names.
/** Comparable ASCII form of a personal name ("Yılmaz" -> "yilmaz", "Jean-Luc" -> "jean luc"). */
export const name = (raw: string): string => {
  const n = raw.length
  let upper = false
  let afterSpace = true
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i)
    if (c >= 97 && c <= 122) afterSpace = false
    else if (c >= 65 && c <= 90) {
      upper = true
      afterSpace = false
    } else if (c === 32 && !afterSpace) afterSpace = true
    else return foldGeneral(raw)
  }
  // Leading, trailing or doubled spaces (and "") fall through to the general path.
  if (afterSpace) return foldGeneral(raw)
  return upper ? raw.toLowerCase() : raw
}

const isLower = (c: number): boolean => c >= 97 && c <= 122
const isVowel = (c: number): boolean =>
  c === 97 || c === 101 || c === 105 || c === 111 || c === 117 || c === 121

// Only an extra equality check: the exceptions below keep common non-German names intact, but some
// spellings still merge ("poet" -> "pot"), and a few German ones are missed ("guenther", "schueler").
/** Secondary fold of a `name` result: umlaut transcriptions as plain vowels ("mueller" -> "muller"). */
export const germanic = (folded: string): string => {
  const n = folded.length
  let out = ""
  let copied = 0
  for (let i = 1; i < n; i++) {
    if (folded.charCodeAt(i) !== 101) continue
    const v = folded.charCodeAt(i - 1)
    if (v !== 97 && v !== 111 && v !== 117) continue
    const next = i + 1 < n ? folded.charCodeAt(i + 1) : 32
    // Word-final pairs are English/French names, not umlauts: Zoe, Joe, Mae, Sue, Chloe.
    if (!isLower(next)) continue
    // A single "l" after the pair is the biblical "-el" ending (Michael, Joel, Samuel, Manuela),
    // while German umlauts before l are spelled with "ll" (Mueller, Moeller).
    if (next === 108 && (i + 2 >= n || folded.charCodeAt(i + 2) !== 108)) continue
    const before = i >= 2 ? folded.charCodeAt(i - 2) : 32
    if (isLower(before)) {
      // After a vowel it is a diphthong plus "e" (Bauer, Feuer), not an umlaut.
      if (isVowel(before)) continue
      // "que"/"gue" are Spanish and French digraphs (Marquez, Miguel, Rodriguez, Guerra).
      if (v === 117 && (before === 113 || before === 103)) continue
    }
    out += folded.slice(copied, i)
    copied = i + 1
  }
  return copied === 0 ? folded : out + folded.slice(copied)
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

const twoDigits = (s: string, i: number): number => {
  const a = s.charCodeAt(i) - 48
  const b = s.charCodeAt(i + 1) - 48
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1
}

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57

const daysInMonth = (y: number, m: number): number =>
  m === 2
    ? y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
      ? 29
      : 28
    : m === 4 || m === 6 || m === 9 || m === 11
      ? 30
      : 31

// Accepted: "YYYY-MM-DD", "YYYY/MM/DD", "YYYY.MM.DD", "YYYYMMDD", each optionally followed by "T…"
// or " …" (a time, ignored rather than shifted between zones: a birth date is a calendar date), and
// day-first "DD.MM.YYYY", "DD/MM/YYYY", "DD-MM-YYYY" with one- or two-digit day and month.
// Day-first because month-first is a US habit and these sources are European; two-digit years are
// refused because the century is a guess.
/** "YYYYMMDD" of a valid calendar date in one of the formats listed above, else undefined. */
export const date = (raw: string): string | undefined => {
  let s = raw
  let n = s.length
  if (n === 0) return undefined
  if (s.charCodeAt(0) <= 32 || s.charCodeAt(n - 1) <= 32) {
    s = s.trim()
    n = s.length
  }
  if (n < 8) return undefined
  let y: number
  let m: number
  let d: number
  let end: number
  const hi = twoDigits(s, 0)
  const lo = twoDigits(s, 2)
  if (hi >= 0 && lo >= 0) {
    y = hi * 100 + lo
    const sep = s.charCodeAt(4)
    if (isDigitCode(sep)) {
      m = twoDigits(s, 4)
      d = twoDigits(s, 6)
      end = 8
    } else if (sep === 45 || sep === 47 || sep === 46) {
      if (n < 10 || s.charCodeAt(7) !== sep) return undefined
      m = twoDigits(s, 5)
      d = twoDigits(s, 8)
      end = 10
    } else return undefined
  } else {
    let i = 0
    d = 0
    while (i < 2 && i < n && isDigitCode(s.charCodeAt(i))) d = d * 10 + s.charCodeAt(i++) - 48
    if (i === 0) return undefined
    const sep = s.charCodeAt(i)
    if (sep !== 46 && sep !== 47 && sep !== 45) return undefined
    const mStart = ++i
    m = 0
    while (i < mStart + 2 && i < n && isDigitCode(s.charCodeAt(i))) m = m * 10 + s.charCodeAt(i++) - 48
    if (i === mStart || s.charCodeAt(i) !== sep || i + 5 > n) return undefined
    const yh = twoDigits(s, i + 1)
    const yl = twoDigits(s, i + 3)
    if (yh < 0 || yl < 0) return undefined
    y = yh * 100 + yl
    end = i + 5
  }
  if (end < n) {
    const c = s.charCodeAt(end)
    if (c !== 84 && c !== 116 && c !== 32) return undefined
  }
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return undefined
  const v = String(y * 10000 + m * 100 + d)
  return y >= 1000 ? v : v.padStart(8, "0")
}

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

// Spanish "C/ Mayor" means "Calle Mayor"; the slash would otherwise fold to a space and leave a
// bare "c", which cannot safely be read as "calle" ("Block C"). "C/2"-like unit numbers are left.
const CALLE_SLASH = /(^|[^\p{L}\p{N}])c\s*\/(?!\s*\d)/giu

// Number markers before a number ("No:12", "Nr. 5", "nº 3") are dropped because sources include
// them inconsistently; fused German/Dutch types are shortened in place ("Hauptstraße" -> "hauptstr")
// because their abbreviation is written fused too ("Hauptstr.").
/** Comparable street line: `name` folding plus street types in one short form ("Caddesi", "Cad." -> "cd"). */
export const street = (raw: string): string => {
  const folded = name(raw.includes("/") ? raw.replace(CALLE_SLASH, "$1calle ") : raw)
  const n = folded.length
  let out = ""
  let start = 0
  // `name` leaves single spaces between words, so words are the runs between spaces.
  for (let i = 0; i <= n; i++) {
    if (i < n && folded.charCodeAt(i) !== 32) continue
    let w = folded.slice(start, i)
    start = i + 1
    if (i < n && NUMBER_MARKERS.has(w) && isDigitCode(folded.charCodeAt(i + 1))) continue
    const canonical = STREET_WORDS.get(w)
    if (canonical !== undefined) w = canonical
    else if (w.length > 5) w = shortenSuffix(w)
    out = out.length === 0 ? w : out + " " + w
  }
  return out
}

const shortenSuffix = (w: string): string => {
  for (const [suffix, short] of STREET_SUFFIXES) {
    if (w.length > suffix.length && w.endsWith(suffix)) return w.slice(0, w.length - suffix.length) + short
  }
  return w
}

/** First run of digits in a `street` result (the house number, as an extra comparison), if any. */
export const houseNumber = (normalisedStreet: string): string | undefined => {
  const n = normalisedStreet.length
  for (let i = 0; i < n; i++) {
    if (!isDigitCode(normalisedStreet.charCodeAt(i))) continue
    let j = i + 1
    while (j < n && isDigitCode(normalisedStreet.charCodeAt(j))) j++
    return normalisedStreet.slice(i, j)
  }
  return undefined
}

const isPostcodeGap = (c: number): boolean =>
  c <= 32 || c === 45 || (c >= 0x2010 && c <= 0x2015) || c === 0x2212 || isUnicodeSpace(c)

/** Postcode uppercased with spaces and dashes removed ("sw1a 1aa" -> "SW1A1AA"). */
export const postcode = (raw: string): string => {
  const n = raw.length
  let out = ""
  let run = 0
  let changed = false
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i)
    if ((c >= 97 && c <= 122) || c >= 0x80) changed = true
    if (isPostcodeGap(c)) {
      if (i > run) out += raw.slice(run, i)
      run = i + 1
      changed = true
    }
  }
  if (!changed) return raw
  out = run === 0 ? raw : out + raw.slice(run)
  return out.toUpperCase()
}

// ---------------------------------------------------------------------------------------------
// Phonetic code and string distances
// ---------------------------------------------------------------------------------------------

// Soundex digit per letter a..z; 0 for vowels (they separate equal codes), -1 for h and w
// (they do not).
const SOUNDEX_CODES = Int8Array.from([
  0, 1, 2, 3, 0, 1, 2, -1, 0, 2, 2, 4, 5, 5, 0, 1, 2, 6, 2, 3, 0, 1, -1, 2, 0, 2
])

// Characters other than a-z are skipped (not treated as separators), as classic implementations
// strip them before coding.
/** American Soundex of a folded name ("robert" -> "R163"); "" when it has no letters. */
export const soundex = (folded: string): string => {
  const n = folded.length
  let i = 0
  let first = -1
  for (; i < n; i++) {
    const c = folded.charCodeAt(i) | 0x20
    if (c >= 97 && c <= 122) {
      first = c
      break
    }
  }
  if (first < 0) return ""
  let last = SOUNDEX_CODES[first - 97]!
  let d1 = 48
  let d2 = 48
  let d3 = 48
  let count = 0
  for (i++; i < n && count < 3; i++) {
    const c = folded.charCodeAt(i) | 0x20
    if (c < 97 || c > 122) continue
    const code = SOUNDEX_CODES[c - 97]!
    if (code < 0) continue
    if (code > 0 && code !== last) {
      count++
      if (count === 1) d1 = 48 + code
      else if (count === 2) d2 = 48 + code
      else d3 = 48 + code
    }
    last = code
  }
  return String.fromCharCode(first - 32, d1, d2, d3)
}

// Scratch buffers shared by the distance functions; they only grow, so steady-state calls
// allocate nothing.
let matchA = new Uint8Array(64)
let matchB = new Uint8Array(64)
let row = new Int32Array(64)
let codes = new Int32Array(64)

const ensureScratch = (length: number): void => {
  if (length < matchA.length) return
  let size = matchA.length
  while (size <= length) size *= 2
  matchA = new Uint8Array(size)
  matchB = new Uint8Array(size)
  row = new Int32Array(size)
  codes = new Int32Array(size)
}

// The prefix bonus applies only above a Jaro score of 0.7, as in Winkler's original and the common
// reference implementations, so unrelated names sharing an initial are not lifted.
/** Jaro-Winkler similarity (prefix scale 0.1, up to 4): 1 for equal strings, 0 when one is empty. */
export const jaroWinkler = (a: string, b: string): number => {
  if (a === b) return 1
  // Greedy matching is order-sensitive in rare ties; fixing the order makes the score symmetric.
  let s = a
  let t = b
  if (s.length > t.length || (s.length === t.length && s > t)) {
    s = b
    t = a
  }
  const n = s.length
  const m = t.length
  if (n === 0) return 0
  ensureScratch(m)
  // Plain loops beat fill() at name lengths, and caching t's code units spares the inner loop
  // repeated charCodeAt calls.
  for (let j = 0; j < m; j++) {
    matchB[j] = 0
    codes[j] = t.charCodeAt(j)
  }
  for (let i = 0; i < n; i++) matchA[i] = 0
  const window = m > 3 ? (m >> 1) - 1 : 0
  let matches = 0
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    const lo = i > window ? i - window : 0
    const hi = Math.min(i + window + 1, m)
    for (let j = lo; j < hi; j++) {
      if (codes[j] === c && matchB[j] === 0) {
        matchA[i] = 1
        matchB[j] = 1
        matches++
        break
      }
    }
  }
  if (matches === 0) return 0
  let half = 0
  for (let i = 0, k = 0; i < n; i++) {
    if (matchA[i] === 0) continue
    while (matchB[k] === 0) k++
    if (s.charCodeAt(i) !== codes[k]) half++
    k++
  }
  const transpositions = half >> 1
  const jaro = (matches / n + matches / m + (matches - transpositions) / matches) / 3
  if (jaro <= 0.7) return jaro
  let prefix = 0
  const maxPrefix = Math.min(n, 4)
  while (prefix < maxPrefix && s.charCodeAt(prefix) === codes[prefix]) prefix++
  return jaro + prefix * 0.1 * (1 - jaro)
}

/** Levenshtein distance; with an integer `max >= 0`, returns `max + 1` as soon as it must exceed it. */
export const levenshtein = (a: string, b: string, max?: number): number => {
  if (a === b) return 0
  let s = a
  let t = b
  if (s.length > t.length) {
    s = b
    t = a
  }
  let start = 0
  let endS = s.length
  let endT = t.length
  while (start < endS && s.charCodeAt(start) === t.charCodeAt(start)) start++
  while (endS > start && s.charCodeAt(endS - 1) === t.charCodeAt(endT - 1)) {
    endS--
    endT--
  }
  const n = endS - start
  const m = endT - start
  const bound = max === undefined ? Number.POSITIVE_INFINITY : max
  if (m - n > bound) return bound + 1
  if (n === 0) return m
  ensureScratch(n)
  for (let j = 0; j < n; j++) codes[j] = s.charCodeAt(start + j)
  for (let j = 0; j <= n; j++) row[j] = j
  for (let i = 1; i <= m; i++) {
    const c = t.charCodeAt(start + i - 1)
    let diagonal = row[0]!
    let left = i
    let rowMin = i
    row[0] = i
    for (let j = 1; j <= n; j++) {
      const up = row[j]!
      let v = diagonal + (codes[j - 1] === c ? 0 : 1)
      if (up + 1 < v) v = up + 1
      if (left + 1 < v) v = left + 1
      row[j] = v
      diagonal = up
      left = v
      if (v < rowMin) rowMin = v
    }
    // Row minima never decrease, so once one exceeds the bound the result must too.
    if (rowMin > bound) return bound + 1
  }
  const d = row[n]!
  return d > bound ? bound + 1 : d
}

const sameTail = (a: string, i: number, b: string, j: number): boolean => {
  const n = a.length - i
  if (n !== b.length - j) return false
  for (let k = 0; k < n; k++) if (a.charCodeAt(i + k) !== b.charCodeAt(j + k)) return false
  return true
}

/** True when `a` and `b` are equal or one insertion, deletion, substitution or adjacent swap apart. */
export const damerauWithin1 = (a: string, b: string): boolean => {
  if (a === b) return true
  const la = a.length
  const lb = b.length
  if (la - lb > 1 || lb - la > 1) return false
  let i = 0
  const shortest = Math.min(la, lb)
  while (i < shortest && a.charCodeAt(i) === b.charCodeAt(i)) i++
  if (la === lb) {
    if (sameTail(a, i + 1, b, i + 1)) return true
    return (
      i + 1 < la &&
      a.charCodeAt(i) === b.charCodeAt(i + 1) &&
      a.charCodeAt(i + 1) === b.charCodeAt(i) &&
      sameTail(a, i + 2, b, i + 2)
    )
  }
  return la > lb ? sameTail(a, i + 1, b, i) : sameTail(a, i, b, i + 1)
}
