/**
 * CORS (SMART App Launch "CORS"; SECURITY.md A13): every answer may be read by a page from any
 * origin. The directory takes bearer tokens, never cookies, so `*` lends a page nothing it could
 * not send itself. The headers a FHIR client reads (ETag, Location, …) are exposed, and a preflight
 * (`OPTIONS`) under /fhir is answered 204 with the methods and request headers the API takes.
 */
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

const EXPOSED = [
  'ETag',
  'Last-Modified',
  'Location',
  'Content-Location',
  'X-Request-Id',
  'X-Cache',
  'WWW-Authenticate',
  'Retry-After',
].join(', ');

export const PREFLIGHT_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
export const PREFLIGHT_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'If-Match',
  'If-None-Match',
  'If-None-Exist',
  'If-Modified-Since',
  'Prefer',
  'X-Request-Id',
].join(', ');

/** On every response: express's and the hit lane's alike (request-context.ts trackRequest). */
export function allowCrossOrigin(res: ServerResponse): void {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', EXPOSED);
}

/** `OPTIONS` under /fhir: 204 with what a cross-origin request may send (a day's cache). */
export function answerPreflight(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'OPTIONS') {
    next();
    return;
  }
  res.setHeader('access-control-allow-methods', PREFLIGHT_METHODS);
  res.setHeader('access-control-allow-headers', PREFLIGHT_HEADERS);
  res.setHeader('access-control-max-age', '86400');
  res.status(204).end();
}
