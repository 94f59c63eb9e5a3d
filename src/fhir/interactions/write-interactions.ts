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
  writeOptions,
} from './write-operations';
import { writeResponse } from './write-response';
import { findSingleMatch, storedResource } from './conditional';
import { invalid, informational } from '../errors';
import { randomUUID } from 'node:crypto';

function updateOptions(request: FhirRequest): UpdateOptions {
  const ifMatch = header(request, 'if-match');
  return ifMatch === undefined ? {} : { ifMatch: parseEtagVersion(ifMatch, 'If-Match') };
}

export async function create(ctx: FhirContext, request: FhirRequest, type: string): Promise<FhirResult> {
  const resource = requireResource(request.body, type);
  // FHIR http.html#create: an id in the body is ignored; the server assigns one.
  const { id: _ignored, ...withoutId } = resource;
  ctx.validator.assertValid(withoutId);
  const ifNoneExist = header(request, 'if-none-exist');
  const result = await ctx.store.write(async (session) => {
    if (ifNoneExist !== undefined) {
      const criteria = new URLSearchParams(ifNoneExist.replace(/^[^?]*\?/, ''));
      const match = await findSingleMatch(session, type, criteria, 'If-None-Exist', ctx.baseUrl);
      // FHIR http.html#ccreate: one match means nothing is created; the existing resource is the answer.
      if (match) return { status: 200, record: match, resource: storedResource(match), changed: false };
    }
    return createResource(session, withoutId, undefined, writeOptions(ctx));
  });
  return writeResponse(ctx, request, result);
}

/** `PUT /fhir/{type}?criteria`: no match creates, one match updates it, more is 412. */
export async function conditionalUpdate(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
): Promise<FhirResult> {
  const resource = requireResource(request.body, type);
  if (resource.id !== undefined) requireValidId(resource.id, `${type}.id`);
  const options = updateOptions(request);
  ctx.validator.assertValid(resource);
  const result = await ctx.store.write(async (session) => {
    const match = await findSingleMatch(session, type, request.query, 'Conditional update', ctx.baseUrl);
    if (match && resource.id !== undefined && resource.id !== match.id) {
      throw invalid(
        `The resource id '${resource.id}' is not the id of the matching ${type} '${match.id}'`,
        `${type}.id`,
      );
    }
    const id = match?.id ?? resource.id ?? randomUUID();
    return updateResource(session, { ...resource, id }, writeOptions(ctx, options));
  });
  return writeResponse(ctx, request, result);
}

/** `DELETE /fhir/{type}?criteria` (single): one match is deleted, none is a no-op, more is 412. */
export async function conditionalDelete(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
): Promise<FhirResult> {
  const result = await ctx.store.write(async (session) => {
    const match = await findSingleMatch(session, type, request.query, 'Conditional delete', ctx.baseUrl);
    return match ? deleteResource(session, type, match.id) : undefined;
  });
  if (!result) return { status: 200, body: informational(`No ${type} matched; nothing was deleted`) };
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
    updateResource(session, resource as Resource & { id: string }, writeOptions(ctx, options)),
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
    patchResource(session, ctx.validator, type, id, request.body, writeOptions(ctx, options)),
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
