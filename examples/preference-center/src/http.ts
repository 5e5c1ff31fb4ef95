/**
 * The HTTP side on node:http: the page, its two static files, and a JSON API whose every route
 * takes the profile from the verified link token (Authorization: Bearer), never from the URL or
 * the body. A request that names another profile anyway is refused with 403.
 *
 * Nothing here logs a request: URLs carry tokens and bodies carry choices. Failures are logged by
 * route and error tag only.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Either, Exit, Schema } from "effect"
import type { CenterView, ErasureView } from "./center.js"
import type { LinkClaims, LinkSigner } from "./links.js"

/** The page and its assets, read once at start. */
export interface Assets {
  readonly page: string
  readonly script: string
  readonly style: string
}

/** How the handler reaches the domain: each call runs one effect on the app's runtime. */
export interface Domain {
  readonly view: (profileId: string) => Promise<Exit.Exit<CenterView, DomainError>>
  readonly choose: (
    profileId: string,
    purpose: string,
    channel: string,
    granted: boolean
  ) => Promise<Exit.Exit<unknown, DomainError>>
  readonly exportProfile: (profileId: string) => Promise<Exit.Exit<unknown, DomainError>>
  readonly erase: (profileId: string) => Promise<Exit.Exit<ErasureView, DomainError>>
}

/** The failures the handler tells apart; anything else is a 500. */
export type DomainError =
  | { readonly _tag: "Erased"; readonly erasure: ErasureView }
  | { readonly _tag: "ProfileNotFound" }
  | { readonly _tag: "NotOffered" }
  | { readonly _tag: string }

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  // The page URL carries the token: never send it on in a Referer.
  "Referrer-Policy": "no-referrer",
  // Personal data: no cache may keep a copy.
  "Cache-Control": "no-store"
}

const MAX_BODY = 4096

const send = (
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  extra: Readonly<Record<string, string>> = {}
) => {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "Content-Type": contentType,
    "Content-Length": String(Buffer.byteLength(body)),
    ...extra
  })
  res.end(body)
}

const json = (
  res: ServerResponse,
  status: number,
  value: unknown,
  extra?: Readonly<Record<string, string>>
) => send(res, status, JSON.stringify(value), "application/json; charset=utf-8", extra)

