/**
 * The wire shapes of the v4 communication-preferences endpoints, which the SDK has no models for
 * (they go through `apiRequest`). Decoding them makes a changed or broken answer a located
 * `Unknown` error instead of a crash deep in the adapter. Unknown fields are ignored, and strings
 * HubSpot may extend (statuses, categories) stay strings: the mappers decide what they mean.
 */
import { Either, ParseResult, Schema } from "effect"

/** One subscription status of one e-mail (`PublicStatus`). */
export const PublicStatus = Schema.Struct({
  subscriberIdString: Schema.String,
  /** An integer in v4 (a string in v3); either is accepted. */
  subscriptionId: Schema.Union(Schema.Number, Schema.String),
  status: Schema.String,
  timestamp: Schema.optional(Schema.String),
  legalBasis: Schema.optional(Schema.NullOr(Schema.String)),
  setStatusSuccessReason: Schema.optional(Schema.NullOr(Schema.String))
})
/** One subscription status of one e-mail. */
export type PublicStatus = typeof PublicStatus.Type

/** One error item of a batch answer (207). */
export const BatchError = Schema.Struct({
  category: Schema.optional(Schema.String),
  context: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }))
})
/** One error item of a batch answer. */
export type BatchError = typeof BatchError.Type

/** The answer of `POST /communication-preferences/v4/statuses/batch/write`. */
export const BatchWriteResponse = Schema.Struct({
  results: Schema.Array(PublicStatus),
  errors: Schema.optional(Schema.Array(BatchError))
})

/** The answer of `POST /communication-preferences/v4/statuses/batch/read`. */
export const BatchReadResponse = Schema.Struct({
  results: Schema.Array(
    Schema.Struct({ subscriberIdString: Schema.String, statuses: Schema.Array(PublicStatus) })
  ),
  errors: Schema.optional(Schema.Array(BatchError))
})

/** One input of a v4 batch write. */
export interface WriteInput {
  readonly subscriberIdString: string
  readonly channel: "EMAIL"
  readonly subscriptionId: number
  readonly statusState: "SUBSCRIBED" | "UNSUBSCRIBED"
  readonly legalBasis?: string
  readonly legalBasisExplanation?: string
}

/** Decodes an answer; the left side names where it is malformed (paths and expectations, no values). */
export const decode = <A, I>(schema: Schema.Schema<A, I>, body: unknown): Either.Either<A, string> =>
  Either.mapLeft(Schema.decodeUnknownEither(schema, { errors: "first" })(body), (e) => {
    // Only the path: the formatter's message may quote the offending value.
    const path = ParseResult.ArrayFormatter.formatErrorSync(e)[0]?.path ?? []
    return path.length === 0 ? "the body" : `at ${path.map(String).join(".")}`
  })
