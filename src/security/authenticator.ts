/**
 * Turns `Authorization: Bearer …` into a Principal, for the hit lane and express alike, and mints the
 * tokens the token endpoint hands out. Checking a token the process has seen before costs a map
 * lookup; a new one, one HMAC. The clients' records are kept in memory and re-read whenever their
 * revision moves (polled every `refreshMs`, 2 s by default), so a client disabled by an operator on
 * any process is refused by every process within seconds; if the records could not be re-read for
 * `staleMs` (5 s), requests wait for a fresh read rather than trust old ones.
 */
import type { AuthStore, ClientRecord } from '../storage/auth-store';
import { signAccessToken, verifyAccessToken, type AccessTokenClaims, type TokenSigner } from './access-token';
import type { AuthProblem, Principal } from './principal';
import { grantScopes, parseScopes } from './scopes';

export interface AuthenticatorOptions {
  /** The FHIR base URL: the tokens' audience. */
  audience: string;
  /** The tokens' issuer: the directory's token endpoint URL. */
  issuer: string;
  /** Access token lifetime (ACCESS_TOKEN_TTL_SECONDS). */
  tokenTtlSeconds: number;
  refreshMs?: number;
  staleMs?: number;
  /** Seconds since the epoch (tests move time). */
  now?: () => number;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  scope: string;
}

/** RFC 7662's answer. */
export type Introspection =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      exp: number;
      iat: number;
      aud: string;
      iss: string;
      token_type: 'Bearer';
    };

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;
const MAX_VERIFIED = 10_000;

export class Authenticator {
  private signer: TokenSigner | undefined;
  private clients = new Map<string, ClientRecord>();
  private revision = -1;
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;
  private refreshAgain: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly verified = new Map<string, AccessTokenClaims>();
  private readonly refreshMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: AuthStore,
    private readonly options: AuthenticatorOptions,
  ) {
    this.refreshMs = options.refreshMs ?? 2000;
    this.staleMs = options.staleMs ?? 5000;
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  /** Loads the secret and the clients, then keeps the clients fresh in the background. */
  async start(): Promise<void> {
    this.signer = {
      issuer: this.options.issuer,
      audience: this.options.audience,
      secret: Buffer.from(await this.store.tokenSecret(), 'base64url'),
    };
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, this.refreshMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Re-reads the clients when their revision moved; what was committed before the call is read by
   * the time it resolves. Concurrent callers share one read; a caller arriving while a read is under
   * way (it may have begun before the caller's change) waits for one more read after it, shared with
   * the others that arrive meanwhile. (Joining the read under way let a client registered a moment
   * after the 2 s poll began be "not registered" until the next poll.)
   */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.readClients().finally(() => {
        this.refreshing = undefined;
      });
      return this.refreshing;
    }
    this.refreshAgain ??= this.refreshing
      .catch(() => undefined)
      .then(() => {
        this.refreshAgain = undefined;
        return this.refresh();
      });
    return this.refreshAgain;
  }

  private async readClients(): Promise<void> {
    const revision = await this.store.clientsRevision();
    if (revision !== this.revision) {
      const clients = await this.store.listClients();
      this.clients = new Map(clients.map((c) => [c.clientId, c]));
      this.revision = revision;
    }
    this.refreshedAt = Date.now();
  }

  /** The clients' revision as last read: a decision made from them holds while it is unchanged. */
  get clientsRevision(): number {
    return this.revision;
  }

  /**
   * Whether a decision `authenticate` made for a token expiring at `expiresAt` (epoch seconds), from
   * the clients as read at `revision`, still stands: the clients have not changed since (a client
   * disabled or its scopes narrowed moves the revision), they were read recently enough to be
   * trusted (within `staleMs`: else authenticate waits for a fresh read), and the token has not
   * expired. The hit lane remembers the access guard's decisions under this rule (lane-passes.ts).
   */
  decisionStands(revision: number, expiresAt: number): boolean {
    return (
      revision === this.revision && Date.now() - this.refreshedAt <= this.staleMs && this.now() < expiresAt
    );
  }

  /** The client as last read (undefined: unknown). */
  client(clientId: string): ClientRecord | undefined {
    return this.clients.get(clientId);
  }

  async mint(client: ClientRecord, scope: string): Promise<IssuedToken> {
    const signer = this.requireSigner();
    const { token } = await signAccessToken(
      signer,
      client.clientId,
      scope,
      this.options.tokenTtlSeconds,
      Math.floor(this.now()),
    );
    return { accessToken: token, expiresIn: this.options.tokenTtlSeconds, scope };
  }

  /**
   * The Principal a request's Authorization header stands for, or why there is none. A header that
   * is not one `Bearer <token>` is `malformed`; no header at all is `login`.
   */
  async authenticate(authorization: string | undefined): Promise<Principal | AuthProblem> {
    if (authorization === undefined || authorization === '')
      return { problem: 'login', reason: 'no access token was sent (Authorization: Bearer <token>)' };
    const match = BEARER.exec(authorization);
    if (!match) return { problem: 'malformed', reason: 'the Authorization header is not "Bearer <token>"' };
    const token = match[1] as string;
    if (Date.now() - this.refreshedAt > this.staleMs) await this.refresh();
    const claims = await this.claimsOf(token);
    if ('problem' in claims) return claims;
    return this.principalOf(claims);
  }

  /** RFC 7662: active with its claims, or `{active: false}` and nothing else. */
  async introspect(token: string): Promise<Introspection> {
    if (Date.now() - this.refreshedAt > this.staleMs) await this.refresh();
    const claims = await this.claimsOf(token);
    if ('problem' in claims) return { active: false };
    const principal = this.principalOf(claims);
    if ('problem' in principal) return { active: false };
    const signer = this.requireSigner();
    return {
      active: true,
      scope: claims.scope,
      client_id: claims.clientId,
      sub: claims.clientId,
      exp: claims.expiresAt,
      iat: claims.issuedAt,
      aud: signer.audience,
      iss: signer.issuer,
      token_type: 'Bearer',
    };
  }

  private requireSigner(): TokenSigner {
    if (!this.signer) throw new Error('Authenticator.start() was not called');
    return this.signer;
  }

  private async claimsOf(token: string): Promise<AccessTokenClaims | AuthProblem> {
    const now = this.now();
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAt <= now) return { problem: 'expired', reason: 'the access token has expired' };
      return known;
    }
    const check = await verifyAccessToken(this.requireSigner(), token, Math.floor(now));
    if (!check.ok) return { problem: check.expired ? 'expired' : 'login', reason: check.reason };
    if (this.verified.size >= MAX_VERIFIED) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, check.claims);
    return check.claims;
  }

  private principalOf(claims: AccessTokenClaims): Principal | AuthProblem {
    const client = this.clients.get(claims.clientId);
    if (!client) return { problem: 'login', reason: 'the client the token was issued to is not registered' };
    if (client.disabled)
      return { problem: 'login', reason: 'the client the token was issued to is disabled' };
    // What the token grants, narrowed to what the client may still have (scopes can be taken away).
    const scopes = parseScopes(grantScopes(claims.scope, client.scopes));
    const principal: Principal = {
      clientId: client.clientId,
      clientName: client.name,
      admin: client.admin,
      scopes,
      expiresAt: claims.expiresAt,
    };
    if (client.organization) principal.organization = client.organization;
    return principal;
  }
}
