/**
 * Seeded synthetic customer data: people spread over several source systems, each record
 * corrupted the way real systems corrupt them, with the truth of which person each record is.
 *
 * Two uses shape it. Accuracy tests need every duplicate to stay recognisable (each duplicate is
 * built around an "anchor" it shares with an earlier record of the same person: a normalisable
 * e-mail, a phone number, a shop account, or name + birth date + address) while households,
 * namesakes and junk identifiers must stay apart. Million-record benchmarks need speed, so every
 * name, street and city variant is precomputed, the PRNG is mulberry32 and output is streamed.
 */
import { createWriteStream, type WriteStream } from "node:fs"

/** Options of the generator; the same options always give the same records. */
export interface SyntheticOptions {
  /** Exactly how many records to produce. */
  readonly records: number
  /** Seed of the PRNG (default 1). */
  readonly seed?: number
  /** Source systems (default crm, shop, newsletter, support, app); unknown names borrow one of their shapes. */
  readonly sources?: ReadonlyArray<string>
  /** Whether records carry 0-2 consent events (default true). */
  readonly consents?: boolean
}

/** A generated interchange record, the plain shape of core's `SourceRecord`. */
export interface SourceRecordShape {
  readonly source: string
  readonly id: string
  readonly updatedAt: string
  readonly identifiers?: Readonly<Record<string, ReadonlyArray<string>>>
  readonly attributes?: Readonly<Record<string, string | number | boolean | null>>
  readonly consents?: ReadonlyArray<Readonly<Record<string, string>>>
}

/** One generated record with the entity (person) it truly belongs to, e.g. "e123". */
export interface SyntheticRecord {
  readonly record: SourceRecordShape
  readonly entity: string
}

// ---------------------------------------------------------------------------------------------
// PRNG

class Rng {
  private s: number
  constructor(seed: number) {
    // Scrambled so that neighbouring seeds start far apart in mulberry32's sequence.
    this.s = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ 0x2c1b3c6d
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return (this.next() * n) | 0
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(a: ReadonlyArray<T>): T {
    return a[(this.next() * a.length) | 0]!
  }
  digits(n: number): string {
    let s = ""
    for (let i = 0; i < n; i++) s += DIGITS[(this.next() * 10) | 0]!
    return s
  }
}

const DIGITS = "0123456789"

/** A lookup that turns a uniform draw into a Zipf-like index: low indices (common names) win. */
const skewTable = (n: number, power: number): Uint16Array => {
  const t = new Uint16Array(1024)
  for (let i = 0; i < 1024; i++) t[i] = Math.min(n - 1, Math.floor(n * ((i + 0.5) / 1024) ** power))
  return t
}

interface Skewed<T> {
  readonly items: ReadonlyArray<T>
  readonly table: Uint16Array
}

const skewed = <T>(items: ReadonlyArray<T>, power: number): Skewed<T> => ({
  items,
  table: skewTable(items.length, power)
})

const draw = <T>(rng: Rng, s: Skewed<T>): T => s.items[s.table[rng.int(1024)]!]!

// ---------------------------------------------------------------------------------------------
// Text helpers (run once while building pools)

const simpleFold = (s: string): string =>
  s
    .replace(/ı/g, "i")
    .replace(/ß/g, "ss")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")

// German systems transliterate umlauts as "ue", not "u".
const altFold = (s: string): string =>
  simpleFold(
    s
      .replace(/ä/g, "ae")
      .replace(/ö/g, "oe")
      .replace(/ü/g, "ue")
      .replace(/Ä/g, "Ae")
      .replace(/Ö/g, "Oe")
      .replace(/Ü/g, "Ue")
  )

/** Within two edits, or one name a prefix of the other (Manuel, Manuela). */
const similar = (a: string, b: string): boolean => {
  if (a.startsWith(b) || b.startsWith(a)) return true
  if (Math.abs(a.length - b.length) > 2) return false
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++)
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)))
    prev = cur
  }
  return prev[b.length]! <= 2
}

const FOLD_NONE = 0
const FOLD_SIMPLE = 1
const FOLD_ALT = 2
const CASE_CANON = 0
const CASE_UPPER = 1
const CASE_LOWER = 2

/** A name with all its spellings precomputed: forms[fold * 3 + case]. */
interface Name {
  readonly forms: ReadonlyArray<string>
  readonly mail: string
  readonly ascii: boolean
}

const makeName = (v: string, locale: string): Name => {
  const up = (s: string) => s.toLocaleUpperCase(locale)
  const lo = (s: string) => s.toLocaleLowerCase(locale)
  const f = simpleFold(v)
  const a = locale === "de-DE" ? altFold(v) : f
  const mailBase = locale === "de-DE" ? a : f
  return {
    forms: [v, up(v), lo(v), f, f.toUpperCase(), f.toLowerCase(), a, a.toUpperCase(), a.toLowerCase()],
    mail: mailBase.toLowerCase().replace(/[^a-z0-9]/g, ""),
    ascii: f === v
  }
}

const names = (list: string, locale: string, power: number): Skewed<Name> =>
  skewed(
    list.split(",").map((n) => makeName(n.trim(), locale)),
    power
  )

/** A street: the number goes between pre and post; variant 0 is the canonical spelling. */
interface Street {
  readonly pre: ReadonlyArray<string>
  readonly post: ReadonlyArray<string>
  readonly foldPre: ReadonlyArray<string>
  readonly foldPost: ReadonlyArray<string>
}

const street = (variants: ReadonlyArray<readonly [string, string]>): Street => ({
  pre: variants.map((v) => v[0]),
  post: variants.map((v) => v[1]),
  foldPre: variants.map((v) => simpleFold(v[0])),
  foldPost: variants.map((v) => simpleFold(v[1]))
})

interface City {
  readonly names: ReadonlyArray<string>
  readonly fold: string
  readonly postcodes: ReadonlyArray<string>
  readonly area: string
  readonly local: number
}

const city = (names: string, postcodes: string, area: string, local: number): City => {
  const n = names.split("|")
  return { names: n, fold: simpleFold(n[0]!), postcodes: postcodes.split(","), area, local }
}

// ---------------------------------------------------------------------------------------------
// Cultures

interface Culture {
  readonly code: "TR" | "DE" | "ES" | "GB"
  readonly cc: string
  readonly male: Skewed<Name>
  readonly female: Skewed<Name>
  readonly last: Skewed<Name>
  readonly streets: Skewed<Street>
  readonly cities: Skewed<City>
  readonly domains: Skewed<string>
  readonly family: ReadonlyArray<readonly [string, string]>
  readonly mobile: (rng: Rng) => string
  readonly junkMail: ReadonlyArray<string>
  readonly work: ReadonlyArray<string>
}

const TR_STREET_BIG =
  "Atatürk,İstiklal,Cumhuriyet,Bağdat,Gazi Mustafa Kemal,İnönü,Fevzi Çakmak,Mimar Sinan,Barbaros,Kazım Karabekir,Hürriyet,Mevlana,Ziya Gökalp,Halaskargazi,Adnan Menderes"
const TR_STREET_SMALL =
  "Menekşe,Lale,Gül,Çınar,Zambak,Papatya,Akasya,Manolya,Yıldız,Okul,Cami,Pınar,Karanfil,Söğüt,Ihlamur,Nergis,Leylak,Şehit Ali"

const trStreets = (): ReadonlyArray<Street> => {
  const out: Array<Street> = []
  for (const n of TR_STREET_BIG.split(",")) {
    out.push(
      street([
        [`${n} Caddesi No: `, ""],
        [`${n} Cd. No:`, ""],
        [`${n} Cad. No: `, ""],
        [`${n} Cad. `, ""]
      ])
    )
    if (n.length < 10)
      out.push(
        street([
          [`${n} Bulvarı No: `, ""],
          [`${n} Blv. No:`, ""],
          [`${n} Bulv. `, ""]
        ])
      )
  }
  for (const n of TR_STREET_SMALL.split(","))
    out.push(
      street([
        [`${n} Sokak No: `, ""],
        [`${n} Sk. No:`, ""],
        [`${n} Sok. No: `, ""],
        [`${n} Sokağı No: `, ""]
      ])
    )
  return out
}

const DE_COMPOUND =
  "Haupt,Bahnhof,Garten,Schul,Dorf,Berg,Kirch,Wald,Ring,Post,Blumen,Wiesen,Rosen,Linden,Goethe,Schiller,Mozart,Beethoven,Kant,Friedrich,Markt,Lessing,Bismarck,Tal,Mühlen"
