/**
 * Plain-text rendering of what the library returns: profiles with provenance, explanations and
 * consent diffs. Explanations are printed field by field from what the resolver returns (types,
 * levels, weights, record keys), so the report shows no value the library did not put there.
 */
import type { ConsentDiff, IdentityResolver, Matcher, SourceRecord } from "@living-profile/core"

/** Where each report line goes. */
export type Out = (line: string) => void

/** A section heading; the test finds sections by their number. */
export const heading = (out: Out, title: string): void => {
  out("")
  out(`== ${title} ==`)
}

export const ref = (r: SourceRecord.RecordRef): string => `${r.source}/${r.id}`

/** An ISO instant without its seconds' fraction, for reading. */
const when = (iso: string): string => iso.replace(/\.\d{3}(?=Z|[+-]\d{2})/, "")

const signed = (n: number): string => (n > 0 ? `+${n}` : String(n))

/** One profile: records, surviving attributes with their source record, effective consent. */
export const profile = (out: Out, p: IdentityResolver.Profile): void => {
  out(`${p.profileId}  ${p.records.length} record(s): ${p.records.map(ref).join(", ")}`)
  const names = Object.keys(p.attributes).sort()
  const width = Math.max(0, ...names.map((n) => n.length))
  for (const name of names) {
    const v = p.attributes[name]!
    const from = `${v.source}/${v.id}${v.updatedAt === undefined ? "" : ` @ ${v.updatedAt.slice(0, 10)}`}`
    out(
      `    ${name.padEnd(width)}  ${String(v.value).padEnd(26)} <- ${from} (${v.policy}, ${v.candidates} of ${p.records.length})`
    )
  }
  const consent = Object.entries(p.consent)
  if (consent.length === 0) out("    consent: none recorded")
  for (const [key, c] of consent) out(`    consent ${key}: ${c.status} (${c.source}, ${when(c.capturedAt)})`)
}

const evidence = (items: ReadonlyArray<Matcher.Evidence>): string =>
  items
    .filter((e) => e.level !== "missing")
    .map((e) => `${e.field} ${e.level} ${signed(e.weight)}`)
    .join(", ")

/** The edges holding a profile together. */
export const explanation = (out: Out, x: IdentityResolver.ProfileExplanation): void => {
  out(`profile ${x.profileId}: ${x.records.length} records held together by ${x.edges.length} edge(s)`)
  for (const e of x.edges) {
    const shared = e.sharedIdentifierTypes.join(" + ")
    const rule =
      e.rule === "identifier"
        ? `identifier rule: shared ${shared}, no conflicting evidence (score ${e.score} alone is below ${e.threshold})`
        : `fuzzy rule: score ${e.score} >= threshold ${e.threshold}${shared === "" ? "" : ` (also sharing ${shared})`}`
    out(`  ${ref(e.a)} -- ${ref(e.b)}: ${rule}`)
    out(`      evidence: ${evidence(e.evidence) || "none beyond the identifier"}`)
  }
}

/** Why two records are, or are not, one person. */
export const pair = (out: Out, x: IdentityResolver.PairExplanation): void => {
  out(
    `${ref(x.a)} and ${ref(x.b)}: ${x.outcome}${x.sameProfile ? "" : ` (profiles ${x.profileA} and ${x.profileB})`}`
  )
  out(`  vetoed: ${x.vetoed}; compared: ${x.candidate}`)
  out(`  reason: ${x.reason}`)
  out(
    `  shared identifier types: ${x.sharedIdentifierTypes.join(", ") || "none"}; ambiguous: ${
      x.ambiguousIdentifierTypes.join(", ") || "none"
    }`
  )
  out(`  evidence (score ${x.score}, threshold ${x.threshold}): ${evidence(x.evidence) || "none"}`)
}

/** A diff for one target, change by change, with the event that asks for it. */
export const diff = (
  out: Out,
  d: ConsentDiff.ConsentDiff,
  names: Readonly<Record<string, string>> = {}
): void => {
  out(`${d.target}: ${d.changes.length} change(s) for ${d.profileId}`)
  for (const c of d.changes) {
    const field = names[c.field] === undefined ? c.field : `${c.field} (${names[c.field]})`
    out(`  ${c.key} -> ${field}: ${c.from ?? "never set"} => ${c.to}`)
    out(
      `      because ${c.because.status} by ${c.because.source} at ${when(c.because.capturedAt)}` +
        `${c.because.policyVersion === undefined ? "" : `, policy ${c.because.policyVersion}`}` +
        ` (event ${c.because.eventId.slice(0, 12)}...)`
    )
  }
}
