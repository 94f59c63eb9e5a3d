/**
 * HTTP caching of reads (RFC 9111, FHIR http.html#cread): what lets a browser, a shared cache or a
 * CDN keep a read, search or history answer and revalidate it with If-None-Match instead of fetching
 * it again, without ever serving a changed directory stale.
 *
 * - ETag: a read or vread answers `W/"<versionId>"`, as FHIR requires. A Bundle (search, history)
 *   answers a weak tag naming its cache key (interaction, scope, base URL, canonical query) and the
 *   store head it was computed at: the same tag for the same key means the same answer (a search at
 *   one head is deterministic), and any write it read moves the head the next answer is computed at.
 *   An answer the response cache keeps through writes to types it did not read keeps its tag too,
 *   because it is the same answer.
 * - Cache-Control `no-cache`: any cache may store it but must ask the directory before each use, so
 *   a 304 costs a head read and no search, and nothing is served that the directory would not serve
 *   now. Under READ_ACCESS=authenticated `private` as well: a shared cache must not hand a token
 *   holder's answer to someone else. An answer only admin clients may read (AuditEvent) is
 *   `private, no-store`: no cache keeps it at all.
 * - Vary: the headers that can change the answer: Accept (406, or the format), Prefer (lenient
 *   handling is part of the key), Authorization (401/403, and the admin-only answers).
 */
import { createHash } from 'node:crypto';
import type { ReadAccess } from '../security/access-control';
import type { StoreHead } from '../storage/resource-store';
import { header, type FhirRequest, type FhirResult } from './request';

export const VARY = 'Accept, Prefer, Authorization';

/** Cache-Control and Vary for a read answer anyone with read access may see. */
export function revalidationHeaders(readAccess: ReadAccess): Record<string, string> {
  return { 'cache-control': readAccess === 'public' ? 'no-cache' : 'private, no-cache', vary: VARY };
}

/** For an answer only admin clients may read: kept by no cache, shared or not. */
export const ADMIN_ONLY_CACHING: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'private, no-store',
  vary: VARY,
});

/** A Bundle's ETag: its cache key and the head it was computed at, hashed (opaque to clients). */
export function bundleEtag(key: string, head: StoreHead): string {
  const digest = createHash('sha256').update(`${head.epoch}:${head.seq}:${key}`).digest('base64url');
  return `W/"${digest.slice(0, 27)}"`;
}

/** An entity tag without its weakness mark, for the weak comparison of RFC 9110 §8.8.3.2. */
const opaque = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag);

/**
 * RFC 9110 §13.1.2: If-None-Match on a GET is false (304 Not Modified) when it is `*` or lists a
 * tag weakly equal to the answer's ETag. The one rule for read, vread, search, history and the
 * HTTP hit lane.
 */
export function notModified(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
  if (ifNoneMatch === undefined || etag === undefined) return false;
  const wanted = ifNoneMatch.trim();
  if (wanted === '*') return true;
  const mine = opaque(etag);
  // Entity tags are quoted strings without commas inside (RFC 9110 §8.8.3), so a comma splits the list.
  return wanted.split(',').some((tag) => opaque(tag.trim()) === mine);
}

/** `result` as a 304 (its headers, no body) when the request's If-None-Match matches its ETag. */
export function conditional(request: FhirRequest, result: FhirResult): FhirResult {
  if (result.status !== 200 || !notModified(header(request, 'if-none-match'), result.headers?.etag))
    return result;
  return { status: 304, ...(result.headers ? { headers: result.headers } : {}) };
}