const DE_SEPARATE = "Berliner,Frankfurter,Münchner,Kölner,Hamburger,Leipziger,Potsdamer,Jülicher"
const DE_PLAIN =
  "Lindenweg,Birkenweg,Eichenweg,Mühlenweg,Kastanienallee,Am Markt,Marktplatz,Am Sportplatz,Gartenweg"

const deStreets = (): ReadonlyArray<Street> => [
  ...DE_COMPOUND.split(",").map((n) =>
    street([
      [`${n}straße `, ""],
      [`${n}str. `, ""],
      [`${n}strasse `, ""],
      [`${n}str.`, ""]
    ])
  ),
  ...DE_SEPARATE.split(",").map((n) =>
    street([
      [`${n} Straße `, ""],
      [`${n} Str. `, ""],
      [`${n} Strasse `, ""]
    ])
  ),
  ...DE_PLAIN.split(",").map((n) => street([[`${n} `, ""]]))
]

const ES_CALLE =
  "Mayor,Real,Nueva,de Alcalá,de Serrano,de la Princesa,de Toledo,de Atocha,de Colón,de Cervantes,de Goya,de Velázquez,de San Vicente,del Sol,de la Luna,de Santa María,de San Juan,de la Iglesia,de Castilla,de Aragón"
const ES_AVENIDA =
  "de la Constitución,de América,de Andalucía,de la Libertad,del Mediterráneo,de Europa,de Portugal,de Blasco Ibáñez"

const esStreets = (): ReadonlyArray<Street> => [
  ...ES_CALLE.split(",").map((n) =>
    street([
      [`Calle ${n}, `, ""],
      [`C/ ${n}, `, ""],
      [`C/ ${n} `, ""],
      [`C. ${n}, `, ""],
      [`Calle ${n} `, ""]
    ])
  ),
  ...ES_AVENIDA.split(",").map((n) =>
    street([
      [`Avenida ${n}, `, ""],
      [`Avda. ${n}, `, ""],
      [`Av. ${n} `, ""],
      [`Avda ${n}, `, ""]
    ])
  ),
  ...["de España", "Mayor", "del Ayuntamiento", "de la Merced"].map((n) =>
    street([
      [`Plaza ${n}, `, ""],
      [`Pza. ${n}, `, ""],
      [`Pl. ${n} `, ""]
    ])
  ),
  ...["de Gracia", "de la Castellana", "del Prado", "Marítimo"].map((n) =>
    street([
      [`Paseo ${n}, `, ""],
      [`P.º ${n}, `, ""],
      [`Pº ${n} `, ""]
    ])
  )
]

const GB_TYPES: Record<string, ReadonlyArray<string>> = {
  Street: ["Street", "St", "St."],
  Road: ["Road", "Rd", "Rd."],
  Lane: ["Lane", "Ln"],
  Avenue: ["Avenue", "Ave", "Av."],
  Drive: ["Drive", "Dr"],
  Close: ["Close", "Cl"],
  Grove: ["Grove", "Gr"]
}
const GB_STREETS =
  "High Street,Station Road,Church Lane,Park Road,Victoria Road,London Road,Queen Street,Green Lane,Manor Road,North Street,Chapel Street,New Road,Grange Road,Albert Road,Springfield Road,Kings Road,Mill Lane,Windsor Drive,Oak Close,Elm Grove,Main Street,Alexandra Road,York Road,Richmond Avenue,Church Street,Park Avenue,Queens Road,Highfield Road"

const gbStreets = (): ReadonlyArray<Street> =>
  GB_STREETS.split(",").map((full) => {
    const sp = full.lastIndexOf(" ")
    const base = full.slice(0, sp)
    const types = GB_TYPES[full.slice(sp + 1)] ?? [full.slice(sp + 1)]
    return street(types.map((t) => ["", ` ${base} ${t}`] as const))
  })

const TR_MOBILE =
  "530,531,532,533,534,535,536,537,538,539,541,542,543,544,545,546,505,506,507,551,552,553,554,555".split(",")
const DE_MOBILE = "151,152,157,159,160,162,163,170,171,172,173,174,175,176,177,178,179".split(",")
const GB_MOBILE =
  "7400,7412,7446,7507,7534,7711,7723,7740,7801,7812,7833,7900,7912,7944,7956,7970,7984".split(",")

