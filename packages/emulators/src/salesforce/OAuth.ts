/**
 * The OAuth 2.0 endpoints jsforce calls: `POST /services/oauth2/token` (form-encoded) with the
 * password, client_credentials and refresh_token grants, `POST /services/oauth2/revoke`, and the
 * identity URL `GET /id/{orgId}/{userId}`. OAuth errors are JSON objects
 * `{ error, error_description }` with status 400, which jsforce turns into an Error named after
 * `error`. Token requests do not count against the API request limit.
 */
import { createHmac } from "node:crypto"
import type { Org, User } from "./Org.js"
import type { Sessions } from "./Sessions.js"

/** A response of an OAuth endpoint. */
export interface OAuthResponse {
  readonly status: number
  readonly body: unknown
}

const oauthError = (error: string, description: string): OAuthResponse => ({
  status: 400,
  body: { error, error_description: description }
})

/** The identity URL of a user (its last two segments are the org and user ids, which jsforce reads). */
export const identityUrl = (baseUrl: string, org: Org, user: User): string =>
  `${baseUrl}/id/${org.id}/${user.id}`

const tokenResponse = (
  baseUrl: string,
  org: Org,
  sessions: Sessions,
  user: User,
  grant: string
): OAuthResponse => {
  const session = sessions.issue(user, grant)
  const id = identityUrl(baseUrl, org, user)
  const issuedAt = String(session.issuedAt)
  return {
    status: 200,
    body: {
      access_token: session.token,
      instance_url: baseUrl,
      id,
      token_type: "Bearer",
      issued_at: issuedAt,
      signature: createHmac("sha256", user.clientSecret)
        .update(id + issuedAt)
        .digest("base64"),
      scope: "api"
    }
  }
}

/** Handles `POST /services/oauth2/token` with the form fields of the body. */
export const token = (
  baseUrl: string,
  org: Org,
  sessions: Sessions,
  form: URLSearchParams
): OAuthResponse => {
  const grant = form.get("grant_type")
  const clientId = form.get("client_id")
  const clientSecret = form.get("client_secret")
  const apps = org.users.filter((u) => u.clientId === clientId)
  const checkClient = (secretRequired: boolean): OAuthResponse | undefined => {
    if (clientId === null || apps.length === 0)
      return oauthError("invalid_client_id", "client identifier invalid")
    if ((secretRequired || clientSecret !== null) && !apps.some((u) => u.clientSecret === clientSecret)) {
      return oauthError("invalid_client", "invalid client credentials")
    }
    return undefined
  }
  switch (grant) {
    case "password": {
      const bad = checkClient(true)
      if (bad !== undefined) return bad
      // The connected app is org-wide: any user of the org may log in through it.
      const user = org.users.find(
        (u) => u.username === form.get("username") && u.password === form.get("password")
      )
      if (user === undefined) return oauthError("invalid_grant", "authentication failure")
      return tokenResponse(baseUrl, org, sessions, user, "password")
    }
    case "client_credentials": {
      const bad = checkClient(true)
      if (bad !== undefined) return bad
      // The connected app's "run as" user: the first user configured with this client.
      const user = apps.find((u) => u.clientSecret === clientSecret)
      if (user === undefined) return oauthError("invalid_client", "invalid client credentials")
      return tokenResponse(baseUrl, org, sessions, user, "client_credentials")
    }
    case "refresh_token": {
      const bad = checkClient(false)
      if (bad !== undefined) return bad
      const user = sessions.refreshTokenUser(form.get("refresh_token") ?? "")
      if (user === undefined) return oauthError("invalid_grant", "expired access/refresh token")
      return tokenResponse(baseUrl, org, sessions, user, "refresh_token")
    }
    default:
      return oauthError("unsupported_grant_type", "grant type not supported")
  }
}

/** Handles `POST /services/oauth2/revoke` (token in the form or the query). */
export const revoke = (sessions: Sessions, form: URLSearchParams): OAuthResponse => {
  const t = form.get("token")
  if (t === null || !sessions.revoke(t))
    return oauthError("unsupported_token_type", "this token type is not supported")
  return { status: 200, body: null }
}

/** Handles `GET /id/{orgId}/{userId}`: the identity of the token's user. */
export const identity = (
  baseUrl: string,
  org: Org,
  user: User,
  orgId: string,
  userId: string
): OAuthResponse => {
  if (orgId !== org.id || userId !== user.id) return { status: 403, body: "Bad_Id" }
  return {
    status: 200,
    body: {
      id: identityUrl(baseUrl, org, user),
      asserted_user: true,
      user_id: user.id,
      organization_id: org.id,
      username: user.username,
      nick_name: user.username.split("@")[0],
      display_name: user.username,
      email: user.username,
      active: true,
      user_type: "STANDARD",
      language: "en_US",
      locale: "en_US",
      utcOffset: 0,
      urls: {
        rest: `${baseUrl}/services/data/v{version}/`,
        sobjects: `${baseUrl}/services/data/v{version}/sobjects/`,
        query: `${baseUrl}/services/data/v{version}/query/`
      }
    }
  }
}
