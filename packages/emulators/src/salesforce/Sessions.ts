/**
 * Access and refresh tokens. An access token expires after `ttlSeconds` without use (Salesforce's
 * session timeout counts inactivity; each API call extends it), measured on the emulator clock.
 * Refresh tokens do not expire (the connected-app default "valid until revoked").
 */
import { randomBytes } from "node:crypto"
import type { Clock } from "./Clock.js"
import type { User } from "./Org.js"

/** An access token and whose it is. */
export interface Session {
  readonly token: string
  readonly user: User
  readonly grant: string
  readonly issuedAt: number
  lastUsedAt: number
}

/** The tokens the emulator has issued. */
export class Sessions {
  private readonly byToken = new Map<string, Session>()
  private readonly refreshTokens = new Map<string, User>()

  constructor(
    private readonly orgId: string,
    private readonly clock: Clock,
    /** Inactivity timeout of access tokens, in seconds. */
    public ttlSeconds: number
  ) {}

  private mint(): string {
    // The org id and "!" prefix mimic real tokens; the rest is opaque.
    return `${this.orgId.slice(0, 15)}!AQ${randomBytes(42).toString("base64url")}`
  }

  /** Issues a new access token for the user. */
  issue(user: User, grant: string): Session {
    this.sweep()
    const now = this.clock.now()
    const session: Session = { token: this.mint(), user, grant, issuedAt: now, lastUsedAt: now }
    this.byToken.set(session.token, session)
    return session
  }

  /** Issues a refresh token for the user (as the authorization-code flow would). */
  issueRefreshToken(user: User): string {
    const token = `5Aep${randomBytes(60).toString("base64url")}`
    this.refreshTokens.set(token, user)
    return token
  }

  /** The user of a refresh token, if it is known and not revoked. */
  refreshTokenUser(token: string): User | undefined {
    return this.refreshTokens.get(token)
  }

  /** The live session of an access token, extended by this use; undefined when unknown or expired. */
  authenticate(token: string): Session | undefined {
    const session = this.byToken.get(token)
    if (session === undefined) return undefined
    const now = this.clock.now()
    if (now - session.lastUsedAt >= this.ttlSeconds * 1000) {
      this.byToken.delete(token)
      return undefined
    }
    session.lastUsedAt = Math.max(session.lastUsedAt, now)
    return session
  }

  /** Revokes an access or refresh token; returns whether it was known. */
  revoke(token: string): boolean {
    return this.byToken.delete(token) || this.refreshTokens.delete(token)
  }

  /** Expires every access token (refresh tokens stay valid): the next call of every client gets 401. */
  expireAll(): void {
    this.byToken.clear()
  }

  /** How many access tokens are live. */
  count(): number {
    this.sweep()
    return this.byToken.size
  }

  private sweep(): void {
    const now = this.clock.now()
    for (const [token, s] of this.byToken)
      if (now - s.lastUsedAt >= this.ttlSeconds * 1000) this.byToken.delete(token)
  }
}