const CULTURES: ReadonlyArray<Culture> = [
  {
    code: "TR",
    cc: "90",
    male: names(
      "Mehmet,Mustafa,Ahmet,Ali,Hüseyin,Hasan,İbrahim,İsmail,Osman,Yusuf,Murat,Ömer,Ramazan,Halil,Süleyman,Abdullah,Mahmut,Recep,Fatih,Kemal,Emre,Burak,Çağrı,Oğuz,Serkan,Volkan,Barış,Gökhan,Uğur,Tolga,Onur,Cem,Kadir,Erdem,Şükrü",
      "tr-TR",
      1.6
    ),
    female: names(
      "Fatma,Ayşe,Emine,Hatice,Zeynep,Elif,Meryem,Şerife,Zehra,Sultan,Hanife,Merve,Özlem,Büşra,Esra,Gülşen,Yasemin,Hülya,Derya,Dilek,Sevgi,Gül,Songül,Tuğba,Ebru,Şeyma,Kübra,Gizem,Ece,Nur,Çiğdem,Leyla,Aslı,Pınar,Damla",
      "tr-TR",
      1.6
    ),
    last: names(
      "Yılmaz,Kaya,Demir,Çelik,Şahin,Yıldız,Yıldırım,Öztürk,Aydın,Özdemir,Arslan,Doğan,Kılıç,Aslan,Çetin,Kara,Koç,Kurt,Özkan,Şimşek,Polat,Özcan,Korkmaz,Çakır,Erdoğan,Yavuz,Can,Acar,Şen,Aktaş,Güler,Yalçın,Güneş,Bozkurt,Bulut,Keskin,Ünal,Turan,Gül,Özer,Işık,Kaplan,Avcı,Sarı,Tekin,Taş,Köse,Yüksel,Ateş,Aksoy,Karataş,Uçar,Güven,Başaran,Akın,Erdem,Tunç,Sönmez,Kocabaş,Altun",
      "tr-TR",
      1.9
    ),
    streets: skewed(trStreets(), 1.3),
    cities: skewed(
      [
        city("İstanbul|Istanbul", "34", "212", 7),
        city("Ankara", "06", "312", 7),
        city("İzmir|Izmir", "35", "232", 7),
        city("Bursa", "16", "224", 7),
        city("Antalya", "07", "242", 7),
        city("Adana", "01", "322", 7),
        city("Konya", "42", "332", 7),
        city("Gaziantep", "27", "342", 7),
        city("Kayseri", "38", "352", 7),
        city("Eskişehir|Eskisehir", "26", "222", 7),
        city("Trabzon", "61", "462", 7),
        city("Samsun", "55", "362", 7)
      ],
      1.8
    ),
    domains: skewed(["gmail.com", "hotmail.com", "yahoo.com", "outlook.com", "icloud.com", "yandex.com"], 2),
    family: [
      ["", "ailesi"],
      ["aile.", ""]
    ],
    mobile: (rng) => rng.pick(TR_MOBILE) + rng.digits(7),
    junkMail: ["info@kaya-mobilya.com", "bilgi@yildizticaret.com", "yok@yok.com"],
    work: ["turkcell.com.tr", "koc.com.tr", "arcelik.com", "thy.com", "garanti.com.tr"]
  },
  {
    code: "DE",
    cc: "49",
    male: names(
      "Thomas,Michael,Andreas,Stefan,Peter,Christian,Klaus,Wolfgang,Jürgen,Frank,Markus,Matthias,Sebastian,Alexander,Tobias,Daniel,Jan,Lukas,Maximilian,Jonas,Felix,Florian,Uwe,Günter,Dieter,Björn,Jörg,Horst,Bernd,Ralf,Torsten,Sören,Hans,Karl-Heinz,Niklas",
      "de-DE",
      1.6
    ),
    female: names(
      "Sabine,Claudia,Petra,Andrea,Susanne,Monika,Stefanie,Nicole,Katrin,Julia,Anna,Laura,Lena,Sarah,Lea,Hannah,Sophie,Marie,Jana,Birgit,Ursula,Renate,Ingrid,Karin,Brigitte,Gisela,Jutta,Heike,Anja,Kerstin,Sandra,Jessica,Mareike,Dörte,Bärbel",
      "de-DE",
      1.6
    ),
    last: names(
      "Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,Hoffmann,Schäfer,Koch,Bauer,Richter,Klein,Wolf,Schröder,Neumann,Schwarz,Zimmermann,Braun,Krüger,Hofmann,Hartmann,Lange,Schmitt,Werner,Schmitz,Krause,Meier,Lehmann,Schmid,Schulze,Maier,Köhler,Herrmann,König,Walter,Mayer,Huber,Kaiser,Fuchs,Peters,Lang,Scholz,Möller,Weiß,Jung,Hahn,Schubert,Vogel,Friedrich,Keller,Günther,Frank,Berger,Winkler,Roth,Beck,Lorenz,Groß,Jäger,Böhm,Seidel",
      "de-DE",
      1.7
    ),
    streets: skewed(deStreets(), 1.3),
    cities: skewed(
      [
        city("Berlin", "10,12,13", "30", 8),
        city("Hamburg", "20,22", "40", 8),
        city("München|Muenchen|Munich", "80,81", "89", 8),
        city("Köln|Koeln|Cologne", "50,51", "221", 7),
        city("Frankfurt am Main|Frankfurt|Frankfurt a. M.", "60", "69", 8),
        city("Stuttgart", "70", "711", 7),
        city("Düsseldorf|Duesseldorf", "40", "211", 7),
        city("Leipzig", "04", "341", 7),
        city("Dortmund", "44", "231", 7),
        city("Essen", "45", "201", 7),
        city("Bremen", "28", "421", 7),
        city("Dresden", "01", "351", 7),
        city("Hannover", "30", "511", 7),
        city("Nürnberg|Nuernberg", "90", "911", 7)
      ],
      1.6
    ),
    domains: skewed(
      [
        "gmail.com",
        "web.de",
        "gmx.de",
        "t-online.de",
        "gmx.net",
        "outlook.de",
        "yahoo.de",
        "freenet.de",
        "posteo.de"
      ],
      1.8
    ),
    family: [
      ["familie.", ""],
      ["fam.", ""],
      ["", ".familie"]
    ],
    mobile: (rng) => rng.pick(DE_MOBILE) + rng.digits(8),
    junkMail: ["info@moebel-schmidt.de", "kontakt@autohaus-weber.de", "keine@email.de"],
    work: ["siemens.com", "bosch.com", "sap.com", "allianz.de", "telekom.de"]
  },
  {
    code: "ES",
    cc: "34",
    male: names(
      "Antonio,José,Manuel,Francisco,David,Juan,Javier,Daniel,José Luis,Carlos,Jesús,Alejandro,Miguel,José Antonio,Rafael,Pedro,Ángel,Pablo,Fernando,Sergio,Luis,Jorge,Alberto,Álvaro,Diego,Adrián,Raúl,Enrique,Ramón,Vicente,Iván,Rubén,Óscar,Andrés,Joaquín,Íñigo",
      "es-ES",
      1.6
    ),
    female: names(
      "María,Carmen,Ana,Isabel,Laura,Cristina,Marta,María Carmen,Lucía,Pilar,Elena,Dolores,Paula,Raquel,Sara,Manuela,Rosa,Mercedes,Beatriz,Silvia,Julia,Irene,Patricia,Nuria,Rocío,Andrea,Inés,Sofía,Begoña,Montserrat,Ángela,Concepción,Mónica,Alba,Nieves",
      "es-ES",
      1.6
    ),
    last: names(
      "García,Rodríguez,González,Fernández,López,Martínez,Sánchez,Pérez,Gómez,Martín,Jiménez,Ruiz,Hernández,Díaz,Moreno,Muñoz,Álvarez,Romero,Alonso,Gutiérrez,Navarro,Torres,Domínguez,Vázquez,Ramos,Gil,Ramírez,Serrano,Blanco,Molina,Morales,Suárez,Ortega,Delgado,Castro,Ortiz,Rubio,Marín,Sanz,Núñez,Iglesias,Medina,Garrido,Cortés,Castillo,Santos,Lozano,Guerrero,Cano,Prieto,Méndez,Cruz,Calvo,Gallego,Vidal,León,Herrera,Márquez,Peña,Cabrera,Flores,Ibáñez,Carrasco",
      "es-ES",
      1.5
    ),
    streets: skewed(esStreets(), 1.3),
    cities: skewed(
      [
        city("Madrid", "28", "91", 7),
        city("Barcelona", "08", "93", 7),
        city("Valencia|València", "46", "96", 7),
        city("Sevilla", "41", "95", 7),
        city("Zaragoza", "50", "976", 6),
        city("Málaga|Malaga", "29", "95", 7),
        city("Murcia", "30", "968", 6),
        city("Palma|Palma de Mallorca", "07", "971", 6),
        city("Bilbao", "48", "94", 7),
        city("Alicante|Alacant", "03", "96", 7),
        city("Córdoba|Cordoba", "14", "957", 6),
        city("Valladolid", "47", "983", 6)
      ],
      1.6
    ),
    domains: skewed(
      ["gmail.com", "hotmail.com", "hotmail.es", "yahoo.es", "outlook.es", "icloud.com", "telefonica.net"],
      1.8
    ),
    family: [
      ["familia", ""],
      ["familia.", ""]
    ],
    mobile: (rng) => (rng.chance(0.85) ? "6" + rng.digits(8) : "7" + (1 + rng.int(4)) + rng.digits(7)),
    junkMail: ["info@ferreteria-garcia.es", "sincorreo@correo.es", "info@talleres-lopez.es"],
    work: ["santander.es", "telefonica.com", "inditex.com", "iberdrola.es", "mapfre.com"]
  },
  {
    code: "GB",
    cc: "44",
    male: names(
      "James,John,David,Michael,Paul,Andrew,Peter,Mark,Richard,Robert,Stephen,Christopher,Thomas,Daniel,Matthew,Simon,Ian,Gary,Kevin,Steven,Oliver,Harry,George,Jack,Jacob,Charlie,Liam,Connor,Callum,Ryan,Adam,Nathan,Lewis,Samuel,Joshua",
      "en-GB",
      1.6
    ),
    female: names(
      "Sarah,Emma,Claire,Laura,Rebecca,Emily,Charlotte,Jessica,Sophie,Amy,Hannah,Lucy,Olivia,Amelia,Isla,Ava,Mia,Grace,Chloe,Ella,Margaret,Susan,Elizabeth,Helen,Karen,Julie,Jennifer,Nicola,Joanne,Rachel,Zoe,Katie,Lauren,Megan,Siobhan",
      "en-GB",
      1.6
    ),
    last: names(
      "Smith,Jones,Williams,Taylor,Brown,Davies,Evans,Wilson,Thomas,Johnson,Roberts,Robinson,Thompson,Wright,Walker,White,Edwards,Hughes,Green,Hall,Lewis,Harris,Clarke,Patel,Jackson,Wood,Turner,Martin,Cooper,Hill,Ward,Morris,Moore,Clark,Lee,King,Baker,Harrison,Morgan,Allen,James,Scott,Phillips,Watson,Davis,Parker,Price,Bennett,Young,Griffiths,Mitchell,Kelly,Cook,Carter,Richardson,Bailey,Collins,Bell,Shaw,Murphy,Miller,Cox,O'Brien,Khan",
      "en-GB",
      1.6
    ),
    streets: skewed(gbStreets(), 1.3),
    cities: skewed(
      [
        city("London", "SW1A,E1,N1,NW3,SE10,W2,EC1V,WC2H,SW11,E14", "20", 8),
        city("Manchester", "M1,M4,M14,M20", "161", 7),
        city("Birmingham", "B1,B15,B29", "121", 7),
        city("Leeds", "LS1,LS6,LS17", "113", 7),
        city("Glasgow", "G1,G12,G41", "141", 7),
        city("Liverpool", "L1,L17,L18", "151", 7),
        city("Bristol", "BS1,BS6,BS8", "117", 7),
        city("Sheffield", "S1,S10,S11", "114", 7),
        city("Edinburgh", "EH1,EH3,EH10", "131", 7),
        city("Cardiff", "CF10,CF11,CF14", "29", 8),
        city("Nottingham", "NG1,NG5,NG7", "115", 7),
        city("Leicester", "LE1,LE2,LE3", "116", 7)
      ],
      1.6
    ),
    domains: skewed(
      ["gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk", "btinternet.com", "icloud.com", "sky.com"],
      1.8
    ),
    family: [
      ["the", "s"],
      ["", "family"],
      ["the.", "s"]
    ],
    mobile: (rng) => rng.pick(GB_MOBILE) + rng.digits(6),
    junkMail: ["info@smithandsons.co.uk", "noemail@noemail.com", "accounts@jonesmotors.co.uk"],
    work: ["tesco.com", "bt.com", "nhs.net", "barclays.com", "bbc.co.uk"]
  }
]

