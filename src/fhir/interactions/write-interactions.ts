/** FHIR http.html#create, #update, #patch and #delete for one resource. */
import type { Resource } from '@medplum/fhirtypes';
import { parseEtagVersion } from '../etag';
import { header, type FhirRequest, type FhirResult } from '../request';
import { requireMatchingId, requireResource, requireValidId } from '../resource-body';
import type { FhirContext } from '../context';
import {
  createResource,
  deleteResource,
  patchResource,
  updateResource,
  type UpdateOptions,
} from './write-operations';
import { writeResponse } from './write-response';

function updateOptions(request: FhirRequest): UpdateOptions {
  const ifMatch = header(request, 'if-match');
  return ifMatch === undefined ? {} : { ifMatch: parseEtagVersion(ifMatch, 'If-Match') };
}

export async function create(ctx: FhirContext, request: FhirRequest, type: string): Promise<FhirResult> {
  const resource = requireResource(request.body, type);
  // FHIR http.html#create: an id in the body is ignored; the server assigns one.
  const { id: _ignored, ...withoutId } = resource;
  ctx.validator.assertValid(withoutId);
  const result = await ctx.store.write((session) => createResource(session, withoutId as Resource));
  return writeResponse(ctx, request, result);
}

export async function update(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  id: string,
): Promise<FhirResult> {
  requireValidId(id);
  const resource = requireResource(request.body, type);
  requireMatchingId(resource, id);
  const options = updateOptions(request);
  ctx.validator.assertValid(resource);
  const result = await ctx.store.write((session) =>
    updateResource(session, resource as Resource & { id: string }, options),
  );
  return writeResponse(ctx, request, result);
}

export async function patch(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  id: string,
): Promise<FhirResult> {
  requireValidId(id);
  const options = updateOptions(request);
  const result = await ctx.store.write((session) =>
    patchResource(session, ctx.validator, type, id, request.body, options),
  );
  return writeResponse(ctx, request, result);
}

export async function remove(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  id: string,
): Promise<FhirResult> {
  requireValidId(id);
  const options = updateOptions(request);
  const result = await ctx.store.write((session) => deleteResource(session, type, id, options));
  return writeResponse(ctx, request, result);
}
