/**
 * FHIR http.html#read and #vread, answered through the response cache (cached-answer.ts) when there
 * is one: a read is served from it only while no resource of its type has been written since.
 * FHIR http.html#cread: If-None-Match with the answer's ETag is 304 (revalidation.ts).
 */
import { gone, invalid, notFound } from '../errors';
import type { FhirRequest, FhirResult } from '../request';
import { conditional } from '../revalidation';
import { requireValidId } from '../resource-body';
import type { FhirContext } from '../context';
import { cachedResource, type CacheScope, type ResourceAnswer } from '../search/cached-answer';
import type { VersionRecord } from '../../storage/resource-store';
import { versionHeaders } from './write-response';
import { contextToRead } from '../admin-only';
import type { Principal } from '../../security/principal';

/** What a read's cache key names (shared with src/http's hit lane). */
export function readScope(type: string, id: string): CacheScope {
  return ['read', type, id];
}

/** What a vread's cache key names (shared with src/http's hit lane). */
export function vreadScope(type: string, id: string, versionId: string): CacheScope {
  return ['vread', type, id, versionId];
}

function present(record: VersionRecord | undefined, type: string, id: string, what: string): ResourceAnswer {
  if (!record) throw notFound(what);
  if (record.deleted || record.content === undefined) throw gone(type, id);
  return { text: record.content, headers: versionHeaders(record) };
}

export async function read(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  id: string,
): Promise<FhirResult> {
  requireValidId(id);
  const c = contextToRead(ctx, [type], request.principal);
  const result = await cachedResource(c, readScope(type, id), type, async () =>
    present(await c.store.read(type, id), type, id, `${type}/${id}`),
  );
  return conditional(request, result);
}

/**
 * `request`, when given, may make it conditional (If-None-Match); a batch's vread entry gives none,
 * and `reader` is then the batch's principal.
 */
export async function vread(
  ctx: FhirContext,
  type: string,
  id: string,
  versionId: string,
  request?: FhirRequest,
  reader: Principal | undefined = request?.principal,
): Promise<FhirResult> {
  requireValidId(id);
  if (!/^[1-9]\d{0,8}$/.test(versionId)) throw invalid(`'${versionId}' is not a version id`, 'versionId');
  const c = contextToRead(ctx, [type], reader);
  const result = await cachedResource(c, vreadScope(type, id, versionId), type, async () =>
    present(
      await c.store.vread(type, id, Number(versionId)),
      type,
      id,
      `${type}/${id}/_history/${versionId}`,
    ),
  );
  return request ? conditional(request, result) : result;
}