const CULTURE_WEIGHTS = [0.3, 0.3, 0.2, 0.2]
const GB_INWARD = "ABDEFGHJLNPQRSTUWXYZ".split("")

// ---------------------------------------------------------------------------------------------
// Phone formatting: mobile numbers are national significant numbers (no trunk prefix)

const fmtMobile = (c: Culture, n: string, style: number): string => {
  switch (c.code) {
    case "TR": {
      const a = n.slice(0, 3)
      const b = n.slice(3, 6)
      switch (style) {
        case 0:
          return `0${a} ${b} ${n.slice(6, 8)} ${n.slice(8)}`
        case 1:
          return n
        case 2:
          return `0(${a}) ${b} ${n.slice(6, 8)} ${n.slice(8)}`
        case 3:
          return `+90 ${a} ${b} ${n.slice(6)}`
        case 4:
          return `+90${n}`
        default:
          return `+90 ${a} ${b} ${n.slice(6, 8)} ${n.slice(8)}`
      }
    }
    case "DE": {
      const a = n.slice(0, 3)
      const r = n.slice(3)
      switch (style) {
        case 0:
          return `0${a} ${r}`
        case 1:
          return `0${a}/${r}`
        case 2:
          return `0${a}-${r.slice(0, 4)} ${r.slice(4)}`
        case 3:
          return `+49 ${a} ${r}`
        case 4:
          return `+49${n}`
        default:
          return `0049 ${a} ${r}`
      }
    }
    case "GB": {
      const a = n.slice(0, 4)
      const r = n.slice(4)
      switch (style) {
        case 0:
          return `0${a} ${r}`
        case 1:
          return `0${n}`
        case 2:
          return `(0${a}) ${r}`
        case 3:
          return `+44 ${a} ${r}`
        case 4:
          return `+44${n}`
        default:
          return `0044 ${a} ${r}`
      }
    }
    default: {
      const a = n.slice(0, 3)
      switch (style) {
        case 0:
          return `${a} ${n.slice(3, 5)} ${n.slice(5, 7)} ${n.slice(7)}`
        case 1:
          return n
        case 2:
          return `${a} ${n.slice(3, 6)} ${n.slice(6)}`
        case 3:
          return `+34 ${n}`
        case 4:
          return `+34${n}`
        default:
          return `+34 ${a} ${n.slice(3, 5)} ${n.slice(5, 7)} ${n.slice(7)}`
      }
    }
  }
}

/** A fixed line: area code plus local number, formatted nationally, internationally or as E.164. */
const fmtLandline = (c: Culture, area: string, local: string, style: number): string => {
  const trunk = c.code === "ES" ? "" : "0"
  const grouped =
    local.length === 8 ? `${local.slice(0, 4)} ${local.slice(4)}` : `${local.slice(0, 3)} ${local.slice(3)}`
  if (style === 0) return `${trunk}${area} ${grouped}`
  if (style === 1) return `+${c.cc} ${area} ${grouped}`
  return `+${c.cc}${area}${local}`
}

// Valid GB fixed lines: London numbers start with 3/7/8, elsewhere 2 is always allowed; others take 2-9.
const landlineLocal = (rng: Rng, c: Culture, ct: City): string => {
  if (c.code === "GB" && ct.area === "20") return rng.pick(["3", "7", "8"]) + rng.digits(7)
  if (c.code === "GB") return "2" + rng.digits(ct.local - 1)
  return String(2 + rng.int(8)) + rng.digits(ct.local - 1)
}

// ---------------------------------------------------------------------------------------------
// Uniqueness of generated identifiers, by a bitmap of hashes of their normalised form.

class Taken {
  private readonly bits = new Int32Array(1 << 21)
  /** Marks the hash; false when it was already marked (a taken value or, rarely, a hash collision). */
  add(h: number): boolean {
    const w = (h >>> 5) & ((1 << 21) - 1)
    const b = 1 << (h & 31)
    const cur = this.bits[w]!
    if ((cur & b) !== 0) return false
    this.bits[w] = cur | b
    return true
  }
}

// Dots in the local part are ignored, so that Gmail dot variants of one address never belong to two people.
const emailHash = (e: string): number => {
  let h = 0x811c9dc5
  let local = true
  for (let i = 0; i < e.length; i++) {
    const ch = e.charCodeAt(i)
    if (ch === 64) local = false
    else if (local && ch === 46) continue
    h = Math.imul(h ^ ch, 0x01000193)
  }
  return h >>> 0
}

