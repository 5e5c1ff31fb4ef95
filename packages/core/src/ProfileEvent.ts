/**
 * Typed events of the living profile: what resolution did to profiles and records.
 * Events carry ids only, never personal data, so they can be logged and shipped anywhere.
 */
import { Data } from "effect"
import type { RecordRef } from "./SourceRecord.js"

/** Something that happened to a profile or to a record's place in one. */
export type ProfileEvent = Data.TaggedEnum<{
  /** A new profile, with the record(s) it was created from. */
  ProfileCreated: { readonly profileId: string; readonly records: ReadonlyArray<RecordRef> }
  /** `absorbed` joined `profileId`; the absorbed id stays resolvable as an alias. */
  ProfileMerged: { readonly profileId: string; readonly absorbed: string }
  /** The evidence holding `profileId` together no longer holds: it split into `into` (which includes itself). */
  ProfileSplit: { readonly profileId: string; readonly into: ReadonlyArray<string> }
  /** The last record of a profile went away. */
  ProfileDeleted: { readonly profileId: string }
  /** A record joined a profile. */
  RecordAttached: { readonly profileId: string; readonly record: RecordRef }
  /** A record left a profile (it was removed, or changed so that it no longer matches). */
  RecordDetached: { readonly profileId: string; readonly record: RecordRef }
  /** A match between two records was not merged because the profile would exceed `maxClusterSize`. */
  ClusterCapReached: { readonly records: readonly [RecordRef, RecordRef]; readonly size: number }
}>

/** Constructors and matchers of ProfileEvent. */
export const ProfileEvent = Data.taggedEnum<ProfileEvent>()
