/** Diffs as the sync engine addresses them, for the adapter's own tests. */
import type { ConsentEvent, ConsentLedger, ConsentTarget } from "@living-profile/core"

let n = 0

/** A diff for `ref` that sets each field, because of an event with `legalBasis` (default consent). */
export const diffOf = (
  target: Pick<ConsentTarget.ConsentTarget, "name" | "mapping">,
  ref: ConsentTarget.PersonRef,
  sets: ReadonlyArray<readonly [field: string, status: ConsentLedger.EffectiveStatus]>,
  because: { readonly legalBasis?: ConsentEvent.LegalBasis; readonly policyVersion?: string } = {}
): ConsentTarget.TargetDiff => ({
  profileId: `profile-${++n}`,
  target: target.name,
  ref,
  changes: sets.map(([field, to]) => {
    const key = target.mapping.keys.find((k) => k.field === field)
    return {
      key: key === undefined ? "unknown/email" : `${key.purpose}/${key.channel}`,
      field,
      from: null,
      to,
      because: {
        status: to,
        capturedAt: "2026-03-01T12:00:00.000Z",
        source: "test",
        eventId: `event-${n}`,
        legalBasis: because.legalBasis ?? "consent",
        ...(because.policyVersion === undefined ? {} : { policyVersion: because.policyVersion })
      }
    }
  })
})

/** Requests in the emulator's log to a path ending with `suffix`. */
export const callsTo = (
  log: ReadonlyArray<{ readonly path: string; readonly status: number }>,
  suffix: string
): Array<{ readonly path: string; readonly status: number }> => log.filter((e) => e.path.endsWith(suffix))
