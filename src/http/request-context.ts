/**
 * A request id on every request (the caller's X-Request-Id when sane), the security headers
 * (security-headers.ts), the CORS headers (cors.ts), and one log line when it ends.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from '../logger';
import { allowCrossOrigin } from './cors';
import { securityHeaders } from './security-headers';
import { UNMATCHED_ROUTE, type RequestMetrics } from './metrics';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(res: Response): string {
  return (res.locals.requestId as string | undefined) ?? 'unknown';
}

/** The route template express answered a request by, set by the route (res.locals.route). */
function expressRoute(res: ServerResponse): string {
  const route = (res as Partial<Response>).locals?.route as unknown;
  return typeof route === 'string' ? route : UNMATCHED_ROUTE;
}

/**
 * Gives the request its id (the X-Request-Id response header) and the security headers, and logs one line when the response
 * is finished. `started` is when the request arrived (process.hrtime.bigint()). Returns the id.
 * With `metrics`, the request is counted too: under `laneRoute` by the hit lane, which knows its
 * route; else by express, under the route it set in `res.locals.route` (see routeTo).
 */
export function trackRequest(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  started = process.hrtime.bigint(),
  metrics?: RequestMetrics,
  laneRoute?: string,
): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  securityHeaders(res);
  allowCrossOrigin(res);
  // Now: a mounted router rewrites req.url while it handles the request.
  const path = (req.url ?? '').split('?', 1)[0];
  res.once('finish', () => {
    const elapsed = process.hrtime.bigint() - started;
    const durationMs = Number(elapsed) / 1e6;
    if (metrics) {
      const seconds = Number(elapsed) / 1e9;
      const method = req.method ?? 'GET';
      if (laneRoute === undefined)
        metrics.observe('full', expressRoute(res), method, res.statusCode, seconds);
      else metrics.observe('hit', laneRoute, method, res.statusCode, seconds);
    }
    const line = {
      reqId: id,
      method: req.method,
      path,
      status: res.statusCode,
      durationMs: Math.round(durationMs * 100) / 100,
    };
    if (res.statusCode >= 500) logger.error(line, 'request failed');
    else logger.info(line, 'request');
  });
  return id;
}

export function requestContext(logger: Logger, metrics?: RequestMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.locals.requestId = trackRequest(logger, req, res, undefined, metrics);
    next();
  };
}

/**
 * Names the route template a request is answered by, for the metrics' `route` label: a handler (or
 * the middleware before it) calls this with a constant, never with the path.
 */
export function routeTo(res: Response, template: string): void {
  res.locals.route = template;
}

/**
 * Names the route template of every request one of `paths` of `router` (mounted at `mount`) takes,
 * before any of the router's own middleware runs: a request refused there (an admin route's 401) is
 * labelled by its route too, not `unmatched`. Call it first, on the new router.
 */
export function labelRoutes(router: Router, mount: string, paths: readonly string[]): void {
  for (const path of paths)
    router.all(path, (_req: Request, res: Response, next: NextFunction) => {
      routeTo(res, mount + path);
      next();
    });
}
