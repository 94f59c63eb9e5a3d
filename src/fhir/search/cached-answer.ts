/**
 * Answers a read-only Bundle interaction (search, history) through the context's response cache,
 * when there is one. The Bundle is a function of the key alone: interaction, scope, Prefer handling,
 * the public base URL and the query in canonical order (on which the Bundle is then built).
 */
import type { FhirContext } from '../context';
import type { FhirRequest, FhirResult } from '../request';
import { canonicalQuery, computedText, type Computed } from './response-cache';

export const CACHE_HEADER = 'x-cache';

/** The part of a key that names the interaction: `['search', type or types, lenient]` etc. */
export type CacheScope = (string | boolean)[];

/** The one way a key is made, for the interactions here and for src/http's hit lane alike. */
export function cacheKey(ctx: FhirContext, scope: CacheScope, canonical: URLSearchParams): string {
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
