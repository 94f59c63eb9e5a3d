/** Turns a stored write into the HTTP answer FHIR asks for (http.html#create, #update, #delete). */
import { etagFor, httpDate } from '../etag';
import { informational } from '../errors';
import { returnPreference } from '../prefer';
import type { FhirRequest, FhirResult } from '../request';
import type { FhirContext } from '../context';
import type { VersionRecord } from '../../storage/resource-store';
import type { WriteResult } from './write-operations';

export function versionLocation(ctx: FhirContext, record: VersionRecord): string {
  return `${ctx.baseUrl}/${record.resourceType}/${record.id}/_history/${record.versionId}`;
}

export function versionHeaders(record: VersionRecord): Record<string, string> {
  return { etag: etagFor(record.versionId), 'last-modified': httpDate(record.lastUpdated) };
}

export function writeResponse(ctx: FhirContext, request: FhirRequest, result: WriteResult): FhirResult {
  const headers = versionHeaders(result.record);
  if (result.status === 201 || request.method === 'PUT' || request.method === 'PATCH') {
    headers.location = versionLocation(ctx, result.record);
  }
  const preference = returnPreference(request);
  if (result.resource === null) {
    // A delete: there is no representation, only what happened.
    if (preference === 'minimal') return { status: 204, headers };
    return { status: result.status, headers, body: result.outcome ?? informational('Deleted') };
  }
  if (preference === 'minimal') return { status: result.status, headers };
  if (preference === 'OperationOutcome') {
    const verb = result.status === 201 ? 'Created' : 'Updated';
    return {
      status: result.status,
      headers,
      body: informational(
        `${verb} ${result.record.resourceType}/${result.record.id} version ${result.record.versionId}`,
      ),
    };
  }
  return { status: result.status, headers, body: result.record.content ?? result.resource };
}
