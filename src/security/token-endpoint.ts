/**
 * The token endpoint's work, without HTTP (SMART Backend Services, backend-services.html): rate
 * limit, read the form, verify the client assertion, record its jti (a replay is refused, whichever
 * server process saw the first use), grant the requested scopes the client is allowed, and mint the
 * access token. Every token issued and every request refused is reported as a security event, with
 * the reason and never the assertion.
 */
import type { AuthStore, ClientRecord } from '../storage/auth-store';
import type { AccessControl } from './access-control';
import { CLOCK_SKEW_SECONDS, claimedIssuer, verifyClientAssertion } from './client-assertion';
import type { JwksSource } from './jwks-source';
import { isOAuthError, oauthError, type OAuthError } from './oauth-errors';
import { grantScopes } from './scopes';
import { readTokenRequest } from './token-request';

export interface TokenEndpointDeps {
  access: AccessControl;
  auth: AuthStore;
  jwks: JwksSource;
  /** The token endpoint's URL: the assertions' audience. */
  tokenEndpoint: string;
}

export interface TokenCall {
  form: URLSearchParams;
  authorization: string | undefined;
  /** The caller's address: the rate limit's key when the assertion names no registered client. */
  address: string;
  /** For the security event. */
  path: string;
}

/** RFC 6749 §5.1, SMART backend-services.html "Response". */
export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

/** Looks each client up once per request (the rate limit and the verification both need it). */
function clientLookup(auth: AuthStore): (clientId: string) => Promise<ClientRecord | undefined> {
  const found = new Map<string, Promise<ClientRecord | undefined>>();
  return (clientId) => {
    let pending = found.get(clientId);
    if (!pending) {
      pending = auth.getClient(clientId);
      found.set(clientId, pending);
    }
    return pending;
  };
}

/** Reports a refused token request (with the client it concerns, when known) and returns the error. */
export function tokenRefused(
  access: AccessControl,
  error: OAuthError,
  call: Omit<TokenCall, 'form'>,
  client?: ClientRecord,
): OAuthError {
  access.events.record({
    kind: 'token-refused',
    at: new Date().toISOString(),
    ...(client ? { clientId: client.clientId } : {}),
    outcome: error.error,
    reason: error.description,
    method: 'POST',
    path: call.path,
    address: call.address,
  });
  return error;
}

export async function requestToken(
  deps: TokenEndpointDeps,
  call: TokenCall,
): Promise<TokenResponse | OAuthError> {
  const findClient = clientLookup(deps.auth);
  let concerned: ClientRecord | undefined;
  const refuse = (error: OAuthError): OAuthError => tokenRefused(deps.access, error, call, concerned);

  // Rate limit first: per registered client the assertion claims, else per caller address.
  const claimed = claimedIssuer(call.form.get('client_assertion'));
  concerned = claimed !== undefined ? await findClient(claimed) : undefined;
  const decision = deps.access.tokenLimiter.take(
    concerned ? `client ${concerned.clientId}` : `address ${call.address}`,
  );
  if (!decision.allowed) {
    const error = oauthError(
      'slow_down',
      `too many token requests; retry in ${decision.retryAfterSeconds} s (TOKEN_RATE_PER_MINUTE)`,
    );
    return refuse({ ...error, retryAfterSeconds: decision.retryAfterSeconds });
  }

  const request = readTokenRequest(call.form, call.authorization);
  if (isOAuthError(request)) return refuse(request);
  const check = await verifyClientAssertion(request.assertion, {
    tokenEndpoint: deps.tokenEndpoint,
    findClient,
    jwks: deps.jwks,
    ...(request.clientId !== undefined ? { formClientId: request.clientId } : {}),
  });
  concerned = check.client;
  if (!check.ok) return refuse(oauthError('invalid_client', check.reason));
  // Kept until the assertion could no longer be accepted (exp plus the tolerated skew).
  const fresh = await deps.auth.rememberAssertion(
    check.client.clientId,
    check.jti,
    new Date((check.expiresAt + CLOCK_SKEW_SECONDS) * 1000),
  );
  if (!fresh) return refuse(oauthError('invalid_client', "the assertion's jti was used before (replay)"));

  const granted = grantScopes(request.scope, check.client.scopes);
  if (granted.length === 0)
    return refuse(
      oauthError('invalid_scope', 'none of the requested scopes is one this client may be granted'),
    );
  const issued = await deps.access.authenticator.mint(check.client, granted.join(' '));
  deps.access.events.record({
    kind: 'token-issued',
    at: new Date().toISOString(),
    clientId: check.client.clientId,
    outcome: 'success',
    reason: '',
    method: 'POST',
    path: call.path,
    address: call.address,
  });
  return {
    access_token: issued.accessToken,
    token_type: 'bearer',
    expires_in: issued.expiresIn,
    scope: issued.scope,
  };
}
