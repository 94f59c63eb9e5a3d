/**
 * The access guard: what src/http decides before a FHIR route's handler runs, for express and the
 * hit lane alike. A bearer token that comes with a request is always checked (a bad one is refused
 * even where none is needed, RFC 6750 §3.1); a route marked `write` or `bundle` (route-table.ts)
 * never reaches its handler without a client, which is then rate-limited (WRITE_RATE_PER_MINUTE, a
 * Bundle counting once); a `read` route needs a token with a read scope only under
 * READ_ACCESS=authenticated. Scopes of writes are checked by each write interaction and each Bundle
 * entry (src/fhir/access-checks.ts); the rules themselves are src/security/access-rules.ts.
 */
import type { Request } from 'express';
import { forbidden, isFhirError, isRefusal, throttled, unauthorized, type FhirError } from '../fhir/errors';
import { tokenEndpointOf, type AccessControl } from '../security/access-control';
import { anonymousMayUse, readRefusal, writeRefusal, type GuardedRoute } from '../security/access-rules';
import { DIRECTORY_WRITTEN_TYPES, isPrincipal, type Principal } from '../security/principal';
import type { FhirContext } from '../fhir/context';

/** The client a sent token stands for; a 401 (400 when malformed) when it stands for none. */
async function authenticate(access: AccessControl | undefined, authorization: string): Promise<Principal> {
  if (!access) throw unauthorized('login', 'this server accepts no access tokens', { tokenSent: true });
  const found = await access.authenticator.authenticate(authorization);
  if (!isPrincipal(found)) throw unauthorized(found.problem, found.reason, { tokenSent: true });
  return found;
}

/**
 * The principal the request goes on with (undefined: none, and none is needed), or a FhirError:
 * 401/400 for a missing or bad token, 403 for a read scope missing under READ_ACCESS=authenticated,
 * 429 for a client over its write rate.
 */
export async function guardRoute(
  ctx: FhirContext,
  route: GuardedRoute,
  authorization: string | undefined,
): Promise<Principal | undefined> {
  const access = ctx.access;
  const readAccess = access?.readAccess ?? 'public';
  if (authorization === undefined || authorization === '') {
    if (anonymousMayUse(route.access, readAccess)) return undefined;
    const what = route.type ? `${route.interaction} on ${route.type}` : route.interaction;
    throw unauthorized(
      'login',
      `${what} needs an access token: send Authorization: Bearer <token>, a token from ${tokenEndpointOf(ctx.baseUrl)}`,
    );
  }
  const principal = await authenticate(access, authorization);
  if (route.access.kind === 'read') {
    if (route.access.typesCheckedByHandler) return principal;
    const type = route.access.allTypes ? '*' : (route.type ?? '*');
    const refused = readRefusal(principal, readAccess, type, route.access.interaction);
    if (refused) throw forbidden(refused.rule, { neededScope: refused.neededScope });
    return principal;
  }
  const decision = access?.writeLimiter.take(principal.clientId);
  if (decision && !decision.allowed) {
    throw throttled(
      `Client ${principal.clientId} has sent more writes than WRITE_RATE_PER_MINUTE allows; retry in ${decision.retryAfterSeconds} s`,
      decision.retryAfterSeconds,
    );
  }
  return principal;
}

const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A write aimed at a type only the directory writes (Provenance, AuditEvent), whether or not the
 * router serves that type: 401 without a valid token, else 403 whatever the scopes. Undefined for
 * any other request.
 */
export async function directoryWrittenRefusal(
  ctx: FhirContext,
  method: string,
  path: string,
  authorization: string | undefined,
): Promise<FhirError | undefined> {
  if (!WRITE_METHODS.has(method)) return undefined;
  const type = path.split('/')[1] ?? '';
  if (!DIRECTORY_WRITTEN_TYPES.has(type)) return undefined;
  try {
    const principal = await guardRoute(
      ctx,
      { access: { kind: 'write', interaction: 'create' }, interaction: 'write', type },
      authorization,
    );
    const refused = principal && writeRefusal(principal, type, 'create');
    return forbidden(refused?.rule ?? `${type} is written by the directory only`);
  } catch (err) {
    if (isFhirError(err)) return err;
    throw err;
  }
}

/**
 * Reports a refused request (401, 403, 429 and a malformed Authorization header's 400) as a
 * security event: who (when known), what, why. Never the token.
 */
export function recordRefusal(
  ctx: FhirContext,
  err: FhirError,
  req: Request,
  principal: Principal | undefined,
  target: string | undefined,
): void {
  if (!ctx.access || !isRefusal(err)) return;
  const first = err.outcome.issue?.[0];
  ctx.access.events.record({
    kind: 'access-refused',
    at: new Date().toISOString(),
    ...(principal ? { clientId: principal.clientId } : {}),
    outcome: first?.code ?? 'forbidden',
    reason: first?.diagnostics ?? err.message,
    method: req.method,
    path: req.originalUrl.split('?', 1)[0],
    ...(req.socket.remoteAddress ? { address: req.socket.remoteAddress } : {}),
    ...(target ? { target } : {}),
  });
}
