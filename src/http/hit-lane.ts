/**
 * A short way through for the commonest requests of all: a read by id, a type search, a history
 * page (which sync jobs poll), repeated while nothing they read was written, answered from the
 * response cache before the request reaches express: before routing, parameter parsing and content
 * negotiation. It decides nothing itself: the route comes from route-match.ts (the router's own
 * matcher), the FhirRequest, format and leniency from the functions the router uses, and the key
 * from the route's LaneSpec, the scope function its interaction stores its answer under. So it
 * answers only what the full path would answer, the same way (same body; same headers: the ETag,
 * a read's Last-Modified, Cache-Control and Vary, X-Request-Id, Content-Type, X-Cache: hit, the
 * security headers; If-None-Match → 304 by the full path's rule, revalidation.ts; the same log
 * line); anything else (a miss, an entry that is no longer current, any method but GET, `_pretty`,
 * a format the router would refuse) goes on down the application unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FhirContext } from '../fhir/context';
import { notModified } from '../fhir/revalidation';
import { isLenient } from '../fhir/query-parameters';
import { header } from '../fhir/request';
import { CACHE_HEADER, cacheKey } from '../fhir/search/cached-answer';
import {
  canonicalQuery,
  type CachedBytes,
  type MemoKey,
  type ResponseCache,
} from '../fhir/search/response-cache';
import type { Logger } from '../logger';
import { decideFormat } from './content-negotiation';
import type { RequestMetrics } from './metrics';
import { LanePasses } from './lane-passes';
import { fhirRequestOf, matchFhirRoute, routeLabel } from './route-match';
import { trackRequest } from './request-context';
import { guardRoute } from './access-guard';
import { FHIR_JSON } from './send-result';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The cache key a GET request would be answered under on the full path, with its route's template
 * as the label (for the metrics), or undefined.
 */
export function laneKey(
  ctx: FhirContext,
  method: string,
  url: string,
  headers: IncomingMessage['headers'],
): MemoKey | undefined {
  if (method !== 'GET') return undefined;
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  if (path.includes('#')) return undefined; // express reads the path without the fragment
  const match = matchFhirRoute(method, path);
  if (match === undefined || match === 'metadata' || !match.route.lane) return undefined;
  const lane = match.route.lane;
  const request = fhirRequestOf(method, url, headers);
  const format = decideFormat(request.query, header(request, 'accept')); // a 406 throws: the router says it
  if (format.pretty) return undefined;
  const scope = lane.scope(match.params, isLenient(request));
  // What the access guard needs, kept with the key so that a hit never matches the route again.
  const route = {
    label: routeLabel(match.route),
    access: match.route.access,
    interaction: match.route.interaction,
    type: match.params.type,
  };
  if (lane.query === 'canonical')
    return { key: cacheKey(ctx, scope, canonicalQuery(request.query)), ...route };
  for (const name of request.query.keys()) if (name !== '_format') return undefined;
  return { key: cacheKey(ctx, scope), ...route };
}

/** The key for a request, remembered by URL, Accept and Prefer (all the key depends on). */
function rememberedKey(ctx: FhirContext, cache: ResponseCache, req: IncomingMessage): MemoKey | undefined {
  const url = req.url ?? '';
  const { accept, prefer } = req.headers;
  const text = `${url}\n${accept ?? ''}\n${Array.isArray(prefer) ? prefer.join(', ') : (prefer ?? '')}`;
  return cache.keyMemo.key(text, () => {
    try {
      return laneKey(ctx, req.method ?? '', url, req.headers);
    } catch {
      return undefined; // a malformed request or a refused format: the full path says what is wrong
    }
  });
}

function answer(req: IncomingMessage, res: ServerResponse, hit: CachedBytes): void {
  for (const [name, value] of Object.entries(hit.headers ?? {})) res.setHeader(name, value);
  res.setHeader(CACHE_HEADER, 'hit');
  const ifNoneMatch = req.headers['if-none-match'];
  if (notModified(ifNoneMatch === '' ? undefined : ifNoneMatch, hit.headers?.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('content-type', FHIR_JSON);
  res.end(hit.chunks.length === 1 ? hit.chunks[0] : Buffer.concat(hit.chunks));
}

/**
 * Whether the full path's access guard would let this request through to its interaction, decided
 * by the same guard (access-guard.ts) with the same Authenticator, for the route the key memo kept
 * with the key. A pass for a token is remembered per key while it stands (lane-passes.ts); anything
 * the guard would refuse, the lane leaves to the full path, which answers the refusal and reports it.
 */
async function guardWouldPass(
  ctx: FhirContext,
  found: MemoKey,
  authorization: string | undefined,
  passes: LanePasses | undefined,
): Promise<boolean> {
  const revision = passes?.revision();
  try {
    const principal = await guardRoute(ctx, found, authorization);
    if (passes && revision !== undefined && principal && authorization)
      passes.remember(authorization, found, revision, principal.expiresAt);
    return true;
  } catch {
    return false;
  }
}

/**
 * The lane in front of `app`: a request listener for the HTTP server that answers current cache
 * hits itself and hands every other request to `app` untouched. A request with no Authorization
 * header under READ_ACCESS=public costs nothing more; any other goes through the access guard first,
 * or, for a token the guard let through to the same key before, through its remembered pass.
 */
export function withHitLane(
  ctx: FhirContext,
  logger: Logger,
  app: Listener,
  metrics?: RequestMetrics,
): Listener {
  const authenticator = ctx.access?.authenticator;
  const passes = authenticator ? new LanePasses(authenticator) : undefined;
  return (req, res): void => {
    const cache = ctx.responseCache;
    const found = cache && req.method === 'GET' ? rememberedKey(ctx, cache, req) : undefined;
    if (!cache || found === undefined || !cache.has(found.key)) {
      app(req, res);
      return;
    }
    const started = process.hrtime.bigint();
    const authorization = req.headers.authorization;
    const open = authorization === undefined && (ctx.access?.readAccess ?? 'public') === 'public';
    const hitFound = (): void => answerHit(cache, found, logger, app, req, res, started, metrics);
    if (open || (authorization && passes?.passes(authorization, found))) {
      hitFound();
      return;
    }
    guardWouldPass(ctx, found, authorization, passes).then(
      (pass) => (pass ? hitFound() : app(req, res)),
      () => app(req, res),
    );
  };
}

/** Answers a current hit for `key`, or hands the request to `app` when the entry is no longer current. */
function answerHit(
  cache: ResponseCache,
  found: MemoKey,
  logger: Logger,
  app: Listener,
  req: IncomingMessage,
  res: ServerResponse,
  started: bigint,
  metrics: RequestMetrics | undefined,
): void {
  cache.hit(found.key).then(
    (hit) => {
      if (hit === undefined) {
        app(req, res);
        return;
      }
      trackRequest(logger, req, res, started, metrics, found.label);
      answer(req, res, hit);
    },
    // The head could not be read: the full path reports the error as usual.
    () => app(req, res),
  );
}
