/**
 * The typed configuration of identity resolution: normalisation, blocking, match weights,
 * thresholds, over-merge guards and survivorship. Every field has a default that works on
 * typical customer data; a JSON config file overrides any subset of it.
 */
import { Data, Either, ParseResult, Schema } from "effect"

/** Weights (log2 likelihood ratios, Fellegi-Sunter style) of the levels of one comparison. */
export const LevelWeights = Schema.Struct({
  exact: Schema.Number,
  close: Schema.Number,
  fuzzy: Schema.Number,
  different: Schema.Number
})

/** Weights for an extra attribute comparison declared in the config (for example a national id). */
export const ExtraField = Schema.Struct({
  /** Attribute name in the interchange record. */
  attribute: Schema.String,
  /** `exact`: equal after trimming and case folding; `typo`: equal or one edit apart; `name`: folded name similarity. */
  comparator: Schema.Literal("exact", "typo", "name"),
  weights: LevelWeights,
  /** Also use the value itself as a blocking key. */
  block: Schema.optionalWith(Schema.Boolean, { default: () => false })
})

/** Survivorship policy of one attribute. */
export const SurvivorshipPolicy = Schema.Literal("mostRecent", "sourcePriority", "mostFrequent")

/** Schema of the full configuration, with defaults for every field. */
export const ResolverConfig = Schema.Struct({
  email: Schema.optionalWith(
    Schema.Struct({
      lowercase: Schema.optionalWith(Schema.Boolean, { default: () => true }),
      gmailDots: Schema.optionalWith(Schema.Boolean, { default: () => true }),
      plusTags: Schema.optionalWith(Schema.Union(Schema.Boolean, Schema.Literal("gmail-only")), {
        default: () => true
      }),
      googlemail: Schema.optionalWith(Schema.Boolean, { default: () => true })
    }),
    { default: () => ({ lowercase: true, gmailDots: true, plusTags: true, googlemail: true }) }
  ),
  /** Region for phone numbers written without a country code when the record has no `country`. */
  defaultRegion: Schema.optionalWith(Schema.String, { exact: true }),
  /** Identifier types that link records by themselves when shared (unless vetoed or ambiguous). */
  linkingIdentifiers: Schema.optionalWith(Schema.Union(Schema.Literal("all"), Schema.Array(Schema.String)), {
    default: () => "all" as const
  }),
  /** Attributes that are also identifiers of their own type (a national id, a customer number). */
  identifierAttributes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** An identifier value on more records than this identifies nobody (info@, a shop's phone). */
  maxIdentifierRecords: Schema.optionalWith(Schema.Number, { default: () => 12 }),
  /** A fuzzy blocking key with more records than this produces no candidates. */
  maxBlockSize: Schema.optionalWith(Schema.Number, { default: () => 40 }),
  /** A profile never grows beyond this many records; a merge that would exceed it is refused with a warning. */
  maxClusterSize: Schema.optionalWith(Schema.Number, { default: () => 50 }),
  /** Fuzzy match threshold on the summed weights. */
  threshold: Schema.optionalWith(Schema.Number, { default: () => 17 }),
  weights: Schema.optionalWith(
    Schema.Struct({
      firstName: Schema.optionalWith(LevelWeights, {
        default: () => ({ exact: 6, close: 4.5, fuzzy: 2, different: -8 })
      }),
      lastName: Schema.optionalWith(LevelWeights, {
        default: () => ({ exact: 6, close: 4.5, fuzzy: 2, different: -5 })
      }),
      /** close: day and month swapped; fuzzy: one digit wrong or two swapped. */
      birthDate: Schema.optionalWith(LevelWeights, {
        default: () => ({ exact: 9, close: 6, fuzzy: 5, different: -6 })
      }),
      postcode: Schema.optionalWith(LevelWeights, {
        default: () => ({ exact: 3, close: 0.5, fuzzy: 0.5, different: -1.5 })
      }),
      street: Schema.optionalWith(LevelWeights, {
        default: () => ({ exact: 4, close: 2.5, fuzzy: 1, different: -1.5 })
      }),
      city: Schema.optionalWith(LevelWeights, {
        default: () => ({ exact: 1.5, close: 1, fuzzy: 0, different: -0.5 })
      }),
      /** Weight of a first initial that agrees with a full first name. */
      initial: Schema.optionalWith(Schema.Number, { default: () => 1.5 }),
      /** Weight of first and last name agreeing crosswise (swapped). */
      swappedNames: Schema.optionalWith(Schema.Number, { default: () => 11 }),
      /** Weight of an identifier type (e-mail, phone) both records carry without a shared value. */
      identifierConflict: Schema.optionalWith(Schema.Number, { default: () => -1.5 })
    }),
    {
      default: () => ({
        firstName: { exact: 6, close: 4.5, fuzzy: 2, different: -8 },
        lastName: { exact: 6, close: 4.5, fuzzy: 2, different: -5 },
        birthDate: { exact: 9, close: 6, fuzzy: 5, different: -6 },
        postcode: { exact: 3, close: 0.5, fuzzy: 0.5, different: -1.5 },
        street: { exact: 4, close: 2.5, fuzzy: 1, different: -1.5 },
        city: { exact: 1.5, close: 1, fuzzy: 0, different: -0.5 },
        initial: 1.5,
        swappedNames: 11,
        identifierConflict: -1.5
      })
    }
  ),
  /** Jaro-Winkler similarity at or above which two names are `close`, and `fuzzy`. */
  nameSimilarity: Schema.optionalWith(Schema.Struct({ close: Schema.Number, fuzzy: Schema.Number }), {
    default: () => ({ close: 0.92, fuzzy: 0.85 })
  }),
  extraFields: Schema.optionalWith(Schema.Array(ExtraField), { default: () => [] }),
  survivorship: Schema.optionalWith(
    Schema.Struct({
      default: Schema.optionalWith(SurvivorshipPolicy, { default: () => "mostRecent" as const }),
      attributes: Schema.optionalWith(Schema.Record({ key: Schema.String, value: SurvivorshipPolicy }), {
        default: () => ({})
      }),
      /** Sources in order of trust, most trusted first, for `sourcePriority`. */
      sourcePriority: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
    }),
    { default: () => ({ default: "mostRecent" as const, attributes: {}, sourcePriority: [] }) }
  )
})

/** The resolved configuration (every default filled in). */
export type ResolverConfig = Schema.Schema.Type<typeof ResolverConfig>
/** A configuration as written by a user: any subset of the fields. */
export type ResolverConfigInput = Schema.Schema.Encoded<typeof ResolverConfig>

/** A configuration that does not decode; names the field and what it expects. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly file?: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.file === undefined ? "config" : this.file}: ${this.detail}`
  }
}

const decodeEither = Schema.decodeUnknownEither(ResolverConfig, { onExcessProperty: "error" })

/** Decodes a configuration, filling in defaults; unknown fields are errors (they are usually typos). */
export const decode = (input: unknown, file?: string): Either.Either<ResolverConfig, ConfigError> =>
  Either.mapLeft(
    decodeEither(input ?? {}),
    (e) =>
      new ConfigError({
        ...(file === undefined ? {} : { file }),
        detail: ParseResult.ArrayFormatter.formatErrorSync(e)
          .map((i) => `${i.path.length === 0 ? "(root)" : i.path.join(".")}: ${i.message}`)
          .join("; ")
      })
  )

/** The default configuration. */
export const defaults: ResolverConfig = Either.getOrThrow(decode({}))

/** Builds a configuration from a partial one (throws ConfigError on invalid input; for code, not user files). */
export const make = (input: ResolverConfigInput = {}): ResolverConfig => {
  const r = decode(input)
  if (Either.isLeft(r)) throw r.left
  return r.right
}
