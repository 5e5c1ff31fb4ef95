import { randomUUID } from "node:crypto"

/** String arrays keyed by name: the shape of `context` in HubSpot error bodies. */
export type ErrorContext = Readonly<Record<string, ReadonlyArray<string>>>

/** One entry of an error body's `errors` list. */
export interface ErrorDetail {
  readonly message: string
  readonly code?: string
  readonly in?: string
  readonly subCategory?: string
  readonly context?: ErrorContext
}

/** HubSpot's standard error body (`Error` in the OpenAPI files). */
export interface ErrorBody {
  readonly status: "error"
  readonly message: string
  readonly correlationId: string
  readonly category: string
  readonly subCategory?: string
  readonly context?: ErrorContext
  readonly links?: Readonly<Record<string, string>>
  readonly errors?: ReadonlyArray<ErrorDetail>
}

/** The optional parts of an error body. */
export interface ErrorExtras {
  readonly subCategory?: string
  readonly context?: ErrorContext
  readonly errors?: ReadonlyArray<ErrorDetail>
}

/** A failure raised inside a handler; the server writes it as the HTTP response. */
export class HttpError extends Error {
  /** The HTTP status to answer with. */
  readonly status: number
  /** The JSON body to answer with. */
  readonly body: unknown
  /** Extra response headers. */
  readonly headers: Readonly<Record<string, string>>

  constructor(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) {
    super(`HTTP ${status}`)
    this.name = "HttpError"
    this.status = status
    this.body = body
    this.headers = headers
  }
}

/** A fresh correlation id, as HubSpot puts in every error body and `x-hubspot-correlation-id`. */
export const correlationId = (): string => randomUUID()

/** Builds a standard error body. */
export const errorBody = (category: string, message: string, extras: ErrorExtras = {}): ErrorBody => ({
  status: "error",
  message,
  correlationId: correlationId(),
  category,
  ...(extras.subCategory === undefined ? {} : { subCategory: extras.subCategory }),
  ...(extras.context === undefined ? {} : { context: extras.context }),
  ...(extras.errors === undefined ? {} : { errors: extras.errors })
})

/** 400 VALIDATION_ERROR. */
export const validation = (message: string, extras?: ErrorExtras): HttpError =>
  new HttpError(400, errorBody("VALIDATION_ERROR", message, extras))

/** 404 OBJECT_NOT_FOUND with the wording HubSpot uses for CRM records. */
export const objectNotFound = (id: string): HttpError =>
  new HttpError(
    404,
    errorBody("OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.", {
      context: { id: [id] }
    })
  )

/** 409 CONFLICT for a contact whose e-mail is already taken. */
export const contactExists = (existingId: string): HttpError =>
  new HttpError(409, errorBody("CONFLICT", `Contact already exists. Existing ID: ${existingId}`))

/** The 401 message HubSpot sends when the bearer token is missing or unknown. */
export const AUTHENTICATION_MESSAGE =
  "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"

/** 401 INVALID_AUTHENTICATION. */
export const unauthorized = (): HttpError =>
  new HttpError(401, errorBody("INVALID_AUTHENTICATION", AUTHENTICATION_MESSAGE))

/** The batch-size error; the 100 cap is from HubSpot's guides, the wording mirrors the documented 50-cap error. */
export const tooManyInputs = (max: number, what = "a batch request"): HttpError =>
  validation(
    `The maximum number of inputs supported in ${what} is ${max}. Please reduce the number of items and try again`
  )

/** The standard body a plain status fault answers with. */
export const faultBody = (status: number): ErrorBody =>
  errorBody(status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST", reasonPhrase(status))

const reasonPhrase = (status: number): string =>
  ({
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    423: "Locked",
    429: "Too Many Requests",
    500: "internal error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout"
  })[status] ?? `HTTP ${status}`
