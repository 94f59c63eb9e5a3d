/** FHIR http.html#create, #update, #patch and #delete for one resource. */
import type { Resource } from '@medplum/fhirtypes';
import { parseEtagVersion } from '../etag';
import { header, type FhirRequest, type FhirResult } from '../request';
import { requireMatchingId, requireResource, requireResourceSize, requireValidId } from '../resource-body';
import type { FhirContext } from '../context';
import {
  createResource,
  deleteResource,
  patchResource,
  preparePatch,
  prepareWrite,
  updateResource,
  type UpdateOptions,
  writeOptions,
} from './write-operations';
import { writeResponse } from './write-response';
import { findSingleMatch, storedResource } from './conditional';
import { invalid, informational } from '../errors';
import { randomUUID } from 'node:crypto';
import { PreparedWrites } from './prepared-writes';
import { type OwnershipCheck, ownershipGuard } from './ownership-guard';
import type { WriteSession } from '../../storage/resource-store';
import { actorOf, writeRecorded } from '../recorded-write';
import { requireWriteAccess } from '../access-checks';

function updateOptions(request: FhirRequest): UpdateOptions {
  const ifMatch = header(request, 'if-match');
  const clientWrite = request.principal !== undefined;
  return ifMatch === undefined
    ? { clientWrite }
    : { clientWrite, ifMatch: parseEtagVersion(ifMatch, 'If-Match') };
}

/** The body as a resource of `type` within MAX_RESOURCE_BYTES. */
function requireBody(ctx: FhirContext, request: FhirRequest, type: string): Resource {
  const resource = requireResource(request.body, type);
  requireResourceSize(resource, ctx.limits.resourceBytes, type);
  return resource;
}

/** Validation and index extraction before the write lock (DESIGN.md, "One write lock"). */
function prepared(ctx: FhirContext, resource: Resource, id: string, extra: UpdateOptions): UpdateOptions {
  ctx.validator.assertValid(resource);
  const options = writeOptions(ctx, { ...extra, prepared: new PreparedWrites() });
  prepareWrite(resource, id, options);
  return options;
}

/**
 * One write session in which the client's ownership of what it writes is decided (ownership-guard.ts):
 * `work` passes `ownership` on to the write operations; what they stored is judged before the commit.
 */
function writeOwned<T>(
  ctx: FhirContext,
  request: FhirRequest,
  work: (session: WriteSession, ownership: OwnershipCheck | undefined) => Promise<T>,
): Promise<T> {
  return writeRecorded(
    ctx,
    actorOf(request),
    async (session) => {
      const guard = ownershipGuard(request.principal, session, ctx.baseUrl);
      const result = await work(session, guard);
      await guard?.settle();
      return result;
    },
    request.signal,
  );
}

export async function create(ctx: FhirContext, request: FhirRequest, type: string): Promise<FhirResult> {
  requireWriteAccess(request, type, 'create');
  const resource = requireBody(ctx, request, type);
  // FHIR http.html#create: an id in the body is ignored; the server assigns one.
  const { id: _ignored, ...withoutId } = resource;
  const id = randomUUID();
  const options = prepared(ctx, withoutId, id, { clientWrite: request.principal !== undefined });
  const ifNoneExist = header(request, 'if-none-exist');
  const result = await writeOwned(ctx, request, async (session, ownership) => {
    if (ifNoneExist !== undefined) {
      const criteria = new URLSearchParams(ifNoneExist.replace(/^[^?]*\?/, ''));
      const match = await findSingleMatch(session, type, criteria, 'If-None-Exist', ctx.limits, ctx.baseUrl);
      // FHIR http.html#ccreate: one match means nothing is created; the existing resource is the answer.
      if (match) return { status: 200, record: match, resource: storedResource(match), changed: false };
    }
    return createResource(session, withoutId, id, { ...options, ownership });
  });
  return writeResponse(ctx, request, result);
}

/** `PUT /fhir/{type}?criteria`: no match creates, one match updates it, more is 412. */
export async function conditionalUpdate(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
): Promise<FhirResult> {
  requireWriteAccess(request, type, 'update');
  const resource = requireBody(ctx, request, type);
  if (resource.id !== undefined) requireValidId(resource.id, `${type}.id`);
  const conditions = updateOptions(request);
  ctx.validator.assertValid(resource);
  // Before the lock, the index rows of the resource at the id it will most likely get (DESIGN.md, "One
  // write lock"): its own id (any other match is refused), else the match a search finds now, else a
  // new id. Under the lock the search decides again; a different id there extracts its rows there.
  const fresh = randomUUID();
  const expected =
    resource.id ??
    (await findSingleMatch(
      ctx.store,
      type,
      request.query,
      'Conditional update',
      ctx.limits,
      ctx.baseUrl,
    ).then(
      (match) => match?.id,
      () => undefined, // the search under the lock answers any error
    )) ??
    fresh;
  const options = writeOptions(ctx, { ...conditions, prepared: new PreparedWrites() });
  prepareWrite({ ...resource, id: expected }, expected, options);
  const result = await writeOwned(ctx, request, async (session, ownership) => {
    const match = await findSingleMatch(
      session,
      type,
      request.query,
      'Conditional update',
      ctx.limits,
      ctx.baseUrl,
    );
    if (match && resource.id !== undefined && resource.id !== match.id) {
      throw invalid(
        `The resource id '${resource.id}' is not the id of the matching ${type} '${match.id}'`,
        `${type}.id`,
      );
    }
    const id = match?.id ?? resource.id ?? fresh;
    return updateResource(session, { ...resource, id }, { ...options, ownership });
  });
  return writeResponse(ctx, request, result);
}

/** `DELETE /fhir/{type}?criteria` (single): one match is deleted, none is a no-op, more is 412. */
export async function conditionalDelete(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
): Promise<FhirResult> {
  requireWriteAccess(request, type, 'delete');
  const result = await writeOwned(ctx, request, async (session, ownership) => {
    const match = await findSingleMatch(
      session,
      type,
      request.query,
      'Conditional delete',
      ctx.limits,
      ctx.baseUrl,
    );
    return match ? deleteResource(session, type, match.id, { ownership }) : undefined;
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
  requireWriteAccess(request, type, 'update');
  requireValidId(id);
  const resource = requireBody(ctx, request, type);
  requireMatchingId(resource, id);
  const options = prepared(ctx, resource, id, updateOptions(request));
  const result = await writeOwned(ctx, request, (session, ownership) =>
    updateResource(session, resource as Resource & { id: string }, { ...options, ownership }),
  );
  return writeResponse(ctx, request, result);
}

export async function patch(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  id: string,
): Promise<FhirResult> {
  requireWriteAccess(request, type, 'update');
  requireValidId(id);
  // The patch applied, validated and indexed before the write lock, on the version current now; under
  // the lock it is applied again to the version current there (write-operations.ts preparePatch).
  const options = writeOptions(ctx, { ...updateOptions(request), prepared: new PreparedWrites() });
  await preparePatch(ctx.store, ctx.validator, type, id, request.body, options);
  const result = await writeOwned(ctx, request, (session, ownership) =>
    patchResource(session, ctx.validator, type, id, request.body, { ...options, ownership }),
  );
  return writeResponse(ctx, request, result);
}

export async function remove(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  id: string,
): Promise<FhirResult> {
  requireWriteAccess(request, type, 'delete');
  requireValidId(id);
  const options = updateOptions(request);
  const result = await writeOwned(ctx, request, (session, ownership) =>
    deleteResource(session, type, id, { ...options, ownership }),
  );
  return writeResponse(ctx, request, result);
}
