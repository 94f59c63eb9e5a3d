/**
 * Reads a token request's form (SMART Backend Services, backend-services.html "Request"; RFC 6749
 * §4.4 and RFC 7521 §4.2) into what the token endpoint needs, or the OAuth error it is. Nothing here
 * checks the assertion itself (client-assertion.ts).
 *
 * Decisions: a parameter sent twice is `invalid_request` (RFC 6749 §3.2). A missing or other
 * `client_assertion_type`, a missing `client_assertion`, or a client secret / Basic credentials alone
 * are 401 `invalid_client` (private_key_jwt is the only client authentication); Basic or a
 * `client_secret` together with an assertion is 400 `invalid_request` (RFC 6749 §2.3: one method
 * only). `scope` is required (SMART): missing or empty is 400 `invalid_scope`.
 */
import { oauthError, type OAuthError } from './oauth-errors';

export const CLIENT_CREDENTIALS = 'client_credentials';
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface TokenRequest {
  assertion: string;
  scope: string;
  /** The form's `client_id`, when sent (it must then equal the assertion's iss). */
  clientId?: string;
}

export function readTokenRequest(
  form: URLSearchParams,
  authorization: string | undefined,
): TokenRequest | OAuthError {
  const names = [...form.keys()];
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined)
    return oauthError(
      'invalid_request',
      `the parameter ${JSON.stringify(repeated).slice(0, 60)} is sent more than once`,
    );
  const value = (name: string): string | undefined => {
    const found = form.get(name);
    return found === null || found === '' ? undefined : found;
  };

  const grantType = value('grant_type');
  if (grantType === undefined) return oauthError('invalid_request', 'grant_type is missing');
  if (grantType !== CLIENT_CREDENTIALS)
    return oauthError('unsupported_grant_type', `grant_type must be ${CLIENT_CREDENTIALS}`);

  const assertion = value('client_assertion');
  const otherMethod =
    authorization !== undefined && authorization !== ''
      ? 'an Authorization header'
      : value('client_secret') !== undefined
        ? 'a client_secret'
        : undefined;
  if (otherMethod && assertion !== undefined)
    return oauthError(
      'invalid_request',
      `the request authenticates twice (${otherMethod} and a client_assertion); use the client_assertion only`,
    );
  if (otherMethod)
    return oauthError(
      'invalid_client',
      `${otherMethod} is not accepted; authenticate with a signed client_assertion (private_key_jwt)`,
    );
  if (value('client_assertion_type') !== JWT_BEARER_ASSERTION)
    return oauthError('invalid_client', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
  if (assertion === undefined) return oauthError('invalid_client', 'client_assertion is missing');

  const scope = value('scope')?.trim();
  if (!scope)
    return oauthError(
      'invalid_scope',
      'scope is missing: ask for the scopes you need, e.g. system/Endpoint.cud',
    );
  const clientId = value('client_id');
  return { assertion, scope, ...(clientId !== undefined ? { clientId } : {}) };
}
