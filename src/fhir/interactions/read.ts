/** FHIR http.html#read and #vread. */
import { etagFor } from '../etag';
import { gone, invalid, notFound } from '../errors';
import { header, type FhirRequest, type FhirResult } from '../request';
import { requireValidId } from '../resource-body';
import type { FhirContext } from '../context';
import type { VersionRecord } from '../../storage/resource-store';
import { versionHeaders } from './write-response';

function present(record: VersionRecord | undefined, type: string, id: string, what: string): FhirResult {
  if (!record) throw notFound(what);
  if (record.deleted || record.content === undefined) throw gone(type, id);
  return { status: 200, headers: versionHeaders(record), body: record.content };
}

export async function read(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  id: string,
): Promise<FhirResult> {
  requireValidId(id);
  const record = await ctx.store.read(type, id);
  // FHIR http.html#cread: If-None-Match with the current ETag answers 304 Not Modified.
  const ifNoneMatch = header(request, 'if-none-match');
  if (
    record &&
    !record.deleted &&
    ifNoneMatch !== undefined &&
    ifNoneMatch.trim() === etagFor(record.versionId)
  ) {
    return { status: 304, headers: versionHeaders(record) };
  }
  return present(record, type, id, `${type}/${id}`);
}

export async function vread(
  ctx: FhirContext,
  type: string,
  id: string,
  versionId: string,
): Promise<FhirResult> {
  requireValidId(id);
  if (!/^[1-9]\d{0,8}$/.test(versionId)) throw invalid(`'${versionId}' is not a version id`, 'versionId');
  const record = await ctx.store.vread(type, id, Number(versionId));
  return present(record, type, id, `${type}/${id}/_history/${versionId}`);
}
