/** The default config on the seeded synthetic customers: the accuracy floor the issue sets (F1 >= 0.97). */
import { ProfileStore, ResolverConfig, SourceRecord } from "@living-profile/core"
import { Accuracy, Synthetic } from "@living-profile/testkit"
import { Effect, Either, Stream } from "effect"
import { expect, it } from "vitest"

const resolveSynthetic = (records: number, seed: number) => {
  const truth = new Map<string, string>()
  const decoded: Array<SourceRecord.SourceRecord> = []
  for (const { record, entity } of Synthetic.generate({ records, seed })) {
    const r = SourceRecord.decode(record)
    if (Either.isLeft(r)) throw new Error(r.left.message)
    decoded.push(r.right)
    truth.set(SourceRecord.recordKey(record), entity)
  }
  const store = ProfileStore.makeMemory(ResolverConfig.defaults)
  Effect.runSync(store.write({ upserts: decoded, events: false }))
  const predicted = new Map<string, string>()
  for (const p of Effect.runSync(Stream.runCollect(store.profiles))) {
    for (const ref of p.records) predicted.set(SourceRecord.recordKey(ref), p.profileId)
  }
  return Accuracy.pairwise(truth, predicted)
}

it("default config reaches F1 >= 0.97 on 50,000 synthetic records, with precision >= 0.995", () => {
  for (const seed of [1, 2]) {
    const a = resolveSynthetic(50_000, seed)
    console.log(
      `synthetic seed ${seed}: ${JSON.stringify({ precision: a.precision, recall: a.recall, f1: a.f1 })}`
    )
    expect(a.f1).toBeGreaterThanOrEqual(0.97)
    expect(a.precision).toBeGreaterThanOrEqual(0.995)
  }
})