const strHash = (s: string): number => {
  let h = 0x9747b28c
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

// ---------------------------------------------------------------------------------------------
// Time: instants over 2023-01-01 .. 2025-12-31, formatted without Date on the hot path

const START = Date.UTC(2023, 0, 1)
const DAYS = 1096
const SPAN = DAYS * 86400
const PAD2: ReadonlyArray<string> = Array.from({ length: 100 }, (_, i) => (i < 10 ? "0" : "") + i)
const DAY: ReadonlyArray<string> = Array.from({ length: DAYS }, (_, d) =>
  new Date(START + d * 86400000).toISOString().slice(0, 10)
)

const instant = (t: number): string => {
  const d = (t / 86400) | 0
  const s = t - d * 86400
  const h = (s / 3600) | 0
  const m = ((s - h * 3600) / 60) | 0
  return DAY[d]! + "T" + PAD2[h]! + ":" + PAD2[m]! + ":" + PAD2[s % 60]! + "Z"
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

// ---------------------------------------------------------------------------------------------
// Sources

const CRM = 0
const SHOP = 1
const NEWSLETTER = 2
const SUPPORT = 3
const APP = 4
const PROFILES = ["crm", "shop", "newsletter", "support", "app"]
// Generation order within a person: richest first, so later records always find an anchor.
const RANK = [0, 1, 4, 2, 3]
const PROFILE_WEIGHT = [0.22, 0.3, 0.2, 0.12, 0.16]
const PROFILE_PREFIX = ["C", "", "NL-", "SUP-", "U"]
const PROFILE_ID_TYPE: ReadonlyArray<string | undefined> = [
  "crmId",
  "shopId",
  undefined,
  undefined,
  undefined
]
const CHANNELS: ReadonlyArray<ReadonlyArray<string>> = [
  ["email", "sms", "phone", "post"],
  ["email", "sms", "post"],
  ["email"],
  ["phone", "sms"],
  ["push", "email"]
]
const PURPOSES = skewed(["marketing", "profiling", "personalisation"], 2)
const STATUS = ["granted", "granted", "granted", "granted", "granted", "denied", "withdrawn"]
const GMAIL_TAGS = ["shop", "news", "promo", "online", "2024", "amazon", "spam"]

interface Source {
  readonly name: string
  readonly profile: number
  readonly weight: number
  readonly prefix: string
  readonly idType: string | undefined
  readonly offset: number
  n: number
}

const DEFAULT_SOURCES = ["crm", "shop", "newsletter", "support", "app"]

// ---------------------------------------------------------------------------------------------
// People

interface Person {
  readonly n: number
  readonly c: Culture
  readonly first: Name
  readonly last: Name
  readonly last2: Name | undefined
  readonly dob: string
  readonly dobSwapped: string | undefined
  readonly street: Street
  readonly house: string
  readonly city: City
  readonly postcode: string
  readonly mobile: string
  readonly landline: string | undefined
  readonly landArea: string
  email: string
  emailShared: boolean
  // Per-cluster anchor state: what earlier records of this person carry, cleanly.
  emailSeen: boolean
  emailNameSeen: boolean
  mobileSeen: boolean
  personSeen: boolean
  shopRec: string | undefined
}

interface Household {
  readonly street: Street
  readonly house: string
  readonly city: City
  readonly postcode: string
  readonly landline: string | undefined
  readonly landArea: string
  readonly email: string | undefined
}

const A_NONE = 0
const A_EMAIL = 1
const A_PHONE = 2
const A_PERSON = 3
const A_SHOP = 4

type Ids = Record<string, Array<string>>
type Attrs = Record<string, string>

interface Draft {
  source: Source
  id: string
  ids: Ids | undefined
  attrs: Attrs | undefined
  group: number
}

interface MutableRecord {
  source: string
  id: string
  updatedAt: string
  identifiers?: Ids
  attributes?: Attrs
  consents?: Array<Record<string, string>>
}

const KEYS = "qwertyuiopasdfghjklzxcvbnm"
const NEAR: Record<string, string> = {
  q: "wa",
  w: "qes",
  e: "wrd",
  r: "etf",
  t: "ryg",
  y: "tuh",
  u: "yij",
  i: "uok",
  o: "ipl",
  p: "ol",
  a: "qsz",
  s: "adw",
  d: "sfe",
  f: "dgr",
  g: "fht",
  h: "gjy",
  j: "hku",
  k: "jli",
  l: "ko",
  z: "xa",
  x: "zcs",
  c: "xvd",
  v: "cbf",
  b: "vng",
  n: "bmh",
  m: "nj"
}

const CLUSTER_CUM = [0.55, 0.78, 0.89, 0.95, 0.98, 1]

class Gen {
  readonly rng: Rng
  readonly taken = new Taken()
  readonly sources: ReadonlyArray<Source>
  readonly byRank: ReadonlyArray<Source>
  readonly sourceCum: ReadonlyArray<number>
  readonly shopIdType: string | undefined
  readonly consents: boolean
  readonly junkMail: ReadonlyArray<string>
  readonly junkPhone: ReadonlyArray<string>
  readonly junkTable: Uint16Array
  readonly out: Array<SyntheticRecord> = []
  private readonly drafts: Array<Draft> = []
  private readonly plan: Array<Source> = []
  private readonly times: Array<number> = [0, 0, 0, 0, 0, 0]
  private readonly order: Array<number> = [0, 0, 0, 0, 0, 0]
  private readonly pending: Array<Person> = []
  private readonly lastByCulture: Array<Person | undefined> = [undefined, undefined, undefined, undefined]
  entities = 0

  constructor(records: number, seed: number, sourceNames: ReadonlyArray<string>, consents: boolean) {
    this.rng = new Rng(seed)
    this.consents = consents
    const seen = new Set<string>()
    const sources: Array<Source> = []
    for (const name of sourceNames) {
      if (name.length === 0 || seen.has(name)) continue
      seen.add(name)
      const known = PROFILES.indexOf(name)
      const profile = known >= 0 ? known : sources.length % PROFILES.length
      sources.push({
        name,
        profile,
        weight: PROFILE_WEIGHT[profile]!,
        prefix: known >= 0 ? PROFILE_PREFIX[profile]! : `${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}-`,
        idType: profile === APP ? "deviceId" : known >= 0 ? PROFILE_ID_TYPE[profile] : `${name}Id`,
        offset: this.rng.int(100_000_000),
        n: 0
      })
    }
    if (sources.length === 0) throw new Error("Synthetic: at least one source is needed")
    this.sources = sources
    this.byRank = [...sources].sort((a, b) => RANK[a.profile]! - RANK[b.profile]!)
    let acc = 0
    const total = sources.reduce((s, x) => s + x.weight, 0)
    this.sourceCum = sources.map((s) => (acc += s.weight / total))
    const shop = sources.find((s) => s.profile === SHOP)
    this.shopIdType = shop?.idType

    // About one junk identifier per 5,000 records, each then shared by several unrelated people.
    const nJunk = Math.max(4, Math.round(records / 5000))
    const mails: Array<string> = []
    const phones: Array<string> = []
    for (let i = 0; i < nJunk; i++) {
      const c = CULTURES[i % CULTURES.length]!
      if (i % 2 === 0) {
        const base = c.junkMail[(i >> 3) % c.junkMail.length]!
        const round = i >> 3 >= c.junkMail.length ? String(1 + (i >> 3)) : ""
        const at = base.indexOf("@")
        const mail = base.slice(0, at) + round + base.slice(at)
        this.taken.add(emailHash(mail))
        mails.push(mail)
      } else {
        const ct = draw(this.rng, c.cities)
        const local = landlineLocal(this.rng, c, ct)
        this.taken.add(strHash(c.cc + ct.area + local))
        // International format: the shop's number lands on records of customers from any country.
        phones.push(fmtLandline(c, ct.area, local, 1 + this.rng.int(2)))
      }
    }
    this.junkMail = mails
    this.junkPhone = phones
    this.junkTable = skewTable(Math.max(mails.length, 1), 1.5)
  }

  // ----- identities

  private uniqueEmail(local: string, domain: string, year: number): string {
    let l = local
    for (let attempt = 0; ; attempt++) {
      const e = `${l}@${domain}`
      if (this.taken.add(emailHash(e))) return e
      l =
        local +
        (attempt === 0 ? PAD2[year % 100]! : String(attempt < 6 ? 1 + this.rng.int(999) : this.rng.int(1e6)))
    }
  }

  private personalEmail(c: Culture, first: Name, last: Name, year: number): string {
    const r = this.rng
    const f = first.mail
    const l = last.mail
    const d = draw(r, c.domains)
    const p = r.next()
    let local: string
    if (p < 0.3) local = `${f}.${l}`
    else if (p < 0.42) local = f + l
    else if (p < 0.52) local = f[0] + l
    else if (p < 0.57) local = `${f}_${l}`
    else if (p < 0.69) local = `${f}.${l}${PAD2[year % 100]}`
    else if (p < 0.77) local = f + (r.chance(0.5) ? year : PAD2[year % 100])
    else if (p < 0.83) local = `${l}.${f}`
    else if (p < 0.9) local = f + l + (10 + r.int(990))
    else if (p < 0.95) local = `${f}.${l[0]}`
    else local = f + (100 + r.int(900))
    return this.uniqueEmail(local, d, year)
  }

  private uniqueMobile(c: Culture): string {
    for (;;) {
      const m = c.mobile(this.rng)
      if (this.taken.add(strHash(c.cc + m))) return m
    }
  }

  private newLandline(c: Culture, ct: City): string {
    for (;;) {
      const l = landlineLocal(this.rng, c, ct)
      if (this.taken.add(strHash(c.cc + ct.area + l))) return l
    }
  }

  private postcode(c: Culture, ct: City): string {
    const r = this.rng
    const p = r.pick(ct.postcodes)
    if (c.code === "GB") return `${p} ${r.int(10)}${r.pick(GB_INWARD)}${r.pick(GB_INWARD)}`
    return p + r.digits(5 - p.length)
  }

  private dob(minYear: number, maxYear: number): [string, string | undefined] {
    const r = this.rng
    const y = minYear + r.int(maxYear - minYear + 1)
    const m = 1 + r.int(12)
    const leap = m === 2 && y % 4 === 0 ? 1 : 0
    const d = 1 + r.int(MONTH_DAYS[m - 1]! + leap)
    const ys = String(y)
    return [`${ys}-${PAD2[m]}-${PAD2[d]}`, d <= 12 && d !== m ? `${ys}-${PAD2[d]}-${PAD2[m]}` : undefined]
  }

  private pickCulture(): Culture {
    const x = this.rng.next()
    let acc = 0
    for (let i = 0; i < CULTURES.length; i++) if (x < (acc += CULTURE_WEIGHTS[i]!)) return CULTURES[i]!
    return CULTURES[CULTURES.length - 1]!
  }

  private nextPerson(): Person {
    const queued = this.pending.pop()
    if (queued !== undefined) return queued
    const r = this.rng
    // Households come as a batch of people generated back to back.
    if (r.chance(0.05)) {
      this.household()
      return this.pending.pop()!
    }
    const c = this.pickCulture()
    let first: Name
    let last: Name
    let last2: Name | undefined
    const prev = this.lastByCulture[CULTURES.indexOf(c)]
    if (prev !== undefined && r.chance(0.015)) {
      // A deliberate namesake: same name as an earlier person, everything else different.
      first = prev.first
      last = prev.last
      last2 = prev.last2
    } else {
      first = draw(r, r.chance(0.5) ? c.male : c.female)
      last = draw(r, c.last)
      last2 = c.code === "ES" && r.chance(0.4) ? draw(r, c.last) : undefined
    }
    const [dob, dobSwapped] = this.dob(1945, 2005)
    const ct = draw(r, c.cities)
    const year = Number(dob.slice(0, 4))
    const p = this.person(
      c,
      first,
      last,
      last2,
      dob,
      dobSwapped,
      draw(r, c.streets),
      String(1 + r.int(140)),
      ct
    )
    p.email = this.personalEmail(c, first, last, year)
    this.lastByCulture[CULTURES.indexOf(c)] = p
    return p
  }

  private person(
    c: Culture,
    first: Name,
    last: Name,
    last2: Name | undefined,
    dob: string,
    dobSwapped: string | undefined,
    st: Street,
    house: string,
    ct: City,
    hh?: Household
  ): Person {
    return {
      n: ++this.entities,
      c,
      first,
      last,
      last2,
      dob,
      dobSwapped,
      street: st,
      house,
      city: ct,
      postcode: hh?.postcode ?? this.postcode(c, ct),
      mobile: this.uniqueMobile(c),
      landline: hh?.landline,
      landArea: hh?.landArea ?? ct.area,
      email: "",
      emailShared: false,
      emailSeen: false,
      emailNameSeen: false,
      mobileSeen: false,
      personSeen: false,
      shopRec: undefined
    }
  }

  private household(): void {
    const r = this.rng
    const c = this.pickCulture()
    const ct = draw(r, c.cities)
    const last = draw(r, c.last)
    const size = r.chance(0.6) ? 2 : r.chance(0.6) ? 3 : 4
    let email: string | undefined
    if (r.chance(0.3)) {
      const [pre, post] = r.pick(c.family)
      email = this.uniqueEmail(pre + last.mail + post, draw(r, c.domains), 0)
    }
    const landline = r.chance(0.4) ? this.newLandline(c, ct) : undefined
    const hh: Household = {
      street: draw(r, c.streets),
      house: String(1 + r.int(140)),
      city: ct,
      postcode: this.postcode(c, ct),
      landline,
      landArea: ct.area,
      email
    }
    const used: Array<Name> = []
    // Children must be adults to be customers, so households with children have older parents.
    const parentYear = 1950 + r.int(size > 2 ? 26 : 50)
    const members: Array<Person> = []
    for (let i = 0; i < size; i++) {
      const pool = i === 0 ? c.male : i === 1 ? c.female : r.chance(0.5) ? c.male : c.female
      let first = draw(r, pool)
      // Andrea and Andreas sharing one e-mail would be ambiguous even to a careful human.
      while (used.some((u) => similar(u.mail, first.mail))) first = draw(r, pool)
      used.push(first)
      // Parents are about the same age, children 20-35 years younger: birth dates never coincide.
      const [dob, dobSwapped] =
        i < 2
          ? this.dob(parentYear + i * 2, parentYear + i * 2 + 1)
          : this.dob(parentYear + 20 + i * 3, parentYear + 21 + i * 3)
      const p = this.person(c, first, last, undefined, dob, dobSwapped, hh.street, hh.house, ct, hh)
      if (email !== undefined && i < 2) {
        p.email = email
        p.emailShared = true
      } else p.email = this.personalEmail(c, first, last, Number(dob.slice(0, 4)))
      members.push(p)
    }
    // pending is a stack: push in reverse so members come out in order.
    for (let i = members.length - 1; i >= 0; i--) this.pending.push(members[i]!)
  }

  // ----- clusters

  private pickSource(): Source {
    const x = this.rng.next()
    const cum = this.sourceCum
    for (let i = 0; i < cum.length; i++) if (x < cum[i]!) return this.sources[i]!
    return this.sources[this.sources.length - 1]!
  }

  private feasible(p: Person, s: Source): number {
    const prof = s.profile
    const email = p.emailSeen && (!p.emailShared || p.emailNameSeen)
    const phone = p.mobileSeen && (prof === CRM || prof === SHOP || prof === SUPPORT)
    const person = p.personSeen && (prof === CRM || prof === SHOP)
    const shop = prof === APP && p.shopRec !== undefined && this.shopIdType !== undefined
    const we = email ? 5 : 0
    const wp = phone ? 3 : 0
    const wn = person ? 1.5 : 0
    const ws = shop ? 1.5 : 0
    const sum = we + wp + wn + ws
    if (sum === 0) return A_NONE
    const x = this.rng.next() * sum
    if (x < we) return A_EMAIL
    if (x < we + wp) return A_PHONE
    if (x < we + wp + wn) return A_PERSON
    return A_SHOP
  }

  /** Generates one person's records (at most `budget`) into `out`. */
  cluster(budget: number): void {
    const r = this.rng
    const p = this.nextPerson()
    const u = r.next()
    let k = 1
    while (u >= CLUSTER_CUM[k - 1]!) k++
    if (k > budget) k = budget
    const plan = this.plan
    for (let i = 0; i < k; i++) {
      let s = this.pickSource()
      // Duplicates inside one source happen (two shop accounts), but less often than across sources.
      for (let j = 0; j < i; j++)
        if (plan[j] === s) {
          s = this.pickSource()
          break
        }
      let j = i
      while (j > 0 && RANK[plan[j - 1]!.profile]! > RANK[s.profile]!) {
        plan[j] = plan[j - 1]!
        j--
      }
      plan[j] = s
    }
    const wantChange = k >= 2 && !p.emailShared && r.chance(0.08)
    let group = 0
    const drafts = this.drafts
    let nd = 0
    for (let i = 0; i < k; i++) {
      let s = plan[i]!
      let anchor = A_NONE
      let change = false
      if (i > 0) {
        anchor = this.feasible(p, s)
        if (anchor === A_NONE) {
          for (const alt of this.byRank) {
            anchor = this.feasible(p, alt)
            if (anchor !== A_NONE) {
              s = alt
              break
            }
          }
          if (anchor === A_NONE) break
        }
        const prof = s.profile
        if (
          wantChange &&
          group === 0 &&
          p.mobileSeen &&
          (prof === CRM || prof === SHOP || prof === SUPPORT) &&
          (i === k - 1 || r.chance(0.5))
        ) {
          // The person switched e-mail: this and later records carry the new one; phone and name link them.
          change = true
          group = 1
          anchor = A_PHONE
          p.email = this.personalEmail(p.c, p.first, p.last, Number(p.dob.slice(0, 4)))
          p.emailSeen = false
          p.emailNameSeen = false
        }
      }
      const d = drafts[nd] ?? (drafts[nd] = { source: s, id: "", ids: undefined, attrs: undefined, group: 0 })
      nd++
      this.draft(d, p, s, i, anchor, change, group)
    }
    this.finish(p, drafts, nd)
  }

  private draft(
    d: Draft,
    p: Person,
    s: Source,
    i: number,
    anchor: number,
    change: boolean,
    group: number
  ): void {
    const r = this.rng
    const prof = s.profile
    const c = p.c
    const dup = i > 0
    let hasEmail: boolean
    let hasPhone = false
    let hasFirst = false
    let hasLast = false
    let hasDob = false
    let hasAddr = false
    let hasCountry = false
    switch (prof) {
      case CRM:
        hasFirst = hasLast = true
        hasDob = r.chance(0.97)
        hasAddr = hasCountry = r.chance(0.95)
        hasEmail = r.chance(0.92)
        hasPhone = r.chance(0.85)
        break
      case SHOP:
        hasFirst = hasLast = r.chance(0.98)
        hasDob = r.chance(0.25)
        hasAddr = hasCountry = r.chance(0.97)
        hasEmail = r.chance(0.99)
        hasPhone = r.chance(0.7)
        break
      case NEWSLETTER:
        hasEmail = true
        hasFirst = r.chance(0.45)
        break
      case SUPPORT:
        hasFirst = hasLast = r.chance(0.95)
        hasPhone = r.chance(0.85)
        hasEmail = !hasPhone || r.chance(0.45)
        hasCountry = r.chance(0.6)
        break
      default:
        hasEmail = r.chance(0.95)
        hasFirst = r.chance(0.3)
    }
    switch (anchor) {
      case A_EMAIL:
        hasEmail = true
        break
      case A_PHONE:
        hasPhone = true
        break
      case A_PERSON:
        hasFirst = hasLast = hasDob = hasAddr = hasCountry = true
        break
    }
    if (change) {
      hasEmail = hasFirst = hasLast = true
      if (prof === CRM) hasDob = true
    }
    // A shared family address needs a first name to say whose record it is.
    if (p.emailShared && hasEmail) hasFirst = true
    // A name that carries the link (person anchor, e-mail switch, family address) must stay readable.
    const protectName = anchor === A_PERSON || change || (p.emailShared && hasEmail)
    // At most one kind of damage to the name per record, so a careful reader still knows it.
    const swap = dup && !protectName && hasFirst && hasLast && r.chance(0.03)
    let typo = dup && !protectName && !swap && (hasFirst || hasLast) && r.chance(0.07)
    const dobSwap =
      dup && anchor !== A_PERSON && !change && hasDob && p.dobSwapped !== undefined && r.chance(0.15)
    let junkEmail = false
    let junkPhone = false
    let workEmail = false
    let dropSurname2 = false
    if (dup) {
      if (r.chance(0.1)) {
        // One field went missing; never the anchor, never the last thing that identifies the record.
        switch (r.int(6)) {
          case 0:
            if (anchor !== A_EMAIL && !change && (hasPhone || hasLast || prof === APP)) hasEmail = false
            break
          case 1:
            if (anchor !== A_PHONE && (hasEmail || hasLast)) hasPhone = false
            break
          case 2:
            if (anchor !== A_PERSON && !change) hasDob = false
            break
          case 3:
            if (anchor !== A_PERSON) hasAddr = false
            break
          case 4:
            if (!protectName) hasFirst = false
            break
          default:
            if (anchor !== A_PERSON) hasCountry = false
        }
      }
      if (anchor === A_PERSON && r.chance(0.5)) {
        // Only name, birth date and address link this one: a different e-mail or none at all.
        hasPhone = false
        hasEmail = r.chance(0.4)
        workEmail = hasEmail
      }
      dropSurname2 = p.last2 !== undefined && !protectName && !swap && !typo && r.chance(0.2)
    }
    // Junk goes only on records with both names: a nameless record would chain its users together.
    if ((prof === CRM || prof === SHOP || prof === SUPPORT) && hasFirst && hasLast) {
      const identifiable = hasDob || hasAddr
      if (
        hasEmail &&
        !workEmail &&
        anchor !== A_EMAIL &&
        !change &&
        r.chance(0.006) &&
        (hasPhone || identifiable)
      )
        junkEmail = true
      else if (hasPhone && anchor !== A_PHONE && !change && r.chance(0.004) && (hasEmail || identifiable))
        junkPhone = true
    }
    if (!hasFirst && !hasLast) typo = false

    // ----- attributes
    let attrs: Attrs | undefined
    let cleanName = !typo && !swap && !dropSurname2
    if (hasFirst || hasLast || hasDob || hasAddr || hasCountry) {
      attrs = {}
      const nonAscii = !p.first.ascii || !p.last.ascii || (p.last2 !== undefined && !p.last2.ascii)
      let fold = FOLD_NONE
      if (nonAscii && r.chance(0.15))
        fold = c.code === "DE" && !protectName && r.chance(0.5) ? FOLD_ALT : FOLD_SIMPLE
      if (fold === FOLD_ALT) cleanName = false
      const cx = r.next()
      // Upper-case surnames are a CRM habit; whole names in one case come from form imports.
      const lastCase = cx < 0.13 ? CASE_UPPER : cx < 0.15 ? CASE_LOWER : CASE_CANON
      const firstCase = cx >= 0.1 && cx < 0.15 ? lastCase : CASE_CANON
      let fn = hasFirst ? p.first.forms[fold * 3 + firstCase]! : undefined
      let ln: string | undefined
      if (hasLast) {
        ln = p.last.forms[fold * 3 + lastCase]!
        if (p.last2 !== undefined && !dropSurname2) ln = `${ln} ${p.last2.forms[fold * 3 + lastCase]!}`
      }
      if (typo) {
        if (fn !== undefined && (ln === undefined || r.chance(0.5))) fn = this.typo(fn)
        else if (ln !== undefined) ln = this.typo(ln)
      }
      if (swap) {
        const t = fn
        fn = ln
        ln = t
      }
      if (fn !== undefined) attrs.firstName = fn
      if (ln !== undefined) attrs.lastName = ln
      if (hasDob) attrs.birthDate = dobSwap ? p.dobSwapped! : p.dob
      if (hasAddr) {
        const st = p.street
        const v = st.pre.length > 1 && r.chance(0.45) ? 1 + r.int(st.pre.length - 1) : 0
        attrs.street =
          fold !== FOLD_NONE ? st.foldPre[v]! + p.house + st.foldPost[v]! : st.pre[v]! + p.house + st.post[v]!
        const ct = p.city
        attrs.city =
          fold !== FOLD_NONE
            ? ct.fold
            : ct.names.length > 1 && r.chance(0.08)
              ? r.pick(ct.names)
              : ct.names[0]!
        let pc = p.postcode
        if (c.code === "GB" && r.chance(0.15)) pc = r.chance(0.5) ? pc.replace(" ", "") : pc.toLowerCase()
        attrs.postcode = pc
      }
      if (hasCountry) attrs.country = c.code
    }

    // ----- identifiers
    const ids: Ids = {}
    let nIds = 0
    let id: string
    {
      const v = (s.n++ * 7777777 + s.offset) % 100_000_000
      const digits = String(v)
      id = s.prefix + "00000000".slice(digits.length) + digits
    }
    if (prof === APP) {
      ids.deviceId = [
        (r.next() * 4294967296).toString(16).padStart(8, "0") +
          (r.next() * 4294967296).toString(16).padStart(8, "0")
      ]
      nIds++
    } else if (s.idType !== undefined) {
      ids[s.idType] = [id]
      nIds++
    }
    if (hasEmail) {
      let e: string
      if (junkEmail) e = this.junkMail[this.junkTable[r.int(1024)]! % this.junkMail.length]!
      else if (workEmail)
        e = this.uniqueEmail(
          r.chance(0.6) ? `${p.first.mail}.${p.last.mail}` : p.first.mail[0] + p.last.mail,
          r.pick(c.work),
          0
        )
      else e = this.emailVariant(p.email, dup)
      ids.email = [e]
      nIds++
    }
    if (hasPhone) {
      nIds++
      if (junkPhone) ids.phone = [this.junkPhone[this.junkTable[r.int(1024)]! % this.junkPhone.length]!]
      else {
        // National formats only where the record says which country it is in.
        const style =
          hasCountry && prof !== SUPPORT
            ? prof === CRM && r.chance(0.5)
              ? 3
              : r.int(6)
            : 3 + r.int(c.code === "DE" || c.code === "GB" ? 2 : 3)
        const phones = [fmtMobile(c, p.mobile, style)]
        if (p.landline !== undefined && prof === CRM && r.chance(0.6))
          phones.push(fmtLandline(c, p.landArea, p.landline, hasCountry ? r.int(3) : 1 + r.int(2)))
        ids.phone = phones
      }
    }
    if (anchor === A_SHOP || (prof === APP && p.shopRec !== undefined && r.chance(0.4))) {
      if (this.shopIdType !== undefined && p.shopRec !== undefined) {
        ids[this.shopIdType] = [p.shopRec]
        nIds++
      }
    }

    // ----- what later records can lean on
    if (hasEmail && !junkEmail && !workEmail) {
      p.emailSeen = true
      if (hasFirst && cleanName) p.emailNameSeen = true
    }
    if (hasPhone && !junkPhone) p.mobileSeen = true
    if (hasFirst && hasLast && cleanName && hasDob && !dobSwap && hasAddr) p.personSeen = true
    if (prof === SHOP && s.idType !== undefined) p.shopRec = id

    d.source = s
    d.id = id
    d.ids = nIds > 0 ? ids : undefined
    d.attrs = attrs
    d.group = group
  }

  private emailVariant(e: string, dup: boolean): string {
    const r = this.rng
    const at = e.indexOf("@")
    let local = e.slice(0, at)
    let domain = e.slice(at + 1)
    if (domain === "gmail.com" && dup) {
      const x = r.next()
      if (x < 0.12) {
        if (local.includes(".")) local = local.replace(/\./g, "")
        else if (local.length > 3) {
          const k = 1 + r.int(local.length - 2)
          local = `${local.slice(0, k)}.${local.slice(k)}`
        }
      } else if (x < 0.2) local = `${local}+${r.pick(GMAIL_TAGS)}`
      else if (x < 0.24) domain = "googlemail.com"
    }
    const y = r.next()
    if (y < 0.04) return `${local}@${domain}`.toUpperCase()
    if (y < 0.08) return `${local[0]!.toUpperCase()}${local.slice(1)}@${domain}`
    return `${local}@${domain}`
  }

  private typo(s: string): string {
    const r = this.rng
    if (s.length < 4) return s + s[s.length - 1]
    // Keep the first letter: people rarely get it wrong and blocking keys depend on it.
    const i = 1 + r.int(s.length - 2)
    const ch = s[i]!
    switch (r.int(4)) {
      case 0: {
        if (ch === " ") return s.slice(0, i) + s.slice(i + 1)
        const lower = ch.toLowerCase()
        const near = NEAR[lower] ?? KEYS
        const sub = near[r.int(near.length)]!
        return s.slice(0, i) + (ch === lower ? sub : sub.toUpperCase()) + s.slice(i + 1)
      }
      case 1:
        return s.slice(0, i) + s.slice(i + 1)
      case 2:
        return s.slice(0, i) + ch + s.slice(i)
      default: {
        const nx = s[i + 1]!
        if (nx === ch || nx === " " || ch === " ") return s.slice(0, i) + s.slice(i + 1)
        return s.slice(0, i) + nx + ch + s.slice(i + 2)
      }
    }
  }

  private finish(p: Person, drafts: ReadonlyArray<Draft>, k: number): void {
    const r = this.rng
    const times = this.times
    for (let i = 0; i < k; i++) {
      const t = r.int(SPAN)
      let j = i
      while (j > 0 && times[j - 1]! > t) {
        times[j] = times[j - 1]!
        j--
      }
      times[j] = t
    }
    // Records with the old e-mail take the earliest instants, the new e-mail the later ones.
    let old = 0
    for (let i = 0; i < k; i++) if (drafts[i]!.group === 0) old++
    // Within each group any record may be the older one: drafts come richest first, times must not.
    const order = this.order
    for (let i = 0; i < k; i++) order[i] = i
    for (let i = old - 1; i > 0; i--) {
      const j = r.int(i + 1)
      const x = order[i]!
      order[i] = order[j]!
      order[j] = x
    }
    for (let i = k - 1; i > old; i--) {
      const j = old + r.int(i - old + 1)
      const x = order[i]!
      order[i] = order[j]!
      order[j] = x
    }
    const entity = `e${p.n}`
    for (let i = 0; i < k; i++) {
      const d = drafts[i]!
      const t = times[order[i]!]!
      const rec: MutableRecord = { source: d.source.name, id: d.id, updatedAt: instant(t) }
      if (d.ids !== undefined) rec.identifiers = d.ids
      if (d.attrs !== undefined) rec.attributes = d.attrs
      if (this.consents) {
        const n = r.next()
        if (n < 0.55) rec.consents = this.consentsFor(d.source, t, n < 0.12 ? 2 : 1)
      }
      this.out.push({ record: rec, entity })
    }
    p.emailSeen = p.emailNameSeen = p.mobileSeen = p.personSeen = false
    p.shopRec = undefined
  }

  private consentsFor(s: Source, t: number, n: number): Array<Record<string, string>> {
    const r = this.rng
    const channels = CHANNELS[s.profile]!
    const purpose = draw(r, PURPOSES)
    const channel = r.pick(channels)
    const at = Math.max(0, t - r.int(180 * 86400))
    const first: Record<string, string> = {
      purpose,
      channel,
      status: r.pick(STATUS),
      capturedAt: instant(at),
      legalBasis: "consent",
      source: s.name
    }
    if (n === 1) return [first]
    // A second event is either a later change of mind on the same channel or another channel.
    const history = r.chance(0.5)
    return [
      first,
      {
        purpose: history ? purpose : draw(r, PURPOSES),
        channel: history ? channel : r.pick(channels),
        status: history ? (first.status === "granted" ? "withdrawn" : "granted") : r.pick(STATUS),
        capturedAt: instant(at + ((t - at) >> 1)),
        legalBasis: "consent",
        source: s.name
      }
    ]
  }
}

const WINDOW = 1024

/** Lazily generates exactly `options.records` records with their entities, deterministic per seed. */
export function* generate(options: SyntheticOptions): Generator<SyntheticRecord> {
  const total = Math.floor(options.records)
  if (!Number.isFinite(total) || total < 0) throw new RangeError("Synthetic: records must be a finite count")
  if (total === 0) return
  const g = new Gen(total, options.seed ?? 1, options.sources ?? DEFAULT_SOURCES, options.consents ?? true)
  const rng = g.rng
  // A person's records are scattered over a window of about a thousand records: real exports are not
  // grouped by person, and consumers must not be able to lean on adjacency.
  const buf: Array<SyntheticRecord> = []
  let produced = 0
  while (produced < total) {
    g.cluster(total - produced)
    const out = g.out
    for (let i = 0; i < out.length; i++) {
      const x = out[i]!
      if (buf.length < WINDOW) buf.push(x)
      else {
        const j = rng.int(WINDOW)
        yield buf[j]!
        buf[j] = x
      }
    }
    produced += out.length
    out.length = 0
  }
  for (let i = buf.length - 1; i >= 0; i--) {
    const j = rng.int(i + 1)
    yield buf[j]!
    buf[j] = buf[i]!
  }
}

const CHUNK = 1 << 20

const write = (stream: WriteStream, chunk: Uint8Array): Promise<void> | undefined =>
  stream.write(chunk)
    ? undefined
    : new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          stream.off("error", onError)
          resolve()
        }
        const onError = (e: Error) => {
          stream.off("drain", onDrain)
          reject(e)
        }
        stream.once("drain", onDrain)
        stream.once("error", onError)
      })

