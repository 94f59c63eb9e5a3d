/**
 * Answers a read-only interaction through the context's response cache, when there is one: a Bundle
 * interaction (search, history), whose Bundle is a function of the key alone (interaction, scope,
 * Prefer handling, the public base URL and the query in canonical order, on which the Bundle is then
 * built), or a read of one resource (read, vread), kept with its ETag and Last-Modified.
 */
import type { FhirContext } from '../context';
import type { FhirRequest, FhirResult } from '../request';
import { canonicalQuery, computedText, type Computed } from './response-cache';

export const CACHE_HEADER = 'x-cache';

/** The part of a key that names the interaction: `['search', type or types, lenient]` etc. */
export type CacheScope = (string | boolean)[];

const NO_QUERY = new URLSearchParams();

/** The one way a key is made, for the interactions here and for src/http's hit lane alike. */
export function cacheKey(ctx: FhirContext, scope: CacheScope, canonical: URLSearchParams = NO_QUERY): string {
  return JSON.stringify([ctx.baseUrl, ...scope, canonical.toString()]);
}

export async function cachedAnswer(
  ctx: FhirContext,
  request: FhirRequest,
  scope: CacheScope,
  build: (canonical: URLSearchParams) => Promise<Computed>,
): Promise<FhirResult> {
  const query = canonicalQuery(request.query);
  const cache = ctx.responseCache;
  if (!cache) return { status: 200, body: computedText(await build(query)) };
  const key = cacheKey(ctx, scope, query);
  const answer = await cache.answer(key, () => build(query));
  return { status: 200, headers: { [CACHE_HEADER]: answer.status }, body: answer.body };
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
  if (!cache) {
    const built = await build();
    return { status: 200, headers: built.headers, body: built.text };
  }
  const answer = await cache.answer(cacheKey(ctx, scope), async () => {
    const built = await build();
    return { text: built.text, headers: built.headers, types: [type], timestamp: false };
  });
  return {
    status: 200,
    headers: { ...answer.headers, [CACHE_HEADER]: answer.status },
    body: answer.body,
  };
}
