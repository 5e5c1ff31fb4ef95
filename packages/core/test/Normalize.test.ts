import fc from "fast-check"
import {
  type CountryCode,
  getCountries,
  getCountryCallingCode,
  getExampleNumber,
  parsePhoneNumberFromString
} from "libphonenumber-js/max"
import examples from "libphonenumber-js/mobile/examples"
import { describe, expect, it } from "vitest"
import * as Normalize from "../src/Normalize.js"

const small = fc.string({ unit: fc.constantFrom("a", "b", "c", "d"), maxLength: 9 })
const anyText = fc.string({ unit: "binary", maxLength: 12 })

const naiveLevenshtein = (a: string, b: string): number => {
  const d: Array<Array<number>> = []
  for (let i = 0; i <= a.length; i++) {
    d.push([])
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) d[i]![j] = i + j
      else {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      }
    }
  }
  return d[a.length]![b.length]!
}

const naiveOsa = (a: string, b: string): number => {
  const d: Array<Array<number>> = []
  for (let i = 0; i <= a.length; i++) {
    d.push([])
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        d[i]![j] = i + j
        continue
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

// One random edit of a string, so the "within 1" side of the property is exercised as often as
// the "not within 1" side (two random strings are rarely that close).
const nearPair = fc
  .tuple(
    small,
    fc.nat(),
    fc.constantFrom("insert", "delete", "substitute", "transpose"),
    fc.constantFrom("a", "x")
  )
  .map(([s, at, op, ch]): [string, string] => {
    const i = s.length === 0 ? 0 : at % s.length
    switch (op) {
      case "insert":
        return [s, s.slice(0, i) + ch + s.slice(i)]
      case "delete":
        return [s, s.slice(0, i) + s.slice(i + 1)]
      case "substitute":
        return [s, s.slice(0, i) + ch + s.slice(i + 1)]
      default:
        return [s, s.slice(0, i) + s.slice(i + 1, i + 2) + s.slice(i, i + 1) + s.slice(i + 2)]
    }
  })

describe("Normalize.email", () => {
  it("collapses Gmail dots, plus tags, case and googlemail.com to one address", () => {
    const canonical = "ayseyilmaz@gmail.com"
    for (const raw of [
      "ayseyilmaz@gmail.com",
      "Ayse.Yilmaz@Gmail.com",
      "  AYSE.YILMAZ@GMAIL.COM ",
      "a.y.s.e.yilmaz+shop@gmail.com",
      "ayse.yilmaz+news+x@googlemail.com",
      "Ayse.Yilmaz@GoogleMail.com"
    ]) {
      expect(Normalize.email(raw)).toBe(canonical)
    }
  })

  it("removes plus tags for every provider by default but keeps dots outside Gmail", () => {
    expect(Normalize.email("Jean.Dupont+promo@Outlook.fr")).toBe("jean.dupont@outlook.fr")
    expect(Normalize.email("x@example.com")).toBe("x@example.com")
  })

  it("keeps a leading plus, which is the whole mailbox name", () => {
    expect(Normalize.email("+alerts@example.com")).toBe("+alerts@example.com")
  })

  it("applies NFC so composed and decomposed accents agree", () => {
    expect(Normalize.email("jose\u0301@example.es")).toBe(Normalize.email("jos\u00e9@example.es"))
    expect(Normalize.email("jose\u0301@example.es")).toBe("jos\u00e9@example.es")
  })

  it("honours each rule switch", () => {
    const rules = { lowercase: true, gmailDots: true, plusTags: true, googlemail: true } as const
    expect(Normalize.email("A.B+x@outlook.com", { ...rules, plusTags: "gmail-only" })).toBe(
      "a.b+x@outlook.com"
    )
    expect(Normalize.email("A.B+x@gmail.com", { ...rules, plusTags: "gmail-only" })).toBe("ab@gmail.com")
    expect(Normalize.email("a.b+x@gmail.com", { ...rules, plusTags: false })).toBe("ab+x@gmail.com")
    expect(Normalize.email("a.b+x@gmail.com", { ...rules, gmailDots: false })).toBe("a.b@gmail.com")
    expect(Normalize.email("a.b@googlemail.com", { ...rules, googlemail: false })).toBe("ab@googlemail.com")
    // The domain is lowercased regardless: DNS names are case-insensitive.
    expect(Normalize.email("Ayse.Y@Example.COM", { ...rules, lowercase: false })).toBe("Ayse.Y@example.com")
    expect(Normalize.defaultEmailRules).toEqual(rules)
  })

  it("returns undefined for values that are not plausibly an address", () => {
    for (const raw of [
      "",
      "   ",
      "ayse",
      "ayse@",
      "@gmail.com",
      "a@@gmail.com",
      "a@b@gmail.com",
      "a@localhost",
      "a@.com",
      "a@gmail.",
      "a@gmail..com",
      "ayse yilmaz@gmail.com",
      "ayse@gm ail.com",
      "ayse\u00a0y@gmail.com",
      "...@gmail.com"
    ]) {
      expect(Normalize.email(raw), raw).toBeUndefined()
    }
  })
})

describe("Normalize.phone", () => {
  const converge = (expected: string, region: string, raws: ReadonlyArray<string>) => {
    for (const raw of raws) expect(Normalize.phone(raw, region), `${region} ${raw}`).toBe(expected)
  }

  it("reads Turkish numbers in every common format as one E.164", () => {
    converge("+905321112233", "TR", [
      "0532 111 22 33",
      "05321112233",
      "532 111 22 33",
      "+90 532 111 22 33",
      "+90 (532) 111-22-33",
      "(0532) 111 22 33",
      "0532.111.22.33",
      "0090 532 111 22 33",
      "\uff10\uff15\uff13\uff12 \uff11\uff11\uff11 \uff12\uff12 \uff13\uff13"
    ])
    expect(Normalize.phone("0212 123 45 67", "TR")).toBe("+902121234567")
  })

  it("reads German numbers, including the (0) trunk prefix after +49", () => {
    converge("+4915123456789", "DE", [
      "+49 151 23456789",
      "0151 23456789",
      "0151/23456789",
      "0151-234 567 89",
      "+49 (0)151 23456789",
      "0049 151 23456789"
    ])
    expect(Normalize.phone("030 123456", "DE")).toBe("+4930123456")
  })

  it("reads British numbers", () => {
    converge("+447911123456", "GB", [
      "07911 123456",
      "07911-123-456",
      "+44 7911 123456",
      "+44 (0)7911 123456"
    ])
    expect(Normalize.phone("020 7946 0958", "GB")).toBe("+442079460958")
  })

  it("reads Spanish numbers", () => {
    converge("+34612345678", "ES", [
      "612 34 56 78",
      "612345678",
      "612-345-678",
      "+34 612 34 56 78",
      "0034 612345678"
    ])
    expect(Normalize.phone("912 34 56 78", "ES")).toBe("+34912345678")
  })

  it("ignores the default region for international numbers and accepts it in any case", () => {
    expect(Normalize.phone("+90 532 111 22 33", "GB")).toBe("+905321112233")
    expect(Normalize.phone("+90 532 111 22 33")).toBe("+905321112233")
    expect(Normalize.phone("+90 532 111 22 33", "XX")).toBe("+905321112233")
    expect(Normalize.phone("0532 111 22 33", "tr")).toBe("+905321112233")
  })

  it("returns undefined for invalid, unparseable or region-less national numbers", () => {
    const invalid: ReadonlyArray<readonly [string, string | undefined]> = [
      ["", "TR"],
      ["abc", "TR"],
      ["12345", "TR"],
      ["0532 111 22 3", "TR"],
      ["0532 1112 2334", "TR"],
      ["0999 111 22 33", "TR"],
      ["0000000000", "TR"],
      ["+49 000 1234567", "DE"],
      ["0151 234", "DE"],
      ["012 34 56 78", "ES"],
      ["612 34 56 7", "ES"],
      // Possible by length, but not a valid number: the kind of placeholder isValid() rejects.
      ["123 456 7890", "US"],
      // Ofcom's range reserved for drama: libphonenumber treats it as unassigned.
      ["07700 900123", "GB"],
      ["0532 111 22 33", undefined]
    ]
    for (const [raw, region] of invalid)
      expect(Normalize.phone(raw, region), `${region} ${raw}`).toBeUndefined()
  })

  it("gives the same answer from the cache as from the first parse", () => {
    for (let i = 0; i < 3; i++) {
      expect(Normalize.phone("0532 111 22 33", "TR")).toBe("+905321112233")
      expect(Normalize.phone("0532 111 22 3", "TR")).toBeUndefined()
    }
  })

  it("is insensitive to separators, so a cache keyed on the compact form is sound", () => {
    const separator = fc.constantFrom(" ", "-", ".", "(", ")", "/", "", "\u00a0", "\u2013")
    fc.assert(
      fc.property(fc.array(separator, { minLength: 11, maxLength: 11 }), (seps) => {
        const digits = "05321112233"
        const raw = [...digits].map((d, i) => seps[i] + d).join("")
        expect(Normalize.phone(raw, "TR")).toBe("+905321112233")
      })
    )
  })
})

describe("Normalize.name", () => {
  it("folds Turkish letters, dotted and dotless i included", () => {
    expect(Normalize.name("Yılmaz")).toBe("yilmaz")
    expect(Normalize.name("Yilmaz")).toBe("yilmaz")
    expect(Normalize.name("YILMAZ")).toBe("yilmaz")
    expect(Normalize.name("AYŞE")).toBe("ayse")
    expect(Normalize.name("İbrahim")).toBe("ibrahim")
    expect(Normalize.name("IŞIK")).toBe("isik")
    expect(Normalize.name("Çağrı Öztürk")).toBe("cagri ozturk")
    expect(Normalize.name("ĞÜLŞEN")).toBe("gulsen")
  })

  it("folds German letters", () => {
    expect(Normalize.name("Müller")).toBe("muller")
    expect(Normalize.name("Groß")).toBe("gross")
    expect(Normalize.name("GROẞ")).toBe("gross")
    expect(Normalize.name("Jäger")).toBe("jager")
    expect(Normalize.name("Schröder")).toBe("schroder")
  })

  it("folds Spanish, French and Portuguese accents", () => {
    expect(Normalize.name("Núñez")).toBe("nunez")
    expect(Normalize.name("José María")).toBe("jose maria")
    expect(Normalize.name("ÍÑIGO")).toBe("inigo")
    expect(Normalize.name("François Lefèvre")).toBe("francois lefevre")
    expect(Normalize.name("Hélène Côté")).toBe("helene cote")
    expect(Normalize.name("João Simões")).toBe("joao simoes")
    expect(Normalize.name("Àlex")).toBe("alex")
  })

  it("folds Nordic, Polish and other Latin letters without a decomposition", () => {
    expect(Normalize.name("Søren Åberg")).toBe("soren aberg")
    expect(Normalize.name("Ægir")).toBe("aegir")
    expect(Normalize.name("Łukasz Wałęsa")).toBe("lukasz walesa")
    expect(Normalize.name("Đorđe")).toBe("dorde")
    expect(Normalize.name("Þór")).toBe("thor")
    expect(Normalize.name("Œuvre")).toBe("oeuvre")
    expect(Normalize.name("Ştefan Ţepeş")).toBe("stefan tepes")
    expect(Normalize.name("Əliyev")).toBe("aliyev")
  })

  it("drops apostrophes and turns hyphens, dots and other punctuation into one space", () => {
    expect(Normalize.name("O'Brien")).toBe("obrien")
    expect(Normalize.name("O’Brien")).toBe("obrien")
    expect(Normalize.name("Jean-Luc")).toBe("jean luc")
    expect(Normalize.name("J.R.R. Tolkien")).toBe("j r r tolkien")
    expect(Normalize.name("  Jean  -  Luc ")).toBe("jean luc")
    expect(Normalize.name("Smith, John")).toBe("smith john")
    expect(Normalize.name("")).toBe("")
    expect(Normalize.name(" \t ")).toBe("")
  })

  it("treats decomposed input, ligatures and full-width letters like their plain forms", () => {
    expect(Normalize.name("Mu\u0308ller")).toBe("muller")
    expect(Normalize.name("\ufb01nn")).toBe("finn")
    expect(Normalize.name("\uff2d\uff41\uff52\uff49\uff41")).toBe("maria")
  })

  it("keeps letters of other scripts, lowercased", () => {
    expect(Normalize.name("Сергей")).toBe(Normalize.name("сергей"))
    expect(Normalize.name("Ελένη")).toBe("ελενη")
  })

  it("takes the ASCII fast path without changing results", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "B", " ", "z", "Q"), maxLength: 12 }), (s) => {
        const expected = s.toLowerCase().trim().split(/ +/).filter(Boolean).join(" ")
        expect(Normalize.name(s)).toBe(expected)
      })
    )
  })

  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.string({ unit: "grapheme", maxLength: 12 })), (s) => {
        expect(Normalize.name(Normalize.name(s))).toBe(Normalize.name(s))
      }),
      { numRuns: 500 }
    )
  })
})

