/**
 * HTTP revalidation of the web directory's pages, like the FHIR searches they are built on
 * (src/fhir/revalidation.ts): a page answered 200 carries a weak ETag hashed from the store head
 * read before the page read anything, the page's URL (path and query) and its representation (this
 * build's version, and whether a token came: under READ_ACCESS=authenticated a page may differ per
 * client). If-None-Match with the current tag is 304 with no body and no search at all.
 *
 * Never stale: the head only moves forward, so a tag taken at an older head never matches the head of
 * now, whatever the page showed. Coarser than the response cache (any write changes every page's tag),
 * which costs a re-render after writes, never a wrong answer.
 */
import { createHash } from 'node:crypto';
import type { FhirContext } from '../fhir/context';
import { notModified, VARY } from '../fhir/revalidation';

export interface PageValidator {
  etag: string;
  /** The request's If-None-Match matches: answer 304. */
  fresh: boolean;
}

export async function pageValidator(
  ctx: FhirContext,
  url: string,
  representation: string,
  ifNoneMatch: string | undefined,
): Promise<PageValidator> {
  const head = await ctx.store.head();
  const digest = createHash('sha256')
    .update(`${head.epoch}:${head.seq}:${representation}:${url}`)
    .digest('base64url');
  const etag = `W/"page-${digest.slice(0, 27)}"`;
  // `*` means "any current page": whether there is one (not a 404) is known only by rendering it.
  const wildcard = ifNoneMatch?.trim() === '*';
  return { etag, fresh: !wildcard && notModified(ifNoneMatch, etag) };
}

/** Cache-Control and Vary of a page: any cache may keep it, revalidating before each use. */
export function pageCaching(readAccess: 'public' | 'authenticated' | undefined): Record<string, string> {
  return { 'cache-control': readAccess === 'authenticated' ? 'private, no-cache' : 'no-cache', vary: VARY };
}
