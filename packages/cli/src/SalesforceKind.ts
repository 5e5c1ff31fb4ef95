/**
 * The `salesforce` kind of the sync config: a `@living-profile/salesforce` target. The entry's
 * options are the adapter's non-secret options; the credentials come from the environment through
 * the adapter's own `SalesforceConfig.fromEnv` (see TargetEnv), never from the config file.
 */
import type { ConsentEvent, ConsentTarget } from "@living-profile/core"
import type { SalesforceConfig } from "@living-profile/salesforce"
import { Effect, Either, Schema, Scope } from "effect"
import {
  type AdapterContext,
  type AdapterKind,
  DurationText,
  decodeOptions,
  NonEmpty,
  optional,
  PositiveInt,
  toDuration
} from "./AdapterKind.js"
import { ConfigInvalid, runEffect } from "./ExitCode.js"
import * as TargetEnv from "./TargetEnv.js"

// Loaded when a config names the kind: jsforce is large, and the other commands never need it.
const adapter = () => import("@living-profile/salesforce")

/** The variables `SalesforceConfig.fromEnv` reads (its documented names). */
export const variables = {
  loginUrl: "SALESFORCE_LOGIN_URL",
  clientId: "SALESFORCE_CLIENT_ID",
  clientSecret: "SALESFORCE_CLIENT_SECRET",
  username: "SALESFORCE_USERNAME",
  password: "SALESFORCE_PASSWORD",
  securityToken: "SALESFORCE_SECURITY_TOKEN",
  instanceUrl: "SALESFORCE_INSTANCE_URL",
  apiVersion: "SALESFORCE_API_VERSION"
} as const

// Spelled out: core's type declarations export the Channel type but not its schema.
const Channel: Schema.Schema<ConsentEvent.Channel> = Schema.Literal(
  "email",
  "sms",
  "phone",
  "post",
  "push",
  "web",
  "any"
)
const ContactPointType: Schema.Schema<SalesforceConfig.ContactPointType> = Schema.Literal(
  "Email",
  "MailingAddress",
  "Phone",
  "Social",
  "Web"
)
const Checkbox: Schema.Schema<SalesforceConfig.OptOutCheckbox> = Schema.Literal(
  "HasOptedOutOfEmail",
  "DoNotCall",
  "HasOptedOutOfFax"
)
const Flag: Schema.Schema<SalesforceConfig.IndividualFlag> = Schema.Literal(
  "HasOptedOutTracking",
  "HasOptedOutProcessing",
  "HasOptedOutProfiling",
  "HasOptedOutSolicit",
  "HasOptedOutGeoTracking"
)
const PersonObject: Schema.Schema<SalesforceConfig.PersonObject> = Schema.Literal("Contact", "Lead")
const Erasable: Schema.Schema<SalesforceConfig.ErasableObject> = Schema.Literal(
  "ContactPointTypeConsent",
  "ContactPointEmail",
  "ContactPointPhone",
  "Contact",
  "Lead",
  "Individual"
)
const Fields = Schema.Record({ key: NonEmpty, value: NonEmpty })

/** One key of the consent mapping, as the adapter's `consent` option has it. */
const ConsentKey = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("ContactPointTypeConsent"),
    purpose: NonEmpty,
    channel: Channel,
    dataUsePurpose: NonEmpty,
    contactPointType: ContactPointType,
    checkbox: optional(Checkbox)
  }),
  Schema.Struct({
    kind: Schema.Literal("Individual"),
    purpose: NonEmpty,
    channel: Channel,
    flag: Flag
  })
)

