/**
 * Salesforce REST error shapes. A failed request answers an HTTP status >= 400 with a JSON array of
 * `{ message, errorCode, fields? }`; inside sObject Collections results the same error is written
 * `{ statusCode, message, fields }` (the key is `statusCode` there).
 */

/** One Salesforce error. */
export interface SfError {
  readonly errorCode: string
  readonly message: string
  readonly fields?: ReadonlyArray<string>
}

/** A request-level failure: the HTTP status and the error array of the body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: ReadonlyArray<SfError>
  ) {
    super(errors.map((e) => `${e.errorCode}: ${e.message}`).join("; "))
  }
}

/** Builds a request-level failure with one error. */
export const apiError = (
  status: number,
  errorCode: string,
  message: string,
  fields?: ReadonlyArray<string>
): ApiError =>
  new ApiError(status, [fields === undefined ? { errorCode, message } : { errorCode, message, fields }])

/** The REST body of an error array: `[{ message, errorCode, fields? }]`. */
export const restBody = (errors: ReadonlyArray<SfError>): ReadonlyArray<Record<string, unknown>> =>
  errors.map((e) =>
    e.fields === undefined
      ? { message: e.message, errorCode: e.errorCode }
      : { message: e.message, errorCode: e.errorCode, fields: e.fields }
  )

/** The per-record form used in sObject Collections results: `{ statusCode, message, fields }`. */
export const collectionError = (e: SfError): Record<string, unknown> => ({
  statusCode: e.errorCode,
  message: e.message,
  fields: e.fields ?? []
})

/** 404 for an unknown resource, object, or record. */
export const notFound = (): ApiError => apiError(404, "NOT_FOUND", "The requested resource does not exist")

/** 400 for a body that is not valid JSON or does not deserialize. */
export const jsonParserError = (message: string): ApiError => apiError(400, "JSON_PARSER_ERROR", message)

/** 401 for a missing, unknown, expired or revoked access token. */
export const invalidSession = (): ApiError =>
  apiError(401, "INVALID_SESSION_ID", "Session expired or invalid")

/** 405 for a known resource asked with a method it does not take. */
export const methodNotAllowed = (method: string, allowed: ReadonlyArray<string>): ApiError =>
  apiError(405, "METHOD_NOT_ALLOWED", `HTTP Method '${method}' not allowed. Allowed are ${allowed.join(",")}`)
