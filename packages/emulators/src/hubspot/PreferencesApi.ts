import { batchReply } from "./ContactsApi.js"
import { HttpError, tooManyInputs, validation } from "./Errors.js"
import * as Json from "./Json.js"
import type { Portal } from "./Portal.js"
import { isEmail, normalizeEmail } from "./Properties.js"
import type { Reply, RequestContext, Route } from "./Server.js"
import {
  API_SOURCE,
  type LegalBasis,
  STATUSES,
  type Status,
  type SubscriptionType,
  isLegalBasis,
  toDefinition,
  toV3,
  toV4
} from "./Subscriptions.js"

/** Inputs per v4 batch call (not stated by HubSpot; the CRM batch size is used). */
export const MAX_V4_BATCH_INPUTS = 100

const V3 = "/communication-preferences/v3"
const V4 = "/communication-preferences/v4"
// "/a/{name}" becomes an anchored pattern with a named group per parameter.
const pattern = (template: string): RegExp =>
  new RegExp(`^${template.replace(/\//g, "\\/").replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`)

/** The communication-preferences endpoints: v3 as the SDK calls them, v4 as `apiRequest` reaches them. */
export const routes = (portal: Portal): ReadonlyArray<Route> => {
  const api = new PreferencesApi(portal)
  const route = (method: string, regex: RegExp, handle: (c: RequestContext) => Reply): Route => ({
    method,
    pattern: regex,
    kind: "standard",
    handle
  })
  return [
    route("GET", pattern(`${V3}/definitions`), () => api.v3Definitions()),
    route("GET", pattern(`${V3}/status/email/{email}`), (c) => api.v3Status(c)),
    route("POST", pattern(`${V3}/subscribe`), (c) => api.v3Change(c, "SUBSCRIBED")),
    route("POST", pattern(`${V3}/unsubscribe`), (c) => api.v3Change(c, "UNSUBSCRIBED")),
    route("GET", pattern(`${V4}/definitions`), () => api.v4Definitions()),
    route("POST", pattern(`${V4}/statuses/batch/read`), (c) => api.v4BatchRead(c)),
    route("POST", pattern(`${V4}/statuses/batch/write`), (c) => api.v4BatchWrite(c)),
    route("GET", pattern(`${V4}/statuses/{email}`), (c) => api.v4Status(c)),
    route("POST", pattern(`${V4}/statuses/{email}`), (c) => api.v4Write(c))
  ]
}

/** A v4 write after validation. */
interface V4Write {
  readonly email: string
  readonly type: SubscriptionType
  readonly status: Status
  readonly legalBasis: LegalBasis | undefined
  readonly legalBasisExplanation: string | undefined
}

class PreferencesApi {
  readonly #portal: Portal

  constructor(portal: Portal) {
    this.#portal = portal
  }

  v3Definitions(): Reply {
    return {
      status: 200,
      body: { subscriptionDefinitions: this.#portal.subscriptions.types().map(toDefinition) }
    }
  }

  v3Status(c: RequestContext): Reply {
    const email = this.#email(c.params["email"] ?? "")
    return {
      status: 200,
      body: {
        recipient: email,
        subscriptionStatuses: this.#portal.subscriptions
          .statuses(email)
          .flatMap((record) => this.#withType(record.subscriptionId, (type) => toV3(type, record)))
      }
    }
  }

  v3Change(c: RequestContext, status: "SUBSCRIBED" | "UNSUBSCRIBED"): Reply {
    const body = Json.object(c.body, "body")
    const email = this.#email(Json.string(body["emailAddress"], "emailAddress"))
    const type = this.#type(Json.id(body["subscriptionId"], "subscriptionId"))
    const legalBasis = this.#legalBasis(body["legalBasis"])
    const legalBasisExplanation = Json.optionalString(body["legalBasisExplanation"], "legalBasisExplanation")
    this.#assertWritable(email, status, legalBasis)
    // v3 refuses a change to the status the e-mail already has (seen in public integrations); v4 does not.
    const current = this.#portal.subscriptions.status(email, type.id)?.status
    if (status === "SUBSCRIBED" && current === "SUBSCRIBED") {
      throw validation(`${email} is already subscribed to subscription ${type.id}`)
    }
    if (status === "UNSUBSCRIBED" && current === "UNSUBSCRIBED") {
      throw validation(`${email} is already unsubscribed from subscription ${type.id}`)
    }
    const { record } = this.#portal.setStatus(email, type.id, {
      status,
      legalBasis,
      legalBasisExplanation,
      source: API_SOURCE,
      at: this.#portal.clock.now()
    })
    return { status: 200, body: toV3(type, record) }
  }

  v4Definitions(): Reply {
    const at = this.#portal.clock.iso()
    return {
      status: 200,
      body: {
        status: "COMPLETE",
        results: this.#portal.subscriptions.types().map(toDefinition),
        startedAt: at,
        completedAt: at
      }
    }
  }

