/**
 * The intended truth of the bundled samples: which records are one person. This is the
 * acceptance test of the default config; change it only when the truth changes, never to
 * follow the engine.
 */

/** samples/customers.ndjson: 36 records, 15 people. */
export const ndjsonPeople: Record<string, ReadonlyArray<string>> = {
  // Five sources; "AYSE YILMAZ", dotless ı, gmail dots, a +news tag on googlemail.com,
  // and a national-format phone without country code (read with the record's country).
  "Ayşe Yılmaz": ["crm/C-1001", "shop/S-2001", "newsletter/N-3001", "support/T-4001", "app/A-5001"],
  // Çağrı / Cagri, Öztürk / Ozturk; e-mail in another case, phone in national format.
  "Çağrı Öztürk": ["crm/C-1002", "shop/S-2002", "app/A-5002"],
  // The shop record shares no identifier: name, birth date and postcode bring it in.
  "İbrahim Şahin": ["crm/C-1003", "support/T-4003", "shop/S-2003"],
  // "Olivr" (typo) by the same phone written "07823 456789"; "Bennett Oliver" (swapped names)
  // by birth date and postcode; the newsletter by e-mail.
  "Oliver Bennett": ["crm/C-1004", "shop/S-2004", "support/T-4004", "newsletter/N-3004"],
  // Clark / Clarke, day and month of the birth date swapped, postcode without its space.
  "Emily Clarke": ["crm/C-1005", "app/A-5005"],
  // Juergen Mueller / Jürgen Müller, Leopoldstr. / Leopoldstraße, 28.02.1975 / 1975-02-28.
  "Jürgen Müller": ["crm/C-1006", "shop/S-2006", "newsletter/N-3006"],
  // The household: demir.aile@gmail.com is on Mehmet's and Zeynep's records, so it links nobody.
  // The shop's Mehmet joins Mehmet by name and address; Zeynep's app record by her own phone.
  "Mehmet Demir": ["crm/C-1007", "shop/S-2007"],
  "Zeynep Demir": ["crm/C-1008", "app/A-5008"],
  // Only the family e-mail and no name: it cannot be told which of the two it is.
  "Demir family newsletter": ["newsletter/N-3007"],
  // Namesakes: same name, different birth dates and cities. Each has a second record linked by e-mail.
  "Ali Çelik (Ankara, 1982)": ["crm/C-1009", "support/T-4009"],
  "Ali Çelik (Bursa, 1990)": ["shop/S-2009", "app/A-5009"],
  "Elif Aydın": ["newsletter/N-3010", "app/A-5010"],
  // "Tom" at the shop: same phone, same birth date.
  "Thomas Wright": ["crm/C-1011", "shop/S-2011"],
  "Can Arslan": ["support/T-4012"],
  // Hanna / Hannah, same e-mail.
  "Hannah Schmidt": ["shop/S-2013", "support/T-4013"]
}

/** samples/customers.csv read with samples/customers.mapping.json (source "erp"): 10 rows, 7 people. */
export const csvPeople: Record<string, ReadonlyArray<string>> = {
  // Same gmail address, upper case and with a +erp tag.
  "Ayşe Yılmaz": ["erp/E-01", "erp/E-02"],
  // First and last name swapped, same birth date and postcode.
  "Oliver Bennett": ["erp/E-03", "erp/E-04"],
  // One family e-mail and address, two people.
  "Mehmet Demir": ["erp/E-05"],
  "Zeynep Demir": ["erp/E-06"],
  // Namesakes.
  "Ali Çelik (Ankara)": ["erp/E-07"],
  "Ali Çelik (Bursa)": ["erp/E-08"],
  "Jürgen Müller": ["erp/E-09", "erp/E-10"]
}
