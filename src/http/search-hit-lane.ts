/**
 * A short way through for the commonest requests of all: a type search (or a history page, which
 * sync jobs poll) repeated while nothing was written, answered from the response cache before the
 * request reaches express: before request ids, routing, parameter parsing and content negotiation. It answers only what it can answer exactly as the full
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
function laneKey(ctx: FhirContext, keyMemo: KeyMemo, req: IncomingMessage): string | undefined {
  if (req.method !== 'GET') return undefined;
  const url = req.url ?? '';
  if (!url.startsWith(PREFIX)) return undefined;
  const accept = req.headers.accept;
  if (accept !== undefined && !PLAIN_ACCEPT.has(accept)) return undefined;
  const preferHeader = req.headers.prefer;
  const prefer = Array.isArray(preferHeader) ? preferHeader.join(', ') : preferHeader;
  // A client repeats the same URL: the key is worked out once per URL and Prefer (Accept is plain).
  const memoKey = prefer === undefined ? url : `${url}\n${prefer}`;
  const known = keyMemo.get(memoKey);
  if (known !== undefined) return known ?? undefined;
  let key: string | undefined;
  try {
    key = computeKey(ctx, url, prefer);
  } catch {
    key = undefined; // a malformed URL: the full path says what is wrong with it
  }
  if (keyMemo.size >= KEY_MEMO_SIZE) keyMemo.clear();
  keyMemo.set(memoKey, key ?? null);
  return key;
}

/** Keys by URL and Prefer (null: not the lane's), for one context; cleared when full. */
type KeyMemo = Map<string, string | null>;
const KEY_MEMO_SIZE = 10_000;

function computeKey(ctx: FhirContext, url: string, prefer: string | undefined): string | undefined {
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  const scope = laneScope(path.slice(PREFIX.length).split('/'));
  if (!scope) return undefined;
  const query = new URL(url, 'http://localhost').searchParams;
  if (query.has('_pretty')) return undefined;
  const format = query.get('_format');
  if (format !== null && !JSON_FORMATS.has(format.split(';', 1)[0]?.trim().toLowerCase() ?? ''))
    return undefined;
  const lenient = isLenient({ method: 'GET', query, headers: { prefer } });
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

/**
 * The lane in front of `app`: a request listener for the HTTP server that answers current cache
 * hits itself and hands every other request to `app` untouched.
 */
export function withSearchHitLane(
  ctx: FhirContext,
  logger: Logger,
  app: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const keyMemo: KeyMemo = new Map();
  return (req, res): void => {
    const cache = ctx.responseCache;
    const key = cache ? laneKey(ctx, keyMemo, req) : undefined;
    if (!cache || key === undefined || !cache.has(key)) {
      app(req, res);
      return;
    }
    const started = process.hrtime.bigint();
    cache.hit(key).then(
      (chunks) => {
        if (chunks === undefined) {
          app(req, res);
          return;
        }
        trackRequest(logger, req, res, started);
        res.statusCode = 200;
        res.setHeader('content-type', FHIR_JSON);
        res.setHeader(CACHE_HEADER, 'hit');
        res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      },
      // The head could not be read: the full path reports the error as usual.
      () => app(req, res),
    );
  };
}
