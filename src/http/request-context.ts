/**
 * A request id on every request (the caller's X-Request-Id when sane), `X-Content-Type-Options:
 * nosniff`, the CORS headers (cors.ts), and one log line when it ends.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger';
import { allowCrossOrigin } from './cors';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(res: Response): string {
  return (res.locals.requestId as string | undefined) ?? 'unknown';
}

/** No content sniffing, on every response: the hit lane, express, errors, the 503 while starting. */
export function noSniff(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
}

/**
 * Gives the request its id (the X-Request-Id response header) and nosniff, and logs one line when the response
 * is finished. `started` is when the request arrived (process.hrtime.bigint()). Returns the id.
 */
export function trackRequest(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  started = process.hrtime.bigint(),
): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  noSniff(res);
  allowCrossOrigin(res);
  // Now: a mounted router rewrites req.url while it handles the request.
  const path = (req.url ?? '').split('?', 1)[0];
  res.once('finish', () => {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
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

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.locals.requestId = trackRequest(logger, req, res);
    next();
  };
}
