/**
 * OAuth 2.0's own error dialect for the authorization server (RFC 6749 §5.2, RFC 6750 §3.1): the
 * token and introspection endpoints answer `{"error", "error_description"}`, not OperationOutcomes.
 * Each code carries its status here, once.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'slow_down'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'server_error';

/**
 * `invalid_client` is 401 (SMART: every client authentication failure; Inferno accepts 400 or 401;
 * oidc-provider answers 401). `slow_down` (RFC 8628 §3.5, in IANA's OAuth error registry) is our
 * answer to a token request over TOKEN_RATE_PER_MINUTE, with Retry-After.
 */
const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  slow_down: 429,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
};

export interface OAuthError {
  status: number;
  error: OAuthErrorCode;
  /** For the client and the security event; never contains a token, an assertion or a key. */
  description: string;
  /** Seconds, for Retry-After (429). */
  retryAfterSeconds?: number;
}

export function oauthError(error: OAuthErrorCode, description: string, status = STATUS[error]): OAuthError {
  return { status, error, description };
}

export const isOAuthError = (value: unknown): value is OAuthError =>
  typeof value === 'object' && value !== null && 'error' in value && 'status' in value;

/** The JSON body of an error answer. */
export const oauthErrorBody = (e: OAuthError): { error: OAuthErrorCode; error_description: string } => ({
  error: e.error,
  error_description: e.description,
});
