/**
 * `export`: write the living profiles a store holds and their record assignments, in the formats
 * `resolve` writes. Usable without spawning the command.
 */
import type { Writable } from "node:stream"
import type { ProfileStore, ResolverConfig } from "@living-profile/core"
import * as Output from "./Output.js"
import type { ExportSummary } from "./Summary.js"

/** Options of an `export` run. */
export interface ExportOptions {
  /** The store to read. */
  readonly store: ProfileStore.ProfileStore["Type"]
  /** The resolver config of the profile views (default: the store's). */
  readonly config?: ResolverConfig.ResolverConfig
  /** Where to write the `source,id,profileId` CSV. */
  readonly assignments?: string
  /** Where to write one JSON line per profile. */
  readonly profiles?: string
  /** A stream that receives the profiles NDJSON when no profiles file is given; it is not ended. */
  readonly profilesStream?: Writable
}

/** Writes the store's profiles and assignments and returns what was written. Fails with a CliError or the store's error. */
export const exportStore = async (options: ExportOptions): Promise<ExportSummary> => {
  const started = performance.now()
  Output.checkDistinct(
    [],
    [
      ["--assignments", options.assignments],
      ["--profiles", options.profiles]
    ]
  )
  const sinks: Array<Output.Sink> = []
  try {
    const outputs = await Output.openProfileSinks(options, sinks)
    const written = await Output.writeProfiles(
      options.store.profiles,
      options.config ?? options.store.config,
      outputs
    )
    for (const sink of sinks) await sink.commit()
    return { ...written, seconds: (performance.now() - started) / 1000 }
  } catch (e) {
    for (const sink of sinks) await sink.abort()
    throw e
  }
}
