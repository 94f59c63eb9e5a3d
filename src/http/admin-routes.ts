/**
 * The admin API, `/admin/clients` and `/admin/sources` (read only: the followed sources and their
 * status): operators (admin clients, with a bearer token from /auth/token)
 * register and manage machine-to-machine clients over HTTP with the same rules as the CLI
 * (src/security/client-registration.ts). JSON in and out (application/json); errors are
 * OperationOutcomes like the rest of the API. The API never makes a private key: a client
 * registers its public keys (or their URL) and keeps its private key to itself.
 */
import { Router, type Request, type Response } from 'express';
import type { FhirContext } from '../fhir/context';
import {
  FhirError,
  forbidden,
  invalid,
  invalidResource,
  issue,
  methodNotAllowed,
  notFound,
  unauthorized,
} from '../fhir/errors';
import type { AccessControl } from '../security/access-control';
import { parseClientPatchBody, parseNewClientBody } from '../security/client-request-bodies';
import {
  checkChanges,
  checkRegistration,
  clientView,
  organizationNotice,
  type RegistrationProblem,
} from '../security/client-registration';
import { isPrincipal, type Principal } from '../security/principal';
import { recordRefusal } from './access-guard';
import { readBody } from './read-body';
import { labelRoutes } from './request-context';

export const ADMIN_MOUNT = '/admin';
/** A client registration is a few KB even with ten RSA keys; more is not a registration. */
export const ADMIN_BODY_BYTES = 64 * 1024;
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json']);
const PATCH_TYPES: ReadonlySet<string> = new Set(['application/merge-patch+json', 'application/json']);
/**
 * The admin client a request comes from, or the access guard's refusals (RFC 6750 §3): no token →
 * 401 `Bearer realm`; a bad, revoked or expired one → 401 `error="invalid_token"`; a header that is
 * not `Bearer <token>` → 400 `error="invalid_request"`; a valid token of a client that is not an
 * admin → 403 `error="insufficient_scope"`. Refusals are reported as security events, as the FHIR
 * routes report theirs.
 */
async function requireAdmin(ctx: FhirContext, access: AccessControl, req: Request): Promise<Principal> {
  const authorization = req.headers.authorization;
  const found = await access.authenticator.authenticate(authorization);
  if (isPrincipal(found) && found.admin) return found;
  const refusal = isPrincipal(found)
    ? forbidden(`the admin API is for admin clients only; client ${found.clientId} is not one`, {
        insufficientPrivilege: true,
      })
    : unauthorized(found.problem, found.reason, {
        tokenSent: authorization !== undefined && authorization !== '',
      });
  recordRefusal(ctx, refusal, req, isPrincipal(found) ? found : undefined, undefined);
  throw refusal;
}

/** 400 naming every field that is wrong, each as an issue with the field as its expression. */
function badBody(problems: RegistrationProblem[]): FhirError {
  return invalidResource(
    problems.map((p) =>
      issue(p.message === 'is required' ? 'required' : 'invalid', `${p.field}: ${p.message}`, p.field),
    ),
  );
}

function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(body));
}

async function jsonBody(req: Request, accepted: ReadonlySet<string>): Promise<unknown> {
  const body = await readBody(req, ADMIN_BODY_BYTES, accepted);
  if (body === undefined) throw invalid('A JSON body is required');
  return body.value;
}

export function createAdminRouter(ctx: FhirContext, access: AccessControl): Router {
  const router = Router();
  labelRoutes(router, ADMIN_MOUNT, ['/clients', '/clients/:id']);
  const auth = ctx.store.auth;
  router.use(async (req, res, next) => {
    await requireAdmin(ctx, access, req);
    next();
  });

  router.get('/clients', async (_req, res) => {
    sendJson(res, 200, { clients: (await auth.listClients()).map(clientView) });
  });

  router.post('/clients', async (req, res) => {
    const parsed = parseNewClientBody(await jsonBody(req, JSON_TYPES));
    if (!parsed.ok) throw badBody(parsed.problems);
    const checked = await checkRegistration(parsed.value);
    if (!checked.ok) throw badBody(checked.problems);
    const notice =
      checked.value.organization && (await organizationNotice(ctx.store, checked.value.organization));
    const client = await auth.addClient(checked.value);
    await access.authenticator.refresh();
    res.setHeader('location', `${req.baseUrl}/clients/${encodeURIComponent(client.clientId)}`);
    sendJson(res, 201, { ...clientView(client), ...(notice ? { warnings: [notice] } : {}) });
  });

  router.get('/clients/:id', async (req, res) => {
    const client = await auth.getClient(req.params.id);
    if (!client) throw notFound(`Client ${req.params.id}`);
    sendJson(res, 200, clientView(client));
  });

  router.patch('/clients/:id', async (req, res) => {
    const id = req.params.id;
    const current = await auth.getClient(id);
    if (!current) throw notFound(`Client ${id}`);
    const parsed = parseClientPatchBody(await jsonBody(req, PATCH_TYPES));
    if (!parsed.ok) throw badBody(parsed.problems);
    const checked = await checkChanges(current, parsed.value);
    if (!checked.ok) throw badBody(checked.problems);
    const organization = checked.value.organization;
    const notice = organization !== undefined && (await organizationNotice(ctx.store, organization));
    const updated = await auth.updateClient(id, checked.value);
    if (!updated) throw notFound(`Client ${id}`);
    // This process sees the change now; the others within their next poll of the revision.
    await access.authenticator.refresh();
    sendJson(res, 200, { ...clientView(updated), ...(notice ? { warnings: [notice] } : {}) });
  });

  // The sources the directory follows or imports (src/sync/, the sources registry), with their
  // checkpoint and last status: read only here (SYNC_SOURCES and `fhir-directory sync` register them).
  router.get('/sources', async (_req, res) => {
    sendJson(res, 200, { sources: await ctx.store.sources.list() });
  });

  router.get('/sources/:name', async (req, res) => {
    const source = await ctx.store.sources.get(req.params.name);
    if (!source) throw notFound(`Source ${req.params.name}`);
    sendJson(res, 200, source);
  });

  for (const [path, methods] of [
    ['/clients', 'GET, POST'],
    ['/clients/:id', 'GET, PATCH'],
    ['/sources', 'GET'],
    ['/sources/:name', 'GET'],
  ] as const)
    router.all(path, (req: Request, res: Response) => {
      res.setHeader('allow', methods);
      throw methodNotAllowed(`${req.method} is not allowed on ${req.baseUrl}${req.path}; use ${methods}`);
    });
  return router;
}