  v4Status(c: RequestContext): Reply {
    this.#channel(c.query.get("channel") ?? undefined, "channel")
    const email = this.#email(c.params["email"] ?? "")
    const at = this.#portal.clock.iso()
    return {
      status: 200,
      body: { status: "COMPLETE", results: this.#v4Statuses(email), startedAt: at, completedAt: at }
    }
  }

  v4Write(c: RequestContext): Reply {
    const body = Json.object(c.body, "body")
    const write = this.#v4Input({ ...body, subscriberIdString: c.params["email"] ?? "" }, "body")
    const at = this.#portal.clock.iso()
    return {
      status: 200,
      body: { status: "COMPLETE", results: [this.#applyV4(write)], startedAt: at, completedAt: at }
    }
  }

  v4BatchRead(c: RequestContext): Reply {
    this.#channel(c.query.get("channel") ?? undefined, "channel")
    const inputs = Json.array(Json.object(c.body, "body")["inputs"], "inputs")
    if (inputs.length > MAX_V4_BATCH_INPUTS) throw tooManyInputs(MAX_V4_BATCH_INPUTS)
    const results: Array<unknown> = []
    const invalid: Array<string> = []
    for (const [i, input] of inputs.entries()) {
      const raw = Json.string(input, `inputs[${i}]`)
      const email = normalizeEmail(raw)
      if (!isEmail(email)) invalid.push(raw)
      else results.push({ subscriberIdString: email, statuses: this.#v4Statuses(email) })
    }
    const errors =
      invalid.length === 0
        ? []
        : [
            {
              status: "error",
              category: "VALIDATION_ERROR",
              message: `Invalid email address: ${invalid.join(", ")}`,
              context: { subscriberIdString: invalid },
              errors: []
            }
          ]
    return batchReply(200, results, errors, this.#portal.clock.iso())
  }

  v4BatchWrite(c: RequestContext): Reply {
    const inputs = Json.array(Json.object(c.body, "body")["inputs"], "inputs")
    if (inputs.length > MAX_V4_BATCH_INPUTS) throw tooManyInputs(MAX_V4_BATCH_INPUTS)
    const results: Array<unknown> = []
    const errors: Array<unknown> = []
    for (const [i, input] of inputs.entries()) {
      const object = Json.object(input, `inputs[${i}]`)
      try {
        results.push(this.#applyV4(this.#v4Input(object, `inputs[${i}]`)))
      } catch (error) {
        // One bad input fails alone: it becomes an error item of a 207, the rest are applied.
        if (!(error instanceof HttpError)) throw error
        const message = Json.isObject(error.body) ? error.body["message"] : undefined
        errors.push({
          status: "error",
          category: "VALIDATION_ERROR",
          message: typeof message === "string" ? message : "Invalid input",
          context: {
            subscriberIdString: [String(object["subscriberIdString"] ?? "")],
            subscriptionId: [String(object["subscriptionId"] ?? "")]
          },
          errors: []
        })
      }
    }
    return batchReply(200, results, errors, this.#portal.clock.iso())
  }

  #v4Statuses(email: string): ReadonlyArray<unknown> {
    return this.#portal.subscriptions
      .statuses(email)
      .flatMap((record) => this.#withType(record.subscriptionId, (type) => toV4(email, type, record)))
  }

  #v4Input(object: Json.JsonObject, where: string): V4Write {
    this.#channel(object["channel"], `${where}.channel`)
    const email = this.#email(Json.string(object["subscriberIdString"], `${where}.subscriberIdString`))
    const type = this.#type(Json.id(object["subscriptionId"], `${where}.subscriptionId`))
    const statusText = Json.string(object["statusState"], `${where}.statusState`)
    const status = STATUSES.find((s) => s === statusText)
    if (status === undefined) {
      throw validation(`${where}.statusState must be one of ${STATUSES.join(", ")}, got ${statusText}`)
    }
    const legalBasis = this.#legalBasis(object["legalBasis"])
    this.#assertWritable(email, status, legalBasis)
    return {
      email,
      type,
      status,
      legalBasis,
      legalBasisExplanation: Json.optionalString(
        object["legalBasisExplanation"],
        `${where}.legalBasisExplanation`
      )
    }
  }

  #applyV4(write: V4Write): unknown {
    const { record, reason } = this.#portal.setStatus(write.email, write.type.id, {
      status: write.status,
      legalBasis: write.legalBasis,
      legalBasisExplanation: write.legalBasisExplanation,
      source: API_SOURCE,
      at: this.#portal.clock.now()
    })
    return toV4(write.email, write.type, record, reason)
  }

  #withType<T>(subscriptionId: string, f: (type: SubscriptionType) => T): ReadonlyArray<T> {
    const type = this.#portal.subscriptions.type(subscriptionId)
    return type === undefined ? [] : [f(type)]
  }

  #email(raw: string): string {
    const email = normalizeEmail(raw)
    if (!isEmail(email)) throw validation(`Invalid email address: ${raw}`)
    return email
  }

  #type(id: string): SubscriptionType {
    const type = this.#portal.subscriptions.type(id)
    if (type === undefined || !type.isActive) {
      throw validation(`No active subscription definition exists with id ${id}`)
    }
    return type
  }

  #legalBasis(u: unknown): LegalBasis | undefined {
    const text = Json.optionalString(u, "legalBasis")
    if (text === undefined) return undefined
    if (!isLegalBasis(text)) throw validation(`legalBasis ${text} is not one of the accepted legal bases`)
    return text
  }

  #channel(u: unknown, where: string): void {
    const channel = Json.optionalString(u, where)
    if (channel !== "EMAIL") throw validation(`${where} must be EMAIL, got ${channel ?? "nothing"}`)
  }

  #assertWritable(email: string, status: Status, legalBasis: LegalBasis | undefined): void {
    if (this.#portal.isBlocklisted(email)) {
      throw validation(`Email address ${email} is blocklisted after a GDPR delete and cannot be used`)
    }
    if (this.#portal.gdpr && status === "SUBSCRIBED" && legalBasis === undefined) {
      throw validation("A legal basis is required to subscribe a contact when GDPR features are enabled")
    }
  }
}
