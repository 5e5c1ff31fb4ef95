/**
 * What the center offers and how it names things: the purposes a customer can switch per channel
 * (each with the explanation the privacy notice gives), the policy version those explanations
 * belong to, the labels of attributes and systems, and where Salesforce and HubSpot hold each key.
 */
import type { ConsentEvent } from "@living-profile/core"
import type { HubSpotConfig } from "@living-profile/hubspot"
import type { SalesforceConfig } from "@living-profile/salesforce"

/**
 * The privacy notice the explanations below come from. Every choice made here records it
 * (`policyVersion` of the consent event), so a later change of wording does not silently
 * reinterpret an old choice.
 */
export const POLICY_VERSION = "2025-06"

/** One switchable channel of a purpose. */
export interface ChannelOffer {
  readonly channel: ConsentEvent.Channel
  readonly label: string
}

/** A purpose as the customer sees it. */
export interface PurposeOffer {
  readonly purpose: string
  readonly title: string
  readonly description: string
  readonly channels: ReadonlyArray<ChannelOffer>
}

/** The purposes and channels the center lets a customer switch, in display order. */
export const purposes: ReadonlyArray<PurposeOffer> = [
  {
    purpose: "marketing",
    title: "Offers and news",
    description:
      "We tell you about new products, sales and events. You choose how we may reach you; switching a channel off stops it within a day.",
    channels: [
      { channel: "email", label: "E-mail" },
      { channel: "sms", label: "Text message (SMS)" },
      { channel: "phone", label: "Phone call" },
      { channel: "post", label: "Letter" },
      { channel: "push", label: "App notification" }
    ]
  },
  {
    purpose: "newsletter",
    title: "Newsletter",
    description: "Our monthly newsletter with articles and tips. It contains no personal offers.",
    channels: [{ channel: "email", label: "E-mail" }]
  },
  {
    purpose: "profiling",
    title: "Personalised offers",
    description:
      "We use what you bought and how you use our app to choose which offers to show you, on every channel.",
    channels: [{ channel: "any", label: "All channels" }]
  },
  {
    purpose: "analytics",
    title: "Usage analytics",
    description:
      "We measure how you use our website and app, to find and fix what does not work. No advertising.",
    channels: [{ channel: "any", label: "Website and app" }]
  }
]

/** Whether the center offers a key; anything else is refused before it reaches the ledger. */
export const isOffered = (purpose: string, channel: string): boolean =>
  purposes.some((p) => p.purpose === purpose && p.channels.some((c) => c.channel === channel))

const channelLabels: Readonly<Record<string, string>> = {
  email: "E-mail",
  sms: "Text message (SMS)",
  phone: "Phone call",
  post: "Letter",
  push: "App notification",
  web: "Website",
  any: "All channels"
}

/** A channel's label. */
export const channelLabel = (channel: string): string => channelLabels[channel] ?? channel

const attributeLabels: Readonly<Record<string, string>> = {
  firstName: "First name",
  lastName: "Last name",
  birthDate: "Date of birth",
  street: "Street",
  postcode: "Postcode",
  city: "City",
  country: "Country"
}

/** An attribute's label. */
export const attributeLabel = (name: string): string => attributeLabels[name] ?? name

const identifierLabels: Readonly<Record<string, string>> = {
  email: "E-mail address",
  phone: "Phone number"
}

/** An identifier type's label. */
export const identifierLabel = (type: string): string => identifierLabels[type] ?? type

const systemLabels: Readonly<Record<string, string>> = {
  crm: "Customer records (CRM)",
  shop: "Online shop",
  newsletter: "Newsletter tool",
  support: "Support desk",
  app: "Mobile app",
  salesforce: "Salesforce",
  hubspot: "HubSpot",
  "preference-center": "You, in this preference center"
}

/** A system's label. */
export const systemLabel = (system: string): string => systemLabels[system] ?? system

/**
 * HubSpot subscription types of the local portal. The emulator's default portal has no newsletter
 * type, so the center starts it with one (1002) in place of "One to One".
 */
export const hubSpotSubscriptionTypes = [
  { id: 1001, name: "Marketing Information", purpose: "Marketing" },
  { id: 1002, name: "Newsletter", purpose: "Marketing" },
  { id: 1003, name: "Customer Service Communication", purpose: "Customer service" }
] as const

/** Our keys held by HubSpot: e-mail subscriptions only (HubSpot has no other channel). */
export const hubSpotSubscriptions: ReadonlyArray<HubSpotConfig.SubscriptionMapping> = [
  { purpose: "marketing", subscriptionId: 1001, name: "Marketing Information" },
  { purpose: "newsletter", subscriptionId: 1002, name: "Newsletter" }
]

/**
 * Our keys held by Salesforce: the adapter's defaults (marketing by e-mail, phone and post,
 * profiling, analytics) plus the newsletter and SMS, each on a DataUsePurpose of its own since
 * Salesforce has no SMS contact point type.
 */
export const salesforceConsent: ReadonlyArray<SalesforceConfig.ConsentKey> = [
  {
    kind: "ContactPointTypeConsent",
    purpose: "marketing",
    channel: "email",
    dataUsePurpose: "Marketing",
    contactPointType: "Email",
    checkbox: "HasOptedOutOfEmail"
  },
  {
    kind: "ContactPointTypeConsent",
    purpose: "marketing",
    channel: "sms",
    dataUsePurpose: "Marketing SMS",
    contactPointType: "Phone"
  },
  {
    kind: "ContactPointTypeConsent",
    purpose: "marketing",
    channel: "phone",
    dataUsePurpose: "Marketing",
    contactPointType: "Phone",
    checkbox: "DoNotCall"
  },
  {
    kind: "ContactPointTypeConsent",
    purpose: "marketing",
    channel: "post",
    dataUsePurpose: "Marketing",
    contactPointType: "MailingAddress"
  },
  {
    kind: "ContactPointTypeConsent",
    purpose: "newsletter",
    channel: "email",
    dataUsePurpose: "Newsletter",
    contactPointType: "Email"
  },
  { kind: "Individual", purpose: "profiling", channel: "any", flag: "HasOptedOutProfiling" },
  { kind: "Individual", purpose: "analytics", channel: "any", flag: "HasOptedOutTracking" }
]
