/**
 * Who may use the introspection endpoint (RFC 7662 §2.1: "the endpoint MUST also require some form
 * of authorization", against token scanning): a bearer token of an admin client, or one granted
 * `system/introspect` (SMART token-introspection.html lets the server ask for an appropriately-scoped
 * backend-services token). No token or a bad one is 401, a malformed header 400, a good token
 * without the right 403 (RFC 6750 §3.1).
 */
import { isPrincipal, type AuthProblem, type Principal } from './principal';
import { oauthError, type OAuthError } from './oauth-errors';
import { INTROSPECT_SCOPE } from './scopes';

export function introspectionRefusal(found: Principal | AuthProblem): OAuthError | undefined {
  if (!isPrincipal(found)) {
    if (found.problem === 'malformed') return oauthError('invalid_request', found.reason);
    return oauthError('invalid_token', found.reason);
  }
  if (found.admin || found.scopes.special.has(INTROSPECT_SCOPE)) return undefined;
  return oauthError(
    'insufficient_scope',
    `introspection needs an admin client or the ${INTROSPECT_SCOPE} scope`,
  );
}
