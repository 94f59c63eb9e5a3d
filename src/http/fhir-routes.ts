/**
 * The express router for FHIR_ROUTES (route-table.ts) under /fhir: each route's handler, the
 * CapabilityStatement, and the 405 answers for a known path with a method it does not answer.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { FhirContext } from '../fhir/context';
import { type FhirError, internalError, isFhirError, methodNotAllowed, unknownType } from '../fhir/errors';
import type { FhirRequest, FhirResult } from '../fhir/request';
import { decideFormat } from './content-negotiation';
import { readBody } from './read-body';
import { FHIR_MOUNT, fhirRequestOf, routeLabel, routeTakes } from './route-match';
import { FHIR_ROUTES, type FhirRoute, type RouteParams } from './route-table';
import { requestId, routeTo } from './request-context';
import { sendResult, sendStreamed } from './send-result';
import type { Logger } from '../logger';
import type { Principal } from '../security/principal';
import { runAsOwner } from '../storage/statement-owner';
import { arrivalKeyOf } from './arrival-key';
import { directoryWrittenRefusal, guardRoute, recordRefusal } from './access-guard';

export { FHIR_ROUTES, type FhirRoute, type HttpMethod, type RouteParams } from './route-table';

export interface FhirRouterOptions {
  ctx: FhirContext;
  maxBodyBytes: number;
  /** The public CapabilityStatement, already built. */
  capabilityStatement: () => FhirResult;
  /** Where an error met inside a batch entry is logged (the batch answers that entry 500 and goes on). */
  logger?: Logger;
}

/** What the router does with a request it has routed: `metadata` is GET /fhir/metadata. */
export type RouteAnswer = (
  route: FhirRoute | 'metadata',
  params: RouteParams,
  req: Request,
  res: Response,
) => Promise<void> | void;

/**
 * The routing itself, apart from what a route does: the production router and the test that checks
 * the hit lane's matcher against express both build it here.
 */
export function routeFhirRequests(answer: RouteAnswer): Router {
  const router = Router({ caseSensitive: true, strict: false });

  router.get('/metadata', (req: Request, res: Response) => {
    routeTo(res, routeLabel('metadata'));
    return answer('metadata', {}, req, res);
  });
  router.all('/metadata', (_req: Request, res: Response) => {
    routeTo(res, routeLabel('metadata'));
    res.setHeader('allow', 'GET');
    throw methodNotAllowed('metadata only answers GET');
  });

  for (const route of FHIR_ROUTES) {
    router[route.method](route.path, async (req: Request, res: Response, next: NextFunction) => {
      const params = req.params as RouteParams;
      // Not a type (`/_history`, `/Patient`): let the later handlers answer 405 or 404.
      if (!routeTakes(params)) return next();
      routeTo(res, routeLabel(route));
      await answer(route, params, req, res);
    });
  }

  // A known path with a method it does not answer is 405 with Allow (RFC 9110 §15.5.6).
  const methodsByPath = new Map<string, string[]>();
  for (const route of FHIR_ROUTES)
    methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method.toUpperCase()]);
  for (const [path, methods] of methodsByPath) {
    const label = path === '/' ? FHIR_MOUNT : FHIR_MOUNT + path;
    router.all(path, (req: Request, res: Response) => {
      routeTo(res, label);
      const params = req.params as RouteParams;
      if (!routeTakes(params)) throw unknownType(params.type as string);
      res.setHeader('allow', methods.join(', '));
      throw methodNotAllowed(
        `${req.method} is not allowed on ${req.baseUrl}${req.path}; use ${methods.join(', ')}`,
      );
    });
  }
  return router;
}

export function createFhirRouter(options: FhirRouterOptions): Router {
  const { ctx } = options;
  const router = Router({ caseSensitive: true, strict: false });
  // Provenance and AuditEvent are written by the directory only, whether or not a route serves them.
  router.use(async (req: Request, _res: Response, next: NextFunction) => {
    const refused = await directoryWrittenRefusal(ctx, req.method, req.path, req.headers.authorization);
    if (!refused) return next();
    recordRefusal(ctx, refused, req, undefined, req.path.split('/')[1]);
    throw refused;
  });
  router.use(
    routeFhirRequests(async (route, params, req, res) => {
      const request = fhirRequestOf(req.method, req.originalUrl, req.headers);
      const format =
        route !== 'metadata' && route.ndjson
          ? { pretty: false }
          : decideFormat(request.query, req.headers.accept);
      if (route === 'metadata') {
        sendResult(res, options.capabilityStatement(), format.pretty);
        return;
      }
      const target = params.type && params.id ? `${params.type}/${params.id}` : params.type;
      let principal: Principal | undefined;
      try {
        principal = await guardRoute(ctx, { ...route, type: params.type }, req.headers.authorization);
        const known = principal;
        await runAsOwner(
          ownerOf(known, req),
          () => answerRoute(options, route, params, request, req, res, known, format.pretty),
          arrivalKeyOf(req),
        );
      } catch (err) {
        if (isFhirError(err)) recordRefusal(ctx, err, req, principal, target);
        throw err;
      }
    }),
  );
  return router;
}

/**
 * Whose turn the request's statements take on the database (fair-queue.ts): its token's client, else
 * the address it came from.
 */
function ownerOf(principal: Principal | undefined, req: Request): string {
  return principal ? `client ${principal.clientId}` : `address ${req.socket.remoteAddress ?? ''}`;
}

/** Runs the route's interaction for a request the guard let through, and writes its answer. */
async function answerRoute(
  options: FhirRouterOptions,
  route: FhirRoute,
  params: RouteParams,
  request: FhirRequest,
  req: Request,
  res: Response,
  principal: Principal | undefined,
  pretty: boolean,
): Promise<void> {
  const body = route.bodyTypes ? await readBody(req, options.maxBodyBytes, route.bodyTypes) : undefined;
  // The client hanging up before its answer is complete cancels the database work still running.
  const clientGone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) clientGone.abort();
  });
  const result = await route.handle(
    options.ctx,
    {
      ...request,
      ...(principal ? { principal } : {}),
      body: body?.value,
      signal: clientGone.signal,
      reportUnexpected: (err: unknown): FhirError => {
        const id = requestId(res);
        options.logger?.error(
          { reqId: id, err, method: req.method, path: req.originalUrl },
          'unexpected error',
        );
        return internalError(id);
      },
      reportRefused: (err: FhirError): void => recordRefusal(options.ctx, err, req, principal, params.type),
    },
    params,
  );
  if (result.lines) await sendStreamed(res, { ...result, lines: result.lines });
  else sendResult(res, result, pretty);
}
