/**
 * The writes themselves, inside one WriteSession (one database transaction under the write lock).
 * The single-resource interactions and transaction Bundles both call these, so a write means the
 * same thing wherever it comes from.
 */
import { randomUUID } from 'node:crypto';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { applyPatch, JsonPatchError, type Operation } from 'fast-json-patch';
import { businessRule, gone, informational, invalid, notFound, versionMismatch } from '../errors';
import type { ResourceValidator } from '../validation/resource-validator';
import type { VersionRecord, WriteSession } from '../../storage/resource-store';
import { sameContent } from './same-content';
import { extractIndexRows } from '../search/extract-index';

export interface WriteResult {
  /** 200, 201 or, for a delete of something already deleted, 200 with no new version. */
  status: number;
  record: VersionRecord;
  resource: Resource | null;
  /** False when nothing was written: a PUT or PATCH of identical content, a delete of something deleted. */
  changed: boolean;
  outcome?: OperationOutcome;
}

export interface UpdateOptions {
  /** If-Match: the version the client last saw. */
  ifMatch?: number;
  /** Our public base: absolute references on it are indexed as references to our own resources. */
  baseUrl?: string;
}

function checkIfMatch(current: VersionRecord | undefined, ifMatch: number | undefined, what: string): void {
  if (ifMatch === undefined) return;
  if (!current || current.deleted) {
    throw versionMismatch(`If-Match names version ${ifMatch} of ${what}, which has no current version`);
  }
  if (current.versionId !== ifMatch) {
    throw versionMismatch(
      `If-Match names version ${ifMatch} of ${what}, but the current version is ${current.versionId}`,
    );
  }
}

export async function createResource(
  session: WriteSession,
  resource: Resource,
  id: string = randomUUID(),
  options: UpdateOptions = {},
): Promise<WriteResult> {
  const written = await session.writeVersion({
    resourceType: resource.resourceType,
    id,
    method: 'POST',
    resource,
    index: extractIndexRows(resource, options.baseUrl),
  });
  return { status: 201, record: written, resource: written.resource, changed: true };
}

/** FHIR http.html#update, including update-as-create with a client-chosen id. */
export async function updateResource(
  session: WriteSession,
  resource: Resource & { id: string },
  options: UpdateOptions = {},
): Promise<WriteResult> {
  const current = await session.read(resource.resourceType, resource.id);
  checkIfMatch(current, options.ifMatch, `${resource.resourceType}/${resource.id}`);
  if (current && !current.deleted && current.content !== undefined) {
    const stored = JSON.parse(current.content) as Resource;
    // A PUT of what is already stored is not a change: no new version, nothing for sync to copy again.
    if (sameContent(stored, resource))
      return { status: 200, record: current, resource: stored, changed: false };
  }
  const written = await session.writeVersion({
    resourceType: resource.resourceType,
    id: resource.id,
    method: 'PUT',
    resource,
    index: extractIndexRows(resource, options.baseUrl),
  });
  const created = !current || current.deleted;
  return { status: created ? 201 : 200, record: written, resource: written.resource, changed: true };
}

/** FHIR http.html#patch with JSON Patch (RFC 6902); the result is validated like an update. */
export async function patchResource(
  session: WriteSession,
  validator: ResourceValidator,
  type: string,
  id: string,
  patch: unknown,
  options: UpdateOptions = {},
): Promise<WriteResult> {
  const operations = requirePatchDocument(patch);
  const current = await session.read(type, id);
  if (!current) throw notFound(`${type}/${id}`);
  if (current.deleted || current.content === undefined) throw gone(type, id);
  checkIfMatch(current, options.ifMatch, `${type}/${id}`);
  const stored = JSON.parse(current.content) as Resource;
  let patched: Resource;
  try {
    patched = applyPatch(stored, operations, true, false, true).newDocument;
  } catch (err) {
    if (err instanceof JsonPatchError && err.name === 'TEST_OPERATION_FAILED') {
      throw businessRule(`JSON Patch test failed at operation ${err.index ?? 0}`, `${type}`);
    }
    throw invalid(`The JSON Patch cannot be applied: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof patched !== 'object' || patched === null || patched.resourceType !== type || patched.id !== id) {
    throw invalid('A patch must not change the resource type or id');
  }
  validator.assertValid(patched);
  if (sameContent(stored, patched)) return { status: 200, record: current, resource: stored, changed: false };
  const written = await session.writeVersion({
    resourceType: type,
    id,
    method: 'PATCH',
    resource: patched,
    index: extractIndexRows(patched, options.baseUrl),
  });
  return { status: 200, record: written, resource: written.resource, changed: true };
}

/** FHIR http.html#delete: the deletion is a version; deleting what is already gone changes nothing. */
export async function deleteResource(
  session: WriteSession,
  type: string,
  id: string,
  options: UpdateOptions = {},
): Promise<WriteResult> {
  const current = await session.read(type, id);
  if (!current) throw notFound(`${type}/${id}`);
  checkIfMatch(current, options.ifMatch, `${type}/${id}`);
  if (current.deleted) {
    return {
      status: 200,
      record: current,
      resource: null,
      changed: false,
      outcome: informational(`${type}/${id} was already deleted`),
    };
  }
  const written = await session.writeVersion({ resourceType: type, id, method: 'DELETE', resource: null });
  return {
    status: 200,
    record: written,
    resource: null,
    changed: true,
    outcome: informational(`Deleted ${type}/${id}; version ${written.versionId} records the deletion`),
  };
}

function requirePatchDocument(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) throw invalid('A JSON Patch document must be an array of operations');
  for (const [index, op] of patch.entries()) {
    if (typeof op !== 'object' || op === null || typeof (op as { op?: unknown }).op !== 'string') {
      throw invalid(`JSON Patch operation ${index} is not an operation object`);
    }
    const path = (op as { path?: unknown }).path;
    if (typeof path !== 'string') throw invalid(`JSON Patch operation ${index} has no path`);
    if (/^\/(meta\/(versionId|lastUpdated)|id|resourceType)(\/|$)/.test(path)) {
      throw invalid(`JSON Patch operation ${index} may not change ${path}: the server owns it`);
    }
  }
  return patch as Operation[];
}
