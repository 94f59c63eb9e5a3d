/**
 * The authorization server's HTTP surface, mounted at /auth: `POST /auth/token` (SMART Backend
 * Services, client_credentials with a private_key_jwt assertion) and `POST /auth/introspect` (RFC
 * 7662). Both read only `application/x-www-form-urlencoded` bodies of at most TOKEN_BODY_LIMIT bytes,
 * answer in OAuth's JSON error dialect (src/security/oauth-errors.ts), never an OperationOutcome, and
 * mark every answer `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1). The work
 * itself is src/security/token-endpoint.ts.
 */
import { Router, type Request, type Response } from 'express';
import type { FhirContext } from '../fhir/context';
import { isFhirError } from '../fhir/errors';
import type { AccessControl } from '../security/access-control';
import { tokenEndpointOf } from '../security/access-control';
import { introspectionRefusal } from '../security/introspection-access';
import { JwksSource } from '../security/jwks-source';
import { isOAuthError, oauthError, oauthErrorBody, type OAuthError } from '../security/oauth-errors';
import { INTROSPECT_SCOPE } from '../security/scopes';
import { requestToken, tokenRefused } from '../security/token-endpoint';
import { FORM_TYPE, mediaTypeOf, readBody } from './read-body';
import { labelRoutes } from './request-context';

/** Where the router is mounted. */
export const AUTH_MOUNT = '/auth';

/** 64 KB: a token request is a few KB (an RSA-4096 assertion is under 2 KB); more is not one. */
export const TOKEN_BODY_LIMIT = 64 * 1024;
const FORM_TYPES: ReadonlySet<string> = new Set([FORM_TYPE]);
const REALM = 'realm="fhir-directory"';

export interface AuthRouterOptions {
  ctx: FhirContext;
  /** Where client JWKS URLs are fetched and cached (one per application when absent). */
  jwks?: JwksSource;
}

function noStore(res: Response): void {
  res.setHeader('cache-control', 'no-store');
  res.setHeader('pragma', 'no-cache');
}

function sendOAuthError(res: Response, error: OAuthError): void {
  if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
  if (error.status === 413) res.setHeader('connection', 'close');
  res.status(error.status).json(oauthErrorBody(error));
}

/** The form, or why there is none: another media type is 400, an oversized body 413. */
async function readForm(req: Request): Promise<URLSearchParams | OAuthError> {
  const mediaType = mediaTypeOf(req);
  if (mediaType !== undefined && mediaType !== FORM_TYPE)
    return oauthError('invalid_request', `the body must be ${FORM_TYPE}, not ${mediaType.slice(0, 80)}`);
  try {
    const body = await readBody(req, TOKEN_BODY_LIMIT, FORM_TYPES);
    return body ? (body.value as URLSearchParams) : new URLSearchParams();
  } catch (err) {
    if (isFhirError(err) && err.status === 413)
      return oauthError('invalid_request', `the body is larger than ${TOKEN_BODY_LIMIT} bytes`, 413);
    if (isFhirError(err)) return oauthError('invalid_request', err.message);
    throw err;
  }
}

function accessOf(ctx: FhirContext): AccessControl {
  if (!ctx.access) throw new Error('the directory was started without access control');
  return ctx.access;
}

/** RFC 6750 §3: no error code when no token was sent; the error and the scope needed otherwise. */
function bearerChallenge(error: OAuthError, tokenSent: boolean): string {
  if (!tokenSent) return `Bearer ${REALM}`;
  const scope = error.error === 'insufficient_scope' ? `, scope="${INTROSPECT_SCOPE}"` : '';
  return `Bearer ${REALM}, error="${error.error}"${scope}`;
}

function methodNotAllowed(req: Request, res: Response): void {
  noStore(res);
  res.setHeader('allow', 'POST');
  sendOAuthError(res, oauthError('invalid_request', `${req.method} is not allowed here; use POST`, 405));
}

export function createAuthRouter(options: AuthRouterOptions): Router {
  const { ctx } = options;
  const jwks = options.jwks ?? new JwksSource();
  const tokenEndpoint = tokenEndpointOf(ctx.baseUrl);
  const router = Router({ caseSensitive: true });
  labelRoutes(router, AUTH_MOUNT, ['/token', '/introspect']);

  router.post('/token', async (req: Request, res: Response) => {
    noStore(res);
    const access = accessOf(ctx);
    const call = {
      authorization: req.headers.authorization,
      address: req.socket.remoteAddress ?? 'unknown',
      path: '/auth/token',
    };
    const form = await readForm(req);
    if (isOAuthError(form)) {
      sendOAuthError(res, tokenRefused(access, form, call));
      return;
    }
    const answer = await requestToken(
      { access, auth: ctx.store.auth, jwks, tokenEndpoint },
      { ...call, form },
    );
    if (isOAuthError(answer)) sendOAuthError(res, answer);
    else res.status(200).json(answer);
  });
  router.all('/token', methodNotAllowed);

  router.post('/introspect', async (req: Request, res: Response) => {
    noStore(res);
    const authenticator = accessOf(ctx).authenticator;
    const authorization = req.headers.authorization;
    const refusal = introspectionRefusal(await authenticator.authenticate(authorization));
    if (refusal) {
      res.setHeader('www-authenticate', bearerChallenge(refusal, Boolean(authorization)));
      sendOAuthError(res, refusal);
      return;
    }
    const form = await readForm(req);
    if (isOAuthError(form)) {
      sendOAuthError(res, form);
      return;
    }
    const token = form.get('token');
    if (!token) {
      sendOAuthError(res, oauthError('invalid_request', 'token is missing'));
      return;
    }
    res.status(200).json(await authenticator.introspect(token));
  });
  router.all('/introspect', methodNotAllowed);

  return router;
}
