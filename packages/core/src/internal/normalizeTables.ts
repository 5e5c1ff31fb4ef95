/**
 * Lookup tables behind `Normalize`: the character fold used by names and streets,
 * and the street-type vocabulary. Built once at load so the hot paths only index arrays.
 */

// Letters that NFKD leaves whole need an explicit ASCII reading. Keyed by the lowercase form
// because the fold lowercases before it looks up.
const LETTER_OVERRIDES: ReadonlyArray<readonly [string, string]> = [
  ["ß", "ss"],
  ["æ", "ae"],
  ["œ", "oe"],
  ["ð", "d"],
  ["đ", "d"],
  ["ø", "o"],
  ["þ", "th"],
  ["ħ", "h"],
  ["ı", "i"],
  ["ĸ", "k"],
  ["ŀ", "l"],
  ["ł", "l"],
  ["ŉ", "n"],
  ["ŋ", "n"],
  ["ŧ", "t"],
  ["ƀ", "b"],
  ["ɓ", "b"],
  ["ƃ", "b"],
  ["ƈ", "c"],
  ["ɖ", "d"],
  ["ɗ", "d"],
  ["ƌ", "d"],
  ["ǝ", "e"],
  // Azerbaijani schwa: romanised as "a" (Əliyev is written Aliyev), which is how records spell it.
  ["ə", "a"],
  ["ɛ", "e"],
  ["ƒ", "f"],
  ["ɠ", "g"],
  ["ɣ", "g"],
  ["ɩ", "i"],
  ["ɨ", "i"],
  ["ƙ", "k"],
  ["ƚ", "l"],
  ["ɯ", "m"],
  ["ɲ", "n"],
  ["ƞ", "n"],
  ["ɵ", "o"],
  ["ɔ", "o"],
  ["ʊ", "u"],
  ["ƥ", "p"],
  ["ʀ", "r"],
  ["ƨ", "s"],
  ["ʃ", "s"],
  ["ƫ", "t"],
  ["ƭ", "t"],
  ["ʈ", "t"],
  ["ʋ", "v"],
  ["ƴ", "y"],
  ["ƶ", "z"],
  ["ʒ", "z"],
  ["ƹ", "z"],
  ["ƺ", "z"],
  ["ƿ", "w"],
  ["ǥ", "g"],
  ["ȝ", "y"],
  ["ȣ", "ou"],
  ["ȥ", "z"],
  ["ȡ", "d"],
  ["ȴ", "l"],
  ["ȵ", "n"],
  ["ȶ", "t"],
  ["ȷ", "j"],
  ["ȸ", "db"],
  ["ȹ", "qp"],
  ["ⱥ", "a"],
  ["ȼ", "c"],
  ["ⱦ", "t"],
  ["ȿ", "s"],
  ["ɀ", "z"],
  ["ɂ", ""],
  ["ƣ", "oi"],
  ["ƕ", "hv"],
  ["ʉ", "u"],
  ["ʌ", "v"],
  ["ɇ", "e"],
  ["ɉ", "j"],
  ["ɋ", "q"],
  ["ɍ", "r"],
  ["ɏ", "y"]
]

/** Explicit readings for lowercase letters that have no decomposition. */
const LETTERS = new Map<string, string>(LETTER_OVERRIDES)

// Characters that vanish instead of separating words: apostrophe look-alikes (so "O'Brien" and
// "OBrien" agree) and the soft hyphen.
const VANISH = new Set<number>([
  0x27, 0x60, 0xad, 0xb4, 0x2b9, 0x2bb, 0x2bc, 0x2bd, 0x2be, 0x2bf, 0x2018, 0x2019, 0x201b, 0x2032, 0xff07
])

const MARK = /^\p{M}$/u
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u
const FORMAT = /^\p{Cf}$/u