const htmlPage = (title: string, heading: string, text: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<main class="notice">
<h1>${heading}</h1>
<p>${text}</p>
</main>
</body>
</html>
`

const FORBIDDEN = htmlPage(
  "Link not valid - Privacy preferences",
  "This link is not valid",
  "It may have expired, or it was changed on the way. Links to your privacy preferences work for a limited time. Ask us for a new one in the app or by replying to our last e-mail."
)

const LANDING = htmlPage(
  "Privacy preferences",
  "Privacy preferences",
  "Open your preference center through the personal link we sent you. The link works for a limited time and only for you."
)

const NOT_FOUND = htmlPage(
  "Not found - Privacy preferences",
  "Page not found",
  "There is nothing at this address."
)

/** The bearer token of a request, if it has one. */
const bearer = (req: IncomingMessage): string | undefined => {
  const h = req.headers.authorization
  if (h === undefined) return undefined
  const m = /^Bearer ([A-Za-z0-9._-]+)$/.exec(h)
  return m?.[1]
}

class BadBody extends Error {}

const readBody = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const type = req.headers["content-type"] ?? ""
    // JSON only: a cross-site form cannot send it without a preflight, and the token is a header anyway.
    if (!type.startsWith("application/json")) {
      reject(new BadBody("expected application/json"))
      req.resume()
      return
    }
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        reject(new BadBody("body too large"))
        req.destroy()
      } else chunks.push(c)
    })
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")))
      } catch {
        reject(new BadBody("body is not JSON"))
      }
    })
    req.on("error", reject)
  })

const ConsentRequest = Schema.Struct({
  purpose: Schema.String.pipe(Schema.maxLength(64)),
  channel: Schema.String.pipe(Schema.maxLength(16)),
  granted: Schema.Boolean,
  profileId: Schema.optional(Schema.String)
})

const EraseRequest = Schema.Struct({
  // The page sends this only from its confirmation dialog.
  confirm: Schema.Literal(true),
  profileId: Schema.optional(Schema.String)
})

/** A request for the API, once its token is verified. */
interface Authorized {
  readonly claims: LinkClaims
  readonly url: URL
}

/** The request handler. */
export const makeHandler = (options: {
  readonly signer: LinkSigner
  readonly assets: Assets
  readonly domain: Domain
  readonly now?: () => number
}) => {
  const { signer, assets, domain } = options
  const nowSeconds = () => Math.floor((options.now ?? Date.now)() / 1000)

  const failed = (res: ServerResponse, route: string, exit: Exit.Exit<unknown, DomainError>) => {
    if (Exit.isFailure(exit)) {
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      if (failure?._tag === "Erased" && "erasure" in failure)
        return json(res, 410, { error: "erased", erasure: failure.erasure })
      if (failure?._tag === "ProfileNotFound") return json(res, 404, { error: "not-found" })
      if (failure?._tag === "NotOffered") return json(res, 400, { error: "not-offered" })
      console.error(`${route} failed: ${failure?._tag ?? exit.cause._tag}`)
    }
    return json(res, 500, { error: "internal" })
  }

  /** The verified claims, or the response already sent. */
  const authorize = (req: IncomingMessage, res: ServerResponse, url: URL): Authorized | undefined => {
    const token = bearer(req)
    if (token === undefined) {
      json(res, 401, { error: "no-token" }, { "WWW-Authenticate": "Bearer" })
      return undefined
    }
    const verified = signer.verify(token, nowSeconds())
    if (Either.isLeft(verified)) {
      json(res, 403, { error: "invalid-token" })
      return undefined
    }
    const claims = verified.right
    // Only the token names the profile; a request naming another one is refused outright.
    const asked = url.searchParams.get("profileId")
    if (asked !== null && asked !== claims.profileId) {
      json(res, 403, { error: "other-profile" })
      return undefined
    }
    return { claims, url }
  }

  const otherProfile = (claims: LinkClaims, body: { readonly profileId?: string | undefined }) =>
    body.profileId !== undefined && body.profileId !== claims.profileId

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL, route: string) => {
    const auth = authorize(req, res, url)
    if (auth === undefined) return
    const profileId = auth.claims.profileId
    if (route === "GET /api/profile") {
      const exit = await domain.view(profileId)
      return Exit.isSuccess(exit) ? json(res, 200, exit.value) : failed(res, route, exit)
    }
    if (route === "GET /api/export") {
      const exit = await domain.exportProfile(profileId)
      return Exit.isSuccess(exit)
        ? send(res, 200, JSON.stringify(exit.value, null, 2), "application/json; charset=utf-8", {
            "Content-Disposition": `attachment; filename="my-data-${profileId.replace(/[^A-Za-z0-9_-]/g, "")}.json"`
          })
        : failed(res, route, exit)
    }
    if (route === "POST /api/consent" || route === "POST /api/erase") {
      let raw: unknown
      try {
        raw = await readBody(req)
      } catch (e) {
        return json(res, e instanceof BadBody ? 400 : 500, { error: "bad-body" })
      }
      if (route === "POST /api/consent") {
        const body = Schema.decodeUnknownEither(ConsentRequest)(raw)
        if (Either.isLeft(body)) return json(res, 400, { error: "bad-body" })
        if (otherProfile(auth.claims, body.right)) return json(res, 403, { error: "other-profile" })
        const exit = await domain.choose(
          profileId,
          body.right.purpose,
          body.right.channel,
          body.right.granted
        )
        if (Exit.isFailure(exit)) return failed(res, route, exit)
        const after = await domain.view(profileId)
        return Exit.isSuccess(after) ? json(res, 200, after.value) : failed(res, route, after)
      }
      const body = Schema.decodeUnknownEither(EraseRequest)(raw)
      if (Either.isLeft(body)) return json(res, 400, { error: "confirmation-required" })
      if (otherProfile(auth.claims, body.right)) return json(res, 403, { error: "other-profile" })
      const exit = await domain.erase(profileId)
      return Exit.isSuccess(exit) ? json(res, 200, { erasure: exit.value }) : failed(res, route, exit)
    }
    return json(res, 404, { error: "no-such-route" })
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://localhost")
    const route = `${req.method ?? "GET"} ${url.pathname}`
    const done = (p: Promise<void> | void) =>
      Promise.resolve(p).catch((e: unknown) => {
        console.error(`${route} failed: ${e instanceof Error ? e.name : "unknown"}`)
        if (!res.headersSent) json(res, 500, { error: "internal" })
        else res.destroy()
      })
    switch (route) {
      case "GET /":
        return void send(res, 200, LANDING, "text/html; charset=utf-8")
      case "GET /center": {
        const token = url.searchParams.get("t") ?? ""
        const ok = Either.isRight(signer.verify(token, nowSeconds()))
        return void (ok
          ? send(res, 200, assets.page, "text/html; charset=utf-8")
          : send(res, 403, FORBIDDEN, "text/html; charset=utf-8"))
      }
      case "GET /static/app.js":
        return void send(res, 200, assets.script, "text/javascript; charset=utf-8")
      case "GET /static/style.css":
        return void send(res, 200, assets.style, "text/css; charset=utf-8")
      default:
        if (url.pathname.startsWith("/api/")) return void done(api(req, res, url, route))
        return void send(res, 404, NOT_FOUND, "text/html; charset=utf-8")
    }
  }
}
