/**
 * Building blocks of the consent target suite: fresh random persons and values, diffs as the sync
 * engine would address them, and comparisons of pulled changes that allow what the contract allows
 * (an unchanged state delivered again) and nothing else.
 */
import { randomUUID } from "node:crypto"
import { ConsentEvent, type ConsentLedger, type ConsentTarget } from "@living-profile/core"

/** A short random token: every test names its own persons, so tests can share a system. */
export const token = (): string => randomUUID().replace(/-/g, "").slice(0, 12)

/** A fresh ASCII e-mail address. */
export const email = (tag: string): string => `kit.${tag}.${token()}@example.test`

/** A fresh e-mail address with Turkish letters and an emoji in the local part (RFC 6531). */
export const unicodeEmail = (): string => `ayşe.yılmaz.ğüşiöç.🎉.${token()}@örnek.example`

/** Names that break naive case folding and byte-length assumptions. */
export const unicodeAttributes: Readonly<Record<string, string>> = {
  firstName: "Ayşe İpek",
  lastName: "Yılmaz-Öztürk 👩🏽‍💻",
  city: "İstanbul"
}

/**
 * A string of exactly `length` UTF-16 code units mixing ASCII, Turkish letters and an emoji,
 * without splitting a surrogate pair (which no storage round-trips faithfully).
 */
export const largeValue = (length: number): string => {
  const unit = "ağ🎉" // 4 code units
  const body = unit.repeat(Math.floor(length / unit.length))
  return body + "x".repeat(length - body.length)
}

/** An instant `k` minutes after a fixed past moment, whole seconds so that any system keeps it. */
export const pastInstant = (k: number): string =>
  new Date(Date.UTC(2021, 2, 4, 5, 6, 7) + k * 60_000).toISOString()

/** The identifiers the kit gives a person it creates: an e-mail, plus one of each other declared type. */
export const identifiersFor = (
  capabilities: ConsentTarget.Capabilities,
  mail: string = email("p")
): Record<string, Array<string>> => {
  const out: Record<string, Array<string>> = { email: [mail] }
  for (const t of capabilities.identifiers) if (out[t] === undefined) out[t] = [`kit-${t}-${token()}`]
  return out
}

/** The key a field is mapped from (`purpose/channel`), for the diffs the kit builds. */
const keyOf = (mapping: ConsentTarget.ConsentTarget["mapping"], field: string): string => {
  for (const k of mapping.keys) if (k.field === field) return `${k.purpose}/${k.channel}`
  return "kit/any"
}

/** A diff addressed to `ref` that sets each field to its status, as the sync engine would send it. */
export const diffOf = (
  target: Pick<ConsentTarget.ConsentTarget, "name" | "mapping">,
  ref: ConsentTarget.PersonRef,
  sets: ReadonlyArray<readonly [field: string, status: ConsentLedger.EffectiveStatus]>,
  options: { readonly policyVersion?: string; readonly targetName?: string } = {}
): ConsentTarget.TargetDiff => ({
  profileId: `kit-profile-${token()}`,
  target: options.targetName ?? target.name,
  ref,
  changes: sets.map(([field, to]) => ({
    key: keyOf(target.mapping, field),
    field,
    from: null,
    to,
    because: {
      status: to,
      capturedAt: new Date().toISOString(),
      source: "conformance-kit",
      eventId: `kit-${token()}`,
      legalBasis: "consent" as const,
      ...(options.policyVersion === undefined ? {} : { policyVersion: options.policyVersion })
    }
  }))
})

/** A pulled change as a comparable key: person, field, status and instant (formats aside). */
export const changeKey = (c: ConsentTarget.PulledChange): string =>
  `${c.externalId}\u001f${c.field}\u001f${c.status}\u001f${ConsentEvent.toMillis(c.modifiedAt)}`

/** The changes of the given persons only: other tests may share the system. */
export const own = (
  changes: ReadonlyArray<ConsentTarget.PulledChange>,
  ids: ReadonlyArray<string>
): Array<ConsentTarget.PulledChange> => {
  const set = new Set(ids)
  return changes.filter((c) => set.has(c.externalId))
}

/** The keys of changes. */
export const keys = (changes: ReadonlyArray<ConsentTarget.PulledChange>): Set<string> =>
  new Set(changes.map(changeKey))

/** The keys in `a` and not in `b`, sorted (for readable failures). */
export const minus = (a: ReadonlySet<string>, b: ReadonlySet<string>): Array<string> =>
  [...a].filter((k) => !b.has(k)).sort()

/** The status a person holds in a field, or undefined. */
export const statusOf = (
  person: { readonly fields: ReadonlyMap<string, ConsentTarget.HeldField> },
  field: string
): ConsentLedger.EffectiveStatus | undefined => person.fields.get(field)?.status