/** The options of a `salesforce` entry: the adapter's, without `name` (the entry's) and `auth` (the environment's). */
export const SalesforceOptions = Schema.Struct({
  /** Where to log in (default: `SALESFORCE_LOGIN_URL`). */
  loginUrl: optional(NonEmpty),
  /** Overrides the token response's instance URL (default: `SALESFORCE_INSTANCE_URL`, else the response's). */
  instanceUrl: optional(NonEmpty),
  /** REST API version (default: `SALESFORCE_API_VERSION`, else the adapter's 60.0). */
  apiVersion: optional(NonEmpty),
  /** The OAuth flow; default: `password` when the username variable is set, else `client-credentials`. */
  flow: optional(Schema.Literal("password", "client-credentials")),
  /** Documented variable name to the variable read instead. */
  env: optional(
    Schema.Struct({
      SALESFORCE_LOGIN_URL: optional(TargetEnv.VariableName),
      SALESFORCE_CLIENT_ID: optional(TargetEnv.VariableName),
      SALESFORCE_CLIENT_SECRET: optional(TargetEnv.VariableName),
      SALESFORCE_USERNAME: optional(TargetEnv.VariableName),
      SALESFORCE_PASSWORD: optional(TargetEnv.VariableName),
      SALESFORCE_SECURITY_TOKEN: optional(TargetEnv.VariableName),
      SALESFORCE_INSTANCE_URL: optional(TargetEnv.VariableName),
      SALESFORCE_API_VERSION: optional(TargetEnv.VariableName)
    })
  ),
  batchSize: optional(PositiveInt),
  maxBatchSize: optional(PositiveInt),
  pageSize: optional(PositiveInt),
  objects: optional(Schema.Array(PersonObject)),
  consent: optional(Schema.Array(ConsentKey)),
  attributes: optional(Schema.Struct({ Contact: optional(Fields), Lead: optional(Fields) })),
  placeholderLastName: optional(NonEmpty),
  createMissingPurposes: optional(Schema.Boolean),
  captureContactPointType: optional(ContactPointType),
  erasure: optional(
    Schema.Struct({
      shouldForget: optional(Schema.Boolean),
      scrubIndividual: optional(Schema.Boolean),
      delete: optional(Schema.Array(Erasable))
    })
  ),
  requestTimeout: optional(DurationText),
  requestRetries: optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative()))
})
/** The options of a `salesforce` entry, decoded. */
export type SalesforceOptions = typeof SalesforceOptions.Type

/** Credentials an entry might try to carry, and where they belong instead. */
const credentials: Readonly<Record<string, string>> = {
  auth: `${variables.clientId}, ${variables.clientSecret} and, for the password flow, ${variables.username} and ${variables.password}`,
  clientId: variables.clientId,
  clientSecret: variables.clientSecret,
  username: variables.username,
  password: variables.password,
  securityToken: variables.securityToken
}

/** Builds a `salesforce` target; its session is revoked when the run's scope closes. */
export const load = async (context: AdapterContext): Promise<ConsentTarget.ConsentTarget> => {
  TargetEnv.refuseCredentials(context, credentials)
  const o = decodeOptions(SalesforceOptions, context)
  const { SalesforceConfig, make } = await adapter()
  const overrides: Partial<Omit<SalesforceConfig.Options, "loginUrl" | "auth">> = {
    name: context.name,
    ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
    ...(o.maxBatchSize === undefined ? {} : { maxBatchSize: o.maxBatchSize }),
    ...(o.pageSize === undefined ? {} : { pageSize: o.pageSize }),
    ...(o.objects === undefined ? {} : { objects: o.objects }),
    ...(o.consent === undefined ? {} : { consent: o.consent }),
    ...(o.attributes === undefined ? {} : { attributes: o.attributes }),
    ...(o.placeholderLastName === undefined ? {} : { placeholderLastName: o.placeholderLastName }),
    ...(o.createMissingPurposes === undefined ? {} : { createMissingPurposes: o.createMissingPurposes }),
    ...(o.captureContactPointType === undefined
      ? {}
      : { captureContactPointType: o.captureContactPointType }),
    ...(o.erasure === undefined ? {} : { erasure: o.erasure }),
    ...(o.requestTimeout === undefined ? {} : { requestTimeout: toDuration(o.requestTimeout) }),
    ...(o.requestRetries === undefined ? {} : { requestRetries: o.requestRetries })
  }
  const passwordFlow = [variables.username, variables.password, variables.securityToken]
  const options = TargetEnv.read(
    SalesforceConfig.fromEnv(overrides),
    {
      variables: Object.values(variables),
      renames: o.env,
      fromFile: {
        [variables.loginUrl]: o.loginUrl,
        [variables.instanceUrl]: o.instanceUrl,
        [variables.apiVersion]: o.apiVersion
      },
      ignore: o.flow === "client-credentials" ? passwordFlow : undefined,
      require: o.flow === "password" ? [variables.username, variables.password] : undefined,
      options: {
        [variables.loginUrl]: "loginUrl",
        [variables.instanceUrl]: "instanceUrl",
        [variables.apiVersion]: "apiVersion"
      }
    },
    context
  )
  // The adapter's own check, so that a bad option is a config error naming it, not a failed cycle.
  const checked = SalesforceConfig.resolve(options)
  if (Either.isLeft(checked))
    throw new ConfigInvalid({ file: context.file, detail: `${context.path}: ${checked.left.detail}` })
  const made = await runEffect(Effect.either(Scope.extend(make(options), context.scope)))
  if (Either.isLeft(made))
    throw new ConfigInvalid({ file: context.file, detail: `${context.path}: ${made.left.detail}` })
  return made.right.target
}

/** The `salesforce` kind. */
export const kind: AdapterKind = {
  description: "Salesforce consent objects (Individual, ContactPointTypeConsent, Contact/Lead opt-outs)",
  load
}