describe("Normalize.germanic", () => {
  it("reads umlaut transcriptions as the plain vowel", () => {
    expect(Normalize.germanic("mueller")).toBe("muller")
    expect(Normalize.germanic("groesse")).toBe("grosse")
    expect(Normalize.germanic("schaefer")).toBe("schafer")
    expect(Normalize.germanic("oezdemir")).toBe("ozdemir")
    expect(Normalize.germanic("hans mueller")).toBe("hans muller")
    expect(Normalize.germanic(Normalize.name("Müller"))).toBe(Normalize.germanic(Normalize.name("Mueller")))
    expect(Normalize.germanic(Normalize.name("Schäfer"))).toBe(Normalize.germanic(Normalize.name("Schaefer")))
  })

  it("leaves names whose vowel pairs are not umlauts", () => {
    for (const n of [
      "samuel",
      "manuel",
      "michael",
      "joel",
      "zoe",
      "mae",
      "sue",
      "marquez",
      "miguel",
      "rodriguez"
    ]) {
      expect(Normalize.germanic(n)).toBe(n)
    }
    expect(Normalize.germanic("bauer")).toBe("bauer")
    expect(Normalize.germanic("muller")).toBe("muller")
    expect(Normalize.germanic("")).toBe("")
  })
})

describe("Normalize.date", () => {
  it("reads every supported format as YYYYMMDD", () => {
    for (const raw of [
      "1990-03-07",
      "1990-03-07T00:00:00Z",
      "1990-03-07T23:30:00+05:00",
      "1990-03-07 10:00",
      "19900307",
      "07.03.1990",
      "7.3.1990",
      "07/03/1990",
      "07-03-1990",
      "1990/03/07",
      " 1990-03-07 "
    ]) {
      expect(Normalize.date(raw), raw).toBe("19900307")
    }
  })

  it("reads day-first dates as day first", () => {
    expect(Normalize.date("03/07/1990")).toBe("19900703")
    expect(Normalize.date("12.01.2001")).toBe("20010112")
  })

  it("applies the Gregorian leap-year rule", () => {
    expect(Normalize.date("2000-02-29")).toBe("20000229")
    expect(Normalize.date("2024-02-29")).toBe("20240229")
    expect(Normalize.date("1900-02-29")).toBeUndefined()
    expect(Normalize.date("2023-02-29")).toBeUndefined()
  })

  it("returns undefined for invalid or unrecognised dates", () => {
    for (const raw of [
      "",
      "1990-13-01",
      "1990-00-10",
      "1990-02-30",
      "1990-04-31",
      "31.04.1990",
      "00.01.1990",
      "32/01/1990",
      "19901301",
      "0000-01-01",
      "90-03-07",
      "07.03.90",
      "1990-3-7",
      "1990-03/07",
      "07.03-1990",
      "1990-03-07x",
      "March 7, 1990",
      "abcdefgh"
    ]) {
      expect(Normalize.date(raw), raw).toBeUndefined()
    }
  })

  it("agrees with the calendar for every day", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        (y, m, d) => {
          const iso = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`
          const real = new Date(Date.UTC(y, m - 1, d))
          const valid = real.getUTCMonth() === m - 1 && real.getUTCDate() === d
          expect(Normalize.date(iso)).toBe(valid ? iso.replaceAll("-", "") : undefined)
        }
      )
    )
  })
})

describe("Normalize.street", () => {
  const same = (raws: ReadonlyArray<string>, expected: string) => {
    for (const raw of raws) expect(Normalize.street(raw), raw).toBe(expected)
  }

  it("converges Turkish street types", () => {
    same(
      ["Atatürk Caddesi 12", "Ataturk Cd. 12", "ATATÜRK CAD. 12", "Atatürk Cadde 12", "Atatürk Cd. No:12"],
      "ataturk cd 12"
    )
    same(["Gül Sokak 5", "Gul Sok. 5", "GÜL SK. 5", "Gül Sokağı No: 5"], "gul sk 5")
    same(["Moda Mahallesi", "Moda Mah.", "MODA MH."], "moda mah")
  })

  it("converges English street types", () => {
    same(["12 High Street", "12 High St.", "12 HIGH ST"], "12 high st")
    same(["3 Park Avenue", "3 Park Ave", "3 Park Av."], "3 park ave")
    same(["9 Mill Road", "9 Mill Rd"], "9 mill rd")
    expect(Normalize.street("1 Ocean Drive")).toBe(Normalize.street("1 Ocean Dr."))
    expect(Normalize.street("2 Kings Lane")).toBe(Normalize.street("2 Kings Ln"))
    expect(Normalize.street("4 Sussex Place")).toBe(Normalize.street("4 Sussex Pl."))
    expect(Normalize.street("5 Queens Court")).toBe(Normalize.street("5 Queens Ct"))
    expect(Normalize.street("6 Royal Crescent")).toBe(Normalize.street("6 Royal Cres."))
    expect(Normalize.street("7 Park Circuit")).toBe(Normalize.street("7 Park Cct"))
    expect(Normalize.street("8 Sunset Boulevard")).toBe(Normalize.street("8 Sunset Blvd."))
  })

  it("converges German streets, fused or separate", () => {
    same(["Hauptstraße 5", "Hauptstrasse 5", "Hauptstr. 5", "HAUPTSTR 5"], "hauptstr 5")
    same(["Konrad-Adenauer-Straße 1", "Konrad-Adenauer-Str. 1"], "konrad adenauer str 1")
  })

  it("converges Spanish streets, including C/", () => {
    same(["Calle Mayor 3", "C/ Mayor 3", "c/Mayor, 3", "C/ Mayor, nº 3"], "calle mayor 3")
    same(["Avenida de la Constitución 5", "Avda. de la Constitución 5"], "ave de la constitucion 5")
    expect(Normalize.street("Bloque C/2")).toBe("bloque c 2")
  })

  it("keeps numbers, removes punctuation and collapses whitespace", () => {
    expect(Normalize.street("  Flat 2,  14-16   Baker St.  ")).toBe("flat 2 14 16 baker st")
    expect(Normalize.street("")).toBe("")
  })

  it("houseNumber gives the first run of digits", () => {
    expect(Normalize.houseNumber(Normalize.street("12 High Street"))).toBe("12")
    expect(Normalize.houseNumber(Normalize.street("Hauptstraße 5a"))).toBe("5")
    expect(Normalize.houseNumber("ataturk cd 120 d 4")).toBe("120")
    expect(Normalize.houseNumber("high st")).toBeUndefined()
  })
})

describe("Normalize.postcode", () => {
  it("uppercases and removes spaces and dashes", () => {
    expect(Normalize.postcode("sw1a 1aa")).toBe("SW1A1AA")
    expect(Normalize.postcode("SW1A 1AA")).toBe("SW1A1AA")
    expect(Normalize.postcode(" 34000 ")).toBe("34000")
    expect(Normalize.postcode("1234-567")).toBe("1234567")
    expect(Normalize.postcode("D-10115")).toBe("D10115")
    expect(Normalize.postcode("10115")).toBe("10115")
  })
})

describe("Normalize.soundex", () => {
  it("matches the classic American Soundex codes", () => {
    expect(Normalize.soundex("robert")).toBe("R163")
    expect(Normalize.soundex("rupert")).toBe("R163")
    expect(Normalize.soundex("rubin")).toBe("R150")
    expect(Normalize.soundex("ashcraft")).toBe("A261")
    expect(Normalize.soundex("tymczak")).toBe("T522")
    expect(Normalize.soundex("pfister")).toBe("P236")
    expect(Normalize.soundex("honeyman")).toBe("H555")
    expect(Normalize.soundex("jackson")).toBe("J250")
    expect(Normalize.soundex("lee")).toBe("L000")
    expect(Normalize.soundex(Normalize.name("Yılmaz"))).toBe(Normalize.soundex(Normalize.name("Yilmaz")))
  })

  it("gives the empty string for a name without letters", () => {
    expect(Normalize.soundex("")).toBe("")
    expect(Normalize.soundex("123 ")).toBe("")
  })
})

describe("Normalize.jaroWinkler", () => {
  it("matches the published reference values", () => {
    expect(Normalize.jaroWinkler("MARTHA", "MARHTA")).toBeCloseTo(0.961, 3)
    expect(Normalize.jaroWinkler("DWAYNE", "DUANE")).toBeCloseTo(0.84, 3)
    expect(Normalize.jaroWinkler("DIXON", "DICKSONX")).toBeCloseTo(0.813, 3)
    expect(Normalize.jaroWinkler("JELLYFISH", "SMELLYFISH")).toBeCloseTo(0.896, 3)
  })

  it("is 1 for equal strings and 0 when one side is empty or nothing matches", () => {
    expect(Normalize.jaroWinkler("ayse", "ayse")).toBe(1)
    expect(Normalize.jaroWinkler("", "")).toBe(1)
    expect(Normalize.jaroWinkler("", "ayse")).toBe(0)
    expect(Normalize.jaroWinkler("ayse", "")).toBe(0)
    expect(Normalize.jaroWinkler("abc", "xyz")).toBe(0)
  })

  it("is symmetric and within [0, 1], also past the scratch buffers' first size", () => {
    const long = fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 150 })
    fc.assert(
      fc.property(fc.oneof(small, long, anyText), fc.oneof(small, long, anyText), (a, b) => {
        const ab = Normalize.jaroWinkler(a, b)
        expect(ab).toBe(Normalize.jaroWinkler(b, a))
        expect(ab).toBeGreaterThanOrEqual(0)
        expect(ab).toBeLessThanOrEqual(1)
      })
    )
  })
})

describe("Normalize.levenshtein", () => {
  it("computes known distances", () => {
    expect(Normalize.levenshtein("kitten", "sitting")).toBe(3)
    expect(Normalize.levenshtein("flaw", "lawn")).toBe(2)
    expect(Normalize.levenshtein("", "abc")).toBe(3)
    expect(Normalize.levenshtein("yilmaz", "yilmaz")).toBe(0)
  })

  it("exits early with max + 1", () => {
    expect(Normalize.levenshtein("kitten", "sitting", 1)).toBe(2)
    expect(Normalize.levenshtein("kitten", "sitting", 3)).toBe(3)
    expect(Normalize.levenshtein("a", "abcdef", 2)).toBe(3)
    expect(Normalize.levenshtein("abc", "xyz", 0)).toBe(1)
  })

  it("matches a naive dynamic programme, bounded or not", () => {
    fc.assert(
      fc.property(fc.oneof(small, anyText), fc.oneof(small, anyText), fc.nat(6), (a, b, max) => {
        const d = naiveLevenshtein(a, b)
        expect(Normalize.levenshtein(a, b)).toBe(d)
        expect(Normalize.levenshtein(a, b, max)).toBe(Math.min(d, max + 1))
      }),
      { numRuns: 500 }
    )
  })
})

describe("Normalize.damerauWithin1", () => {
  it("accepts one edit of each kind and rejects two", () => {
    expect(Normalize.damerauWithin1("yilmaz", "yilmaz")).toBe(true)
    expect(Normalize.damerauWithin1("yilmaz", "yilmas")).toBe(true)
    expect(Normalize.damerauWithin1("yilmaz", "yilmazz")).toBe(true)
    expect(Normalize.damerauWithin1("yilmaz", "ylmaz")).toBe(true)
    expect(Normalize.damerauWithin1("yilmaz", "yimlaz")).toBe(true)
    expect(Normalize.damerauWithin1("", "a")).toBe(true)
    expect(Normalize.damerauWithin1("yilmaz", "yimlas")).toBe(false)
    expect(Normalize.damerauWithin1("abcd", "badc")).toBe(false)
    expect(Normalize.damerauWithin1("abc", "cba")).toBe(false)
    expect(Normalize.damerauWithin1("a", "abc")).toBe(false)
  })

  it("agrees with a naive optimal string alignment distance <= 1", () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(small, small), nearPair, fc.tuple(anyText, anyText)), ([a, b]) => {
        expect(Normalize.damerauWithin1(a, b)).toBe(naiveOsa(a, b) <= 1)
      }),
      { numRuns: 1000 }
    )
  })
})

describe("phone cache seeding", () => {
  it("a number first seen in one spelling reads identically in every other spelling", () => {
    const cases: Array<[string, string, Array<string>]> = [
      ["TR", "0532 111 22 33", ["+90 532 111 2233", "05321112233", "+905321112233", "0090 532 111 22 33"]],
      ["DE", "+49 151 23456789", ["0151 23456789", "015123456789", "+4915123456789"]],
      ["GB", "07911 123456", ["+44 7911 123456", "07911123456"]],
      ["ES", "612 34 56 78", ["+34 612345678", "612345678"]],
      ["US", "(415) 555-2671", ["+1 415 555 2671", "415-555-2671"]]
    ]
    for (const [region, first, others] of cases) {
      const expected = Normalize.phone(first, region)
      expect(expected).toMatch(/^\+\d{8,15}$/)
      for (const o of others) expect(Normalize.phone(o, region)).toBe(expected)
    }
    // A +-prefixed number ignores the region, so the seeded E.164 key is shared across regions.
    expect(Normalize.phone("+90 532 111 2233", "DE")).toBe(Normalize.phone("0532 111 22 33", "TR"))
  })
})

describe("Normalize.phoneFast", () => {
  // The fast path must answer exactly as the library does wherever it answers at all: compared
  // here on numbers derived from every country's example number (valid and broken), written with
  // "+", an IDD prefix, a national prefix, the bare country code, and read in several regions.
  const libraryE164 = (compact: string, region: string): string => {
    const p =
      region === ""
        ? parsePhoneNumberFromString(compact)
        : parsePhoneNumberFromString(compact, region as CountryCode)
    return p === undefined || !p.isValid() ? "" : p.number
  }

  it("agrees with libphonenumber wherever it answers", () => {
    let seed = 12345
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed % n
    }
    const digits = (n: number) => {
      let out = ""
      for (let i = 0; i < n; i++) out += String(rnd(10))
      return out
    }
    const countries = getCountries()
    let answered = 0
    const mismatches: Array<string> = []
    const check = (compact: string, region: string) => {
      const fast = Normalize.phoneFast(compact, region)
      if (fast === undefined) return
      answered++
      const expected = libraryE164(compact, region)
      if (fast !== expected) mismatches.push(`${region || "-"} ${compact}: ${fast} vs ${expected}`)
    }
    for (const c of countries) {
      const cc = getCountryCallingCode(c)
      const base = getExampleNumber(c, examples)?.nationalNumber ?? digits(9)
      for (let k = 0; k < 6; k++) {
        const cut = rnd(base.length + 1)
        const nsn = base.slice(0, cut) + digits(Math.max(0, base.length - cut + rnd(3) - 1))
        for (const region of ["", c, countries[rnd(countries.length)]!]) {
          check(`+${cc}${nsn}`, "")
          check(`+${cc}0${nsn}`, "")
          check(nsn, region)
          check(`0${nsn}`, region)
          check(`1${nsn}`, region)
          check(`${cc}${nsn}`, region)
          check(`00${cc}${nsn}`, region)
          check(digits(4 + rnd(12)), region)
        }
      }
    }
    expect(mismatches).toEqual([])
    // Most of these shapes are for the fast path to answer, not to hand back.
    expect(answered).toBeGreaterThan(10_000)
  })

  it("leaves rarer shapes to the library", () => {
    expect(Normalize.phoneFast("+0123456789", "")).toBeUndefined()
    expect(Normalize.phoneFast("05321112233x12", "TR")).toBeUndefined()
    expect(Normalize.phoneFast("05321112233", "TR")).toBe("+905321112233")
    expect(Normalize.phoneFast("00905321112233", "DE")).toBe("+905321112233")
    expect(Normalize.phoneFast("05321112233", "")).toBe("")
  })
})
