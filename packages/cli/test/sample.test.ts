/**
 * Acceptance of the default config on the bundled samples, through resolveFile: the partition
 * of the records into people must be the intended truth of samplePartition.ts.
 */
import { join } from "node:path"
import { ProfileStore, ResolverConfig } from "@living-profile/core"
import { Chunk, Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { resolveFile } from "../src/index.js"
import { key, normalisePartition, samples } from "./helpers.js"
import { csvPeople, ndjsonPeople } from "./samplePartition.js"

const partitionOf = (store: ProfileStore.ProfileStore["Type"]) =>
  normalisePartition(
    Chunk.toReadonlyArray(Effect.runSync(Stream.runCollect(store.profiles))).map((p) => p.records.map(key))
  )

describe("the bundled samples under the default config", () => {
  it("customers.ndjson resolves into the intended 15 people", async () => {
    const store = ProfileStore.makeMemory(ResolverConfig.defaults)
    const summary = await resolveFile({ input: join(samples, "customers.ndjson"), store })
    expect(summary.read).toBe(36)
    expect(summary.rejects).toBe(0)
    expect(partitionOf(store)).toEqual(normalisePartition(Object.values(ndjsonPeople)))
    expect(summary.profiles).toBe(Object.keys(ndjsonPeople).length)
  })

  it("customers.csv with its mapping resolves into the intended 7 people", async () => {
    const store = ProfileStore.makeMemory(ResolverConfig.defaults)
    const summary = await resolveFile({
      input: join(samples, "customers.csv"),
      mapping: join(samples, "customers.mapping.json"),
      store
    })
    expect(summary.read).toBe(10)
    expect(summary.rejects).toBe(0)
    expect(partitionOf(store)).toEqual(normalisePartition(Object.values(csvPeople)))
  })

  it("the sample mapping reads only the mapped columns (the internal note is not an attribute)", async () => {
    const store = ProfileStore.makeMemory(ResolverConfig.defaults)
    await resolveFile({
      input: join(samples, "customers.csv"),
      mapping: join(samples, "customers.mapping.json"),
      store
    })
    const record = Effect.runSync(store.record({ source: "erp", id: "E-01" }))
    expect(record._tag).toBe("Some")
    if (record._tag === "Some") {
      expect(Object.keys(record.value.attributes ?? {}).sort()).toEqual(
        ["birthDate", "city", "country", "firstName", "lastName", "postcode", "street"].sort()
      )
      expect(record.value.attributes?.["street"]).toBe("Moda Cad. No:12, Kadıköy")
      expect(record.value.identifiers).toEqual({
        email: ["ayse.yilmaz@gmail.com"],
        phone: ["0532 111 22 33"]
      })
      expect(record.value.updatedAt).toBe("2025-03-10T08:00:00Z")
    }
  })
})
