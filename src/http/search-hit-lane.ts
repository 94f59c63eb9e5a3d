/**
 * A short way through for the commonest requests of all: a type search (or a history page, which
 * sync jobs poll) repeated while nothing was written, answered from the response cache by the first middleware, before request ids, routing,
 * parameter parsing and content negotiation. It answers only what it can answer exactly as the full
 * path would (same key, same body, same headers: X-Request-Id, Content-Type, X-Cache: hit, the same
 * log line); anything else, and any entry that is no longer current, goes on down the application
 * unchanged.
 *
 * What it hands on: every method but GET, any path but `/fhir/{type}` and the `_history` ones, `_pretty`, a `_format` or
 * an `Accept` it does not recognise as plainly JSON (the full path decides those, 406 included).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FhirContext } from '../fhir/context';
import { historyScope } from '../fhir/interactions/history';
import { searchScope } from '../fhir/interactions/search';
import { isLenient } from '../fhir/query-parameters';
import { isDirectoryType } from '../fhir/resource-types';
import { CACHE_HEADER, cacheKey, type CacheScope } from '../fhir/search/cached-answer';
import { canonicalQuery } from '../fhir/search/response-cache';
import type { Logger } from '../logger';
import { JSON_FORMATS } from './content-negotiation';
import { trackRequest } from './request-context';
import { FHIR_JSON } from './send-result';

const PREFIX = '/fhir/';

/** Accept values that plainly allow FHIR JSON; others (q-values, lists) go the full way. */
const PLAIN_ACCEPT: ReadonlySet<string> = new Set([
  '*/*',
  'application/fhir+json',
  'application/json',
  'application/fhir+json; charset=utf-8',
  'application/json; charset=utf-8',
  'application/fhir+json, application/json',
  'application/json, text/plain, */*',
]);

/** The cache key of a request the lane may answer, or undefined. */
function laneKey(ctx: FhirContext, req: IncomingMessage): string | undefined {
  if (req.method !== 'GET') return undefined;
  const url = req.url ?? '';
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  if (!path.startsWith(PREFIX)) return undefined;
  const scope = laneScope(path.slice(PREFIX.length).split('/'));
  if (!scope) return undefined;
  const accept = req.headers.accept;
  if (accept !== undefined && !PLAIN_ACCEPT.has(accept)) return undefined;
  const query = new URL(url, 'http://localhost').searchParams;
  if (query.has('_pretty')) return undefined;
  const format = query.get('_format');
  if (format !== null && !JSON_FORMATS.has(format.split(';', 1)[0]?.trim().toLowerCase() ?? ''))
    return undefined;
  const prefer = req.headers.prefer;
  const headers = { prefer: Array.isArray(prefer) ? prefer.join(', ') : prefer };
  const lenient = isLenient({ method: 'GET', query, headers });
  return cacheKey(ctx, scope(lenient), canonicalQuery(query));
}

/** Type search, and history at every level: the Bundle interactions the cache holds. */
function laneScope(segments: string[]): ((lenient: boolean) => CacheScope) | undefined {
  const [type = '', second, third, ...rest] = segments;
  if (rest.length > 0) return undefined;
  if (type === '_history' && second === undefined) return (lenient) => historyScope({}, lenient);
  if (!isDirectoryType(type)) return undefined;
  if (second === undefined) return (lenient) => searchScope(type, lenient);
  if (second === '_history' && third === undefined) return (lenient) => historyScope({ type }, lenient);
  if (third === '_history') return (lenient) => historyScope({ type, id: second }, lenient);
  return undefined;
}

/** The lane as a middleware (the application's first); undefined without a response cache. */
export function searchHitLane(
  ctx: FhirContext,
  logger: Logger,
): ((req: IncomingMessage, res: ServerResponse, next: () => void) => void) | undefined {
  const cache = ctx.responseCache;
  if (!cache) return undefined;
  return (req, res, next): void => {
    let key: string | undefined;
    try {
      key = laneKey(ctx, req);
    } catch {
      key = undefined; // a malformed URL: the full path says what is wrong with it
    }
    if (key === undefined || !cache.has(key)) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    cache.hit(key).then(
      (body) => {
        if (body === undefined) {
          next();
          return;
        }
        trackRequest(logger, req, res, started);
        res.statusCode = 200;
        res.setHeader('content-type', FHIR_JSON);
        res.setHeader(CACHE_HEADER, 'hit');
        res.end(body);
      },
      // The head could not be read: the full path reports the error as usual.
      () => next(),
    );
  };
}
