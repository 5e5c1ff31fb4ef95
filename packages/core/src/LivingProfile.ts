/**
 * A thin Promise facade over the Effect API, for code that does not use Effect.
 * The Effect services are the source of truth; this only runs them.
 */
import { Effect, Either, ManagedRuntime, Stream } from "effect"
import * as IdentityResolver from "./IdentityResolver.js"
import type * as ProfileStore from "./ProfileStore.js"
import * as ResolverConfig from "./ResolverConfig.js"
import type { RecordRef, SourceRecord } from "./SourceRecord.js"

/** A resolver on the in-memory store, with Promise methods. */
export class LivingProfile {
  private constructor(
    private readonly runtime: ManagedRuntime.ManagedRuntime<
      IdentityResolver.IdentityResolver | ProfileStore.ProfileStore,
      never
    >
  ) {}

  /** Creates a resolver; the config is any subset of ResolverConfig (throws ConfigError when invalid). */
  static create(config: ResolverConfig.ResolverConfigInput = {}): LivingProfile {
    return new LivingProfile(ManagedRuntime.make(IdentityResolver.layerMemory(ResolverConfig.make(config))))
  }

  private run<A, E>(f: (r: IdentityResolver.IdentityResolver["Type"]) => Effect.Effect<A, E>): Promise<A> {
    return this.runtime.runPromise(Effect.flatMap(IdentityResolver.IdentityResolver, f))
  }

  private runOptional<A, E>(
    f: (r: IdentityResolver.IdentityResolver["Type"]) => Effect.Effect<A, E>
  ): Promise<A | undefined> {
    return this.runtime
      .runPromise(Effect.either(Effect.flatMap(IdentityResolver.IdentityResolver, f)))
      .then((e) => (Either.isRight(e) ? e.right : undefined))
  }

  /** Adds or updates records (already decoded: see SourceRecord.decode). */
  ingest(records: Iterable<SourceRecord>): Promise<ProfileStore.WriteResult> {
    return this.run((r) => r.ingest(records))
  }

  /** Removes records. */
  remove(refs: Iterable<RecordRef>): Promise<ProfileStore.WriteResult> {
    return this.run((r) => r.remove(refs))
  }

  /** A profile by id or alias, or undefined. */
  profile(profileId: string): Promise<IdentityResolver.Profile | undefined> {
    return this.runOptional((r) => r.profile(profileId))
  }

  /** The profile id of a record, or undefined. */
  profileIdOf(ref: RecordRef): Promise<string | undefined> {
    return this.runOptional((r) => r.profileIdOf(ref))
  }

  /** Every profile. */
  profiles(): Promise<Array<IdentityResolver.Profile>> {
    return this.run((r) => Stream.runCollect(r.profiles).pipe(Effect.map((c) => [...c])))
  }

  /** The edges and evidence that hold a profile together. */
  explain(profileId: string): Promise<IdentityResolver.ProfileExplanation> {
    return this.run((r) => r.explain(profileId))
  }

  /** Why two records were or were not merged. */
  explainPair(a: RecordRef, b: RecordRef): Promise<IdentityResolver.PairExplanation> {
    return this.run((r) => r.explainPair(a, b))
  }

  /** Releases the runtime. */
  dispose(): Promise<void> {
    return this.runtime.dispose()
  }
}