// Folds one code point to "" (drop), " " (word break) or letters and digits without spaces. Only
// the table build and the rare characters outside the table run this, hence the regexes.
const foldSlow = (cp: number): string => {
  if (VANISH.has(cp)) return ""
  if (cp < 0x80) {
    if ((cp >= 0x61 && cp <= 0x7a) || (cp >= 0x30 && cp <= 0x39)) return String.fromCharCode(cp)
    if (cp >= 0x41 && cp <= 0x5a) return String.fromCharCode(cp + 32)
    return " "
  }
  const ch = String.fromCodePoint(cp)
  const lower = ch.toLowerCase()
  const known = LETTERS.get(lower) ?? LETTERS.get(ch)
  if (known !== undefined) return known
  if (MARK.test(ch) || FORMAT.test(ch)) return ""
  // NFKD (not just NFD) also unpacks ligatures, full-width and superscript forms, which are
  // the same letters for comparison purposes.
  // Compatibility forms can decompose to capitals (mathematical 𝚨 is Α), hence lowercase again.
  const decomposed = lower.normalize("NFKD").toLowerCase().normalize("NFKD")
  let out = ""
  let brk = false
  for (const part of decomposed) {
    const p = part.codePointAt(0)!
    let piece: string
    if (p < 0x80 || VANISH.has(p)) piece = foldSlow(p)
    else if (MARK.test(part) || FORMAT.test(part)) piece = ""
    else if (LETTERS.has(part)) piece = LETTERS.get(part)!
    else if (LETTER_OR_DIGIT.test(part)) piece = part
    else piece = " "
    if (piece === " ") brk = true
    else if (piece.length > 0) {
      if (brk && out.length > 0) out += " "
      brk = false
      out += piece
    }
  }
  // A letter whose decomposition left nothing is dropped; punctuation and symbols break words.
  if (out.length === 0) return LETTER_OR_DIGIT.test(ch) ? "" : " "
  return out
}

/** Size of the precomputed fold table: ASCII, Latin-1 and Latin Extended-A/B. */
export const FOLD_TABLE_SIZE = 0x250

/** Fold of every code unit below `FOLD_TABLE_SIZE` ("" drop, " " word break, else letters). */
export const FOLD_TABLE: ReadonlyArray<string> = Array.from({ length: FOLD_TABLE_SIZE }, (_, c) =>
  foldSlow(c)
)

const foldCache = new Map<number, string>()
// Bounded by the number of distinct code points seen, which real data keeps small; the cap only
// guards against adversarial input walking the whole Unicode range.
const FOLD_CACHE_LIMIT = 65_536

/** Fold of a code point outside the table, memoised because it is computed with NFKD and regexes. */
export const foldCodePoint = (cp: number): string => {
  if (cp < FOLD_TABLE_SIZE) return FOLD_TABLE[cp]!
  let r = foldCache.get(cp)
  if (r === undefined) {
    // ẞ lowercases to ß, which the override table spells "ss".
    r = cp === 0x1e9e ? "ss" : foldSlow(cp)
    if (foldCache.size < FOLD_CACHE_LIMIT) foldCache.set(cp, r)
  }
  return r
}

/** Whole-word street vocabulary (already folded) mapped to one canonical short form. */
export const STREET_WORDS: ReadonlyMap<string, string> = new Map<string, string>([
  ["street", "st"],
  ["st", "st"],
  // "Str." is overwhelmingly the German abbreviation, so it stays "str" rather than joining "st".
  ["str", "str"],
  ["strasse", "str"],
  ["straat", "str"],
  ["avenue", "ave"],
  ["ave", "ave"],
  ["av", "ave"],
  ["avenida", "ave"],
  ["avda", "ave"],
  ["avd", "ave"],
  ["road", "rd"],
  ["rd", "rd"],
  ["drive", "dr"],
  ["dr", "dr"],
  ["lane", "ln"],
  ["ln", "ln"],
  ["place", "pl"],
  ["pl", "pl"],
  ["plaza", "pl"],
  ["platz", "pl"],
  ["court", "ct"],
  ["ct", "ct"],
  ["crescent", "cres"],
  ["cres", "cres"],
  ["cresc", "cres"],
  ["circuit", "cct"],
  ["cct", "cct"],
  ["boulevard", "blvd"],
  ["blvd", "blvd"],
  ["bvd", "blvd"],
  ["bulvari", "blvd"],
  ["bulvar", "blvd"],
  ["blv", "blvd"],
  ["caddesi", "cd"],
  ["cadde", "cd"],
  ["cadd", "cd"],
  ["cad", "cd"],
  ["cd", "cd"],
  ["sokagi", "sk"],
  ["sokak", "sk"],
  ["sok", "sk"],
  ["sk", "sk"],
  ["mahallesi", "mah"],
  ["mahalle", "mah"],
  ["mah", "mah"],
  ["mh", "mah"],
  ["calle", "calle"]
])

// Written fused to the street name ("Hauptstraße", "Kerkstraat", "Marienplatz") and abbreviated
// fused too ("Hauptstr."), so only the suffix is rewritten.
/** Fused street-type suffixes and their short forms. */
export const STREET_SUFFIXES: ReadonlyArray<readonly [string, string]> = [
  ["strasse", "str"],
  ["straat", "str"],
  ["platz", "pl"]
]

/** Number markers ("No: 12", "Nr. 5", "Nº 3") that carry no information once a number follows. */
export const NUMBER_MARKERS: ReadonlySet<string> = new Set(["no", "nr", "num", "numero", "nro"])
