/**
 * The FHIR REST routes under /fhir, as data: the router, the 405 answers and the OpenAPI test all
 * read this one table.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { FhirContext } from '../fhir/context';
import { type FhirError, internalError, methodNotAllowed, unknownType } from '../fhir/errors';
import type { FhirRequest, FhirResult } from '../fhir/request';
import { isDirectoryType } from '../fhir/resource-types';
import { history } from '../fhir/interactions/history';
import { read, vread } from '../fhir/interactions/read';
import { search, searchPost, systemSearch } from '../fhir/interactions/search';
import { transactionOrBatch } from '../fhir/interactions/transaction';
import { validateOperation } from '../fhir/interactions/validate';
import {
  conditionalDelete,
  conditionalUpdate,
  create,
  patch,
  remove,
  update,
} from '../fhir/interactions/write-interactions';
import { checkAcceptable, wantsPretty } from './content-negotiation';
import { FHIR_JSON_TYPES, FORM_TYPE, JSON_PATCH_TYPE, readBody } from './read-body';
import { requestId } from './request-context';
import { sendResult } from './send-result';
import type { Logger } from '../logger';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteParams {
  type?: string;
  id?: string;
  vid?: string;
}

export interface FhirRoute {
  method: HttpMethod;
  /** Express path under /fhir. */
  path: string;
  /** The FHIR interaction, as the CapabilityStatement and OpenAPI name it. */
  interaction: string;
  /** Media types the body may have; none means the route takes no body. */
  bodyTypes?: ReadonlySet<string>;
  handle: (ctx: FhirContext, request: FhirRequest, params: RouteParams) => Promise<FhirResult>;
}

const PATCH_TYPES: ReadonlySet<string> = new Set([JSON_PATCH_TYPE]);
const FORM_TYPES: ReadonlySet<string> = new Set([FORM_TYPE]);

const t = (p: RouteParams): string => p.type as string;
const i = (p: RouteParams): string => p.id as string;

/** Order matters where paths overlap: `/:type/_history` before `/:type/:id`. */
export const FHIR_ROUTES: readonly FhirRoute[] = [
  { method: 'get', path: '/_history', interaction: 'history-system', handle: (c, r) => history(c, r, {}) },
  { method: 'get', path: '/', interaction: 'search-system', handle: (c, r) => systemSearch(c, r) },
  {
    method: 'post',
    path: '/',
    interaction: 'transaction',
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r) => transactionOrBatch(c, r),
  },
  {
    method: 'get',
    path: '/:type/_history',
    interaction: 'history-type',
    handle: (c, r, p) => history(c, r, { type: t(p) }),
  },
  { method: 'get', path: '/:type', interaction: 'search-type', handle: (c, r, p) => search(c, r, t(p)) },
  {
    method: 'put',
    path: '/:type',
    interaction: 'conditional-update',
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => conditionalUpdate(c, r, t(p)),
  },
  {
    method: 'delete',
    path: '/:type',
    interaction: 'conditional-delete',
    handle: (c, r, p) => conditionalDelete(c, r, t(p)),
  },
  {
    method: 'post',
    path: '/:type/_search',
    interaction: 'search-type',
    bodyTypes: FORM_TYPES,
    handle: (c, r, p) => searchPost(c, r, t(p)),
  },
  {
    method: 'post',
    path: '/:type/$validate',
    interaction: 'operation-validate',
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => validateOperation(c, r, t(p)),
  },
  {
    method: 'post',
    path: '/:type/:id/$validate',
    interaction: 'operation-validate',
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => validateOperation(c, r, t(p), i(p)),
  },
  {
    method: 'get',
    path: '/:type/:id/$validate',
    interaction: 'operation-validate',
    handle: (c, r, p) => validateOperation(c, r, t(p), i(p)),
  },
  {
    method: 'post',
    path: '/:type',
    interaction: 'create',
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => create(c, r, t(p)),
  },
  {
    method: 'get',
    path: '/:type/:id/_history',
    interaction: 'history-instance',
    handle: (c, r, p) => history(c, r, { type: t(p), id: i(p) }),
  },
  {
    method: 'get',
    path: '/:type/:id/_history/:vid',
    interaction: 'vread',
    handle: (c, _r, p) => vread(c, t(p), i(p), p.vid as string),
  },
  { method: 'get', path: '/:type/:id', interaction: 'read', handle: (c, r, p) => read(c, r, t(p), i(p)) },
  {
    method: 'put',
    path: '/:type/:id',
    interaction: 'update',
    bodyTypes: FHIR_JSON_TYPES,
    handle: (c, r, p) => update(c, r, t(p), i(p)),
  },
  {
    method: 'patch',
    path: '/:type/:id',
    interaction: 'patch',
    bodyTypes: PATCH_TYPES,
    handle: (c, r, p) => patch(c, r, t(p), i(p)),
  },
  {
    method: 'delete',
    path: '/:type/:id',
    interaction: 'delete',
    handle: (c, r, p) => remove(c, r, t(p), i(p)),
  },
];

export interface FhirRouterOptions {
  ctx: FhirContext;
  maxBodyBytes: number;
  /** The public CapabilityStatement, already built. */
  capabilityStatement: () => FhirResult;
  /** Where an error met inside a batch entry is logged (the batch answers that entry 500 and goes on). */
  logger?: Logger;
}

function toFhirRequest(req: Request, res: Response, body: unknown, logger?: Logger): FhirRequest {
  const query = new URL(req.originalUrl, 'http://localhost').searchParams;
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers))
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const reportUnexpected = (err: unknown): FhirError => {
    const id = requestId(res);
    logger?.error({ reqId: id, err, method: req.method, path: req.originalUrl }, 'unexpected error');
    return internalError(id);
  };
  return { method: req.method, query, headers, body, reportUnexpected };
}

export function createFhirRouter(options: FhirRouterOptions): Router {
  const router = Router({ caseSensitive: true, strict: false });

  router.get('/metadata', (req: Request, res: Response) => {
    checkAcceptable(req);
    sendResult(res, options.capabilityStatement(), wantsPretty(req));
  });
  router.all('/metadata', (_req: Request, res: Response) => {
    res.setHeader('allow', 'GET');
    throw methodNotAllowed('metadata only answers GET');
  });

  for (const route of FHIR_ROUTES) {
    router[route.method](route.path, async (req: Request, res: Response, next: NextFunction) => {
      const params = req.params as RouteParams;
      // Not a type (`/_history`, `/Patient`): let the later handlers answer 405 or 404.
      if (params.type !== undefined && !isDirectoryType(params.type)) return next();
      checkAcceptable(req);
      const body = route.bodyTypes ? await readBody(req, options.maxBodyBytes, route.bodyTypes) : undefined;
      const result = await route.handle(
        options.ctx,
        toFhirRequest(req, res, body?.value, options.logger),
        params,
      );
      sendResult(res, result, wantsPretty(req));
    });
  }

  // A known path with a method it does not answer is 405 with Allow (RFC 9110 §15.5.6).
  const methodsByPath = new Map<string, string[]>();
  for (const route of FHIR_ROUTES)
    methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method.toUpperCase()]);
  for (const [path, methods] of methodsByPath) {
    router.all(path, (req: Request, res: Response) => {
      const params = req.params as RouteParams;
      if (params.type !== undefined && !isDirectoryType(params.type)) throw unknownType(params.type);
      res.setHeader('allow', methods.join(', '));
      throw methodNotAllowed(
        `${req.method} is not allowed on ${req.baseUrl}${req.path}; use ${methods.join(', ')}`,
      );
    });
  }
  return router;
}
