/**
 * Answers a read-only interaction through the context's response cache, when there is one: a Bundle
 * interaction (search, history), whose Bundle is a function of the key alone (interaction, scope,
 * Prefer handling, the public base URL and the query in canonical order, on which the Bundle is then
 * built), or a read of one resource (read, vread), kept with its ETag and Last-Modified. Either way
 * with the headers of HTTP caching (revalidation.ts), kept with the entry so that the hit lane
 * answers exactly these.
 */
import type { FhirContext } from '../context';
import { header, type FhirRequest, type FhirResult } from '../request';
import {
  ADMIN_ONLY_CACHING,
  bundleEtag,
  conditional,
  notModified,
  revalidationHeaders,
} from '../revalidation';
import { canonicalQuery, computedText, type Computed } from './response-cache';
import type { StoreHead } from '../../storage/resource-store';

export const CACHE_HEADER = 'x-cache';

/** The part of a key that names the interaction: `['search', type or types, lenient]` etc. */
export type CacheScope = (string | boolean)[];

const NO_QUERY = new URLSearchParams();

/** The one way a key is made, for the interactions here and for src/http's hit lane alike. */
export function cacheKey(ctx: FhirContext, scope: CacheScope, canonical: URLSearchParams = NO_QUERY): string {
  return JSON.stringify([ctx.baseUrl, ...scope, canonical.toString()]);
}

/** The HTTP caching headers of an answer in `ctx` (not counting a Bundle's ETag). */
function cachingHeaders(ctx: FhirContext): Record<string, string> {
  return ctx.adminOnlyAnswer
    ? { ...ADMIN_ONLY_CACHING }
    : revalidationHeaders(ctx.access?.readAccess ?? 'public');
}

/** A computation's result with `headers` added (the response cache keeps them with the entry). */
function withHeaders(computed: Computed, headers: Record<string, string>): Computed {
  return typeof computed === 'string'
    ? { text: computed, headers }
    : { ...computed, headers: { ...computed.headers, ...headers } };
}

/**
 * Where a build that reads the store head with its own first statement (a search: SearchResult.head)
 * leaves it; cachedAnswer passes one only when it has no cache to answer from.
 */
export interface HeadSlot {
  head?: StoreHead;
}

/**
 * A Bundle interaction's answer: through the cache (whose entries get their ETag from the key and the
 * head they were computed at, response-cache.ts), else computed with the ETag of a head read no later
 * than the answer's first statement (none for an admin-only answer), and 304 when If-None-Match names
 * that ETag. Without a cache the head is read first when If-None-Match may make the search needless,
 * or when `build` cannot read it itself; otherwise `build` reads it in its first statement's snapshot
 * (`slot`), which saves a statement (on PGlite's one connection, a turn) per search.
 */
export async function cachedAnswer(
  ctx: FhirContext,
  request: FhirRequest,
  scope: CacheScope,
  build: (canonical: URLSearchParams, slot?: HeadSlot) => Promise<Computed>,
  options: { buildReadsHead?: boolean } = {},
): Promise<FhirResult> {
  const query = canonicalQuery(request.query);
  const cache = ctx.responseCache;
  const key = cacheKey(ctx, scope, query);
  const caching = cachingHeaders(ctx);
  if (!cache && ctx.adminOnlyAnswer)
    return { status: 200, headers: caching, body: computedText(await build(query)) };
  const ifNoneMatch = header(request, 'if-none-match');
  if (!cache && options.buildReadsHead && ifNoneMatch === undefined) {
    // The head as the search's own first statement saw it: everything after it read that state or a
    // later one, so an equal head later still means nothing the answer read has changed. No head, no tag.
    const slot: HeadSlot = {};
    const text = computedText(await build(query, slot));
    const headers = slot.head ? { etag: bundleEtag(key, slot.head), ...caching } : caching;
    return { status: 200, headers, body: text };
  }
  if (!cache) {
    // The head before the search: equal heads later mean no write between (see response-cache.ts),
    // so a matching If-None-Match is answered without searching.
    const headers = { etag: bundleEtag(key, await ctx.store.head()), ...caching };
    if (notModified(ifNoneMatch, headers.etag)) return { status: 304, headers };
    return { status: 200, headers, body: computedText(await build(query)) };
  }
  const answer = await cache.answer(key, async () => withHeaders(await build(query), caching));
  return conditional(request, {
    status: 200,
    headers: { ...answer.headers, [CACHE_HEADER]: answer.status },
    body: answer.body,
  });
}

/** A resource as a read answers it: its JSON text and its ETag and Last-Modified. */
export interface ResourceAnswer {
  text: string;
  headers: Record<string, string>;
}

/**
 * A read of one resource of `type` through the cache (no query in the key: a read does not read
 * it). `build` throws for what is not a 200 (404, 410), and nothing is kept.
 */
export async function cachedResource(
  ctx: FhirContext,
  scope: CacheScope,
  type: string,
  build: () => Promise<ResourceAnswer>,
): Promise<FhirResult> {
  const cache = ctx.responseCache;
  const caching = cachingHeaders(ctx);
  if (!cache) {
    const built = await build();
    return { status: 200, headers: { ...built.headers, ...caching }, body: built.text };
  }
  const answer = await cache.answer(cacheKey(ctx, scope), async () => {
    const built = await build();
    return { text: built.text, headers: { ...built.headers, ...caching }, types: [type], timestamp: false };
  });
  return {
    status: 200,
    headers: { ...answer.headers, [CACHE_HEADER]: answer.status },
    body: answer.body,
  };
}