const close = (stream: WriteStream): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    stream.once("error", reject)
    stream.end(() => resolve())
  })

/** Lines go straight into preallocated buffers: cheaper than growing strings or joining arrays. */
class Chunker {
  private buf = Buffer.allocUnsafe(CHUNK)
  private off = 0
  constructor(private readonly stream: WriteStream) {}
  /** Appends a line; returns a promise only when the stream asks to wait (backpressure). */
  line(s: string): Promise<void> | undefined {
    // UTF-8 takes at most 3 bytes per UTF-16 unit, plus the newline.
    const max = s.length * 3 + 1
    let wait: Promise<void> | undefined
    if (this.off + max > this.buf.length) {
      wait = this.flush()
      if (max > this.buf.length) this.buf = Buffer.allocUnsafe(max)
    }
    this.off += this.buf.write(s, this.off)
    this.buf[this.off++] = 10
    return wait
  }
  flush(): Promise<void> | undefined {
    if (this.off === 0) return undefined
    const full = this.buf.subarray(0, this.off)
    // The stream keeps the written buffer until it is flushed, so each chunk gets a fresh one.
    this.buf = Buffer.allocUnsafe(CHUNK)
    this.off = 0
    return write(this.stream, full)
  }
}

/** Streams records to `out` as NDJSON and, if given, the truth to `truth` as CSV `source,id,entity`; byte-identical per seed. */
export const writeNdjson = async (
  options: SyntheticOptions & { readonly out: string; readonly truth?: string }
): Promise<{ records: number; entities: number }> => {
  const out = createWriteStream(options.out, { encoding: "utf8" })
  const truth =
    options.truth !== undefined ? createWriteStream(options.truth, { encoding: "utf8" }) : undefined
  let failure: Error | undefined
  const fail = (e: Error) => {
    failure ??= e
  }
  out.on("error", fail)
  truth?.on("error", fail)
  let records = 0
  let entities = 0
  const lines = new Chunker(out)
  const csv = truth !== undefined ? new Chunker(truth) : undefined
  const csvNames = new Map<string, string>()
  try {
    await csv?.line("source,id,entity")
    for (const { record, entity } of generate(options)) {
      records++
      const n = Number(entity.slice(1))
      if (n > entities) entities = n
      const w1 = lines.line(JSON.stringify(record))
      if (w1 !== undefined) await w1
      if (csv !== undefined) {
        let name = csvNames.get(record.source)
        if (name === undefined) {
          name = /[",\r\n]/.test(record.source) ? `"${record.source.replace(/"/g, '""')}"` : record.source
          csvNames.set(record.source, name)
        }
        const w2 = csv.line(`${name},${record.id},${entity}`)
        if (w2 !== undefined) await w2
      }
      if (failure !== undefined) throw failure
    }
    await lines.flush()
    await csv?.flush()
  } finally {
    await close(out)
    if (truth !== undefined) await close(truth)
  }
  if (failure !== undefined) throw failure
  return { records, entities }
}
