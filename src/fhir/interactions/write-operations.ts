/**
 * The writes themselves, inside one WriteSession (one database transaction under the write lock).
 * The single-resource interactions and transaction Bundles both call these, so a write means the
 * same thing wherever it comes from.
 */
import { randomUUID } from 'node:crypto';
import type { Endpoint, OperationOutcome, Organization, Resource } from '@medplum/fhirtypes';
import { applyPatch, JsonPatchError, type Operation } from 'fast-json-patch';
import {
  businessRule,
  FhirError,
  gone,
  informational,
  invalid,
  issue,
  notFound,
  outcomeOf,
  versionMismatch,
} from '../errors';
import type { ResourceValidator } from '../validation/resource-validator';
import type { VersionRecord, WriteSession } from '../../storage/resource-store';
import type { FhirContext } from '../context';
import { sameContent } from './same-content';
import {
  type DerivedEndpoint,
  hasContainedEndpoints,
  isReferenceTo,
  refuseReassignedDerived,
  splitContainedEndpoints,
  staleDerivedEndpoints,
} from './contained-endpoints';
import { extractIndexRows } from '../search/extract-index';
import type { IndexRows } from '../../storage/search-index';
import { requireResourceSize } from '../resource-body';
import type { PreparedWrites } from './prepared-writes';
import type { OwnershipCheck } from './ownership-guard';
import { keepDirectoryOwned } from '../directory-owned';

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
  /** The profile a stored resource of a type conforms to, declared in its meta.profile. */
  profileOf?: (resourceType: string) => string | undefined;
  /** Validates what a write makes besides the resource itself (Endpoints split out of an Organization). */
  validator?: ResourceValidator;
  /** Index rows and validations done before the write lock (prepareWrite); the rest is done under it. */
  prepared?: PreparedWrites;
  /** MAX_RESOURCE_BYTES: the largest resource a write may store (checked here for a PATCH's result). */
  maxResourceBytes?: number;
  /** The client's ownership of what is written (ownership-guard.ts); absent: the directory itself or an admin. */
  ownership?: OwnershipCheck;
  /**
   * The write is a client's (a request with a token): a directory-owned element it sets to another
   * value than the stored one is refused (422) rather than ignored (directory-owned.ts).
   */
  clientWrite?: boolean;
}

/** The options every write from a FHIR interaction uses. */
export function writeOptions(ctx: FhirContext, extra: UpdateOptions = {}): UpdateOptions {
  return {
    ...extra,
    baseUrl: ctx.baseUrl,
    validator: ctx.validator,
    maxResourceBytes: ctx.limits.resourceBytes,
    profileOf: (type) => (ctx.enforceProfiles ? ctx.profiles.byType.get(type)?.url : undefined),
  };
}

/** Adds the directory profile to meta.profile (validation has just proved the resource conforms). */
export function declareProfile<T extends Resource>(resource: T, options: UpdateOptions): T {
  const url = options.profileOf?.(resource.resourceType);
  if (!url || resource.meta?.profile?.includes(url)) return resource;
  return { ...resource, meta: { ...resource.meta, profile: [...(resource.meta?.profile ?? []), url] } };
}

interface StoredForm {
  resource: Resource;
  /** Endpoints split out of an Organization's contained ones, each written as a resource of its own. */
  endpoints: DerivedEndpoint[];
}

/**
 * What a write of `resource` at `id` stores, decided from the resource alone: the same before the
 * write lock (prepareWrite) and under it, so what was prepared for it is found again.
 */
function storedForm(resource: Resource, id: string, options: UpdateOptions): StoredForm {
  if (!hasContainedEndpoints(resource)) return { resource: declareProfile(resource, options), endpoints: [] };
  const split = splitContainedEndpoints(resource, id);
  return { resource: declareProfile(split.organization, options), endpoints: split.endpoints };
}

/**
 * Before the write lock: validates the Endpoints a write of `resource` splits out of it and extracts
 * the index rows of everything it will store, into `options.prepared`.
 */
export function prepareWrite(resource: Resource, id: string, options: UpdateOptions): void {
  const prepared = options.prepared;
  if (!prepared) return;
  const form = storedForm(resource, id, options);
  for (const e of form.endpoints) {
    options.validator?.assertValid(e.resource, e.expression);
    prepared.markValidated(e.resource);
    prepareWrite(e.resource, e.resource.id, options);
  }
  prepared.addIndexRows(form.resource, options.baseUrl);
}

function indexRowsOf(resource: Resource, options: UpdateOptions): IndexRows {
  return options.prepared
    ? options.prepared.indexRows(resource, options.baseUrl)
    : extractIndexRows(resource, options.baseUrl);
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
  await options.ownership?.admit(resource.resourceType, id, undefined, resource);
  resource = keepDirectoryOwned(undefined, resource, options.clientWrite ?? false);
  resource = await normalizeOrganization(session, resource, id, undefined, options);
  const written = await session.writeVersion({
    resourceType: resource.resourceType,
    id,
    method: 'POST',
    resource,
    index: indexRowsOf(resource, options),
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
  await options.ownership?.admit(resource.resourceType, resource.id, current, resource);
  checkIfMatch(current, options.ifMatch, `${resource.resourceType}/${resource.id}`);
  const previous = current?.content === undefined ? undefined : (JSON.parse(current.content) as Resource);
  refuseReassignedDerived(previous, resource);
  resource = keepDirectoryOwned(
    current?.deleted ? undefined : previous,
    resource,
    options.clientWrite ?? false,
  );
  resource = {
    ...(await normalizeOrganization(session, resource, resource.id, previous, options)),
    id: resource.id,
  };
  if (current && !current.deleted && current.content !== undefined) {
    const stored = previous as Resource;
    // A PUT of what is already stored is not a change: no new version, nothing for sync to copy again.
    if (sameContent(stored, resource))
      return { status: 200, record: current, resource: stored, changed: false };
  }
  const written = await session.writeVersion({
    resourceType: resource.resourceType,
    id: resource.id,
    method: 'PUT',
    resource,
    index: indexRowsOf(resource, options),
  });
  const created = !current || current.deleted;
  return { status: created ? 201 : 200, record: written, resource: written.resource, changed: true };
}

/** `current` with the JSON Patch applied: what a PATCH would store, before validation and normalization. */
function patchedContent(
  type: string,
  id: string,
  current: VersionRecord | undefined,
  operations: Operation[],
) {
  if (!current) throw notFound(`${type}/${id}`);
  if (current.deleted || current.content === undefined) throw gone(type, id);
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
  return { stored, patched };
}

/**
 * Before the write lock: applies the patch to the version read now, validates the result and
 * extracts its index rows into `options.prepared`. Under the lock patchResource reads the version
 * again and applies the patch again (cheap); when no write came in between the result is the same
 * content, and its validation and index rows are found prepared (they are keyed by content, so a
 * version written meanwhile is simply patched, validated and indexed under the lock, never mixed up).
 * Anything refused here is left for the lock to decide on the version it reads.
 */
export async function preparePatch(
  reader: { read(type: string, id: string): Promise<VersionRecord | undefined> },
  validator: ResourceValidator,
  type: string,
  id: string,
  patch: unknown,
  options: UpdateOptions,
): Promise<void> {
  const prepared = options.prepared;
  if (!prepared) return;
  try {
    const operations = requirePatchDocument(patch);
    const { patched } = patchedContent(type, id, await reader.read(type, id), operations);
    if (options.maxResourceBytes !== undefined) requireResourceSize(patched, options.maxResourceBytes, type);
    validator.assertValid(patched);
    prepared.markValidated(patched);
    prepareWrite(patched, id, options);
  } catch {
    // The patch is applied and judged again under the lock, on the version current there.
  }
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
  // Applied to the version read under the lock: a PATCH that raced another write patches what that
  // write stored (FHIR http.html#patch), and If-Match is checked against it (412 when it moved).
  if (current && !current.deleted) checkIfMatch(current, options.ifMatch, `${type}/${id}`);
  const { stored, patched: result } = patchedContent(type, id, current, operations);
  let patched = result;
  await options.ownership?.admit(type, id, current, patched);
  refuseReassignedDerived(stored, patched);
  patched = keepDirectoryOwned(stored, patched, options.clientWrite ?? false);
  if (options.maxResourceBytes !== undefined) requireResourceSize(patched, options.maxResourceBytes, type);
  if (!options.prepared?.wasValidated(patched)) validator.assertValid(patched);
  patched = await normalizeOrganization(session, patched, id, stored, options);
  if (sameContent(stored, patched))
    return { status: 200, record: current as VersionRecord, resource: stored, changed: false };
  const written = await session.writeVersion({
    resourceType: type,
    id,
    method: 'PATCH',
    resource: patched,
    index: indexRowsOf(patched, options),
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
  await options.ownership?.admit(type, id, current, null);
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
  if (type === 'Organization' && current.content !== undefined)
    await deleteDroppedEndpoints(session, id, JSON.parse(current.content) as Organization, null);
  const written = await session.writeVersion({ resourceType: type, id, method: 'DELETE', resource: null });
  return {
    status: 200,
    record: written,
    resource: null,
    changed: true,
    outcome: informational(`Deleted ${type}/${id}; version ${written.versionId} records the deletion`),
  };
}

/**
 * The resource as stored (storedForm): an Organization's contained Endpoints become standalone
 * Endpoints (contained-endpoints.ts), written in the same transaction; derived Endpoints it no longer
 * references are deleted.
 */
async function normalizeOrganization(
  session: WriteSession,
  resource: Resource,
  id: string,
  previous: Resource | undefined,
  options: UpdateOptions,
): Promise<Resource> {
  const form = storedForm(resource, id, options);
  for (const e of form.endpoints)
    if (!options.prepared?.wasValidated(e.resource)) options.validator?.assertValid(e.resource, e.expression);
  for (const e of form.endpoints) {
    await refuseForeignEndpoint(session, id, e.resource.id, e.expression);
    // If-Match names a version of the Organization, not of its Endpoints.
    const { ifMatch: _organizationVersion, ...endpointOptions } = options;
    await updateResource(session, e.resource, endpointOptions);
  }
  if (previous?.resourceType === 'Organization' && form.resource.resourceType === 'Organization')
    await deleteDroppedEndpoints(session, id, previous, form.resource);
  return form.resource;
}

/**
 * A derived id may already name an Endpoint of another Organization (`A` + `x-y` and `A-x` + `y`
 * both give `A-x-y`, or a client chose that id for a standalone Endpoint): writing over it would let
 * one Organization's PUT replace another's Endpoint, so it is a conflict.
 */
async function refuseForeignEndpoint(
  session: WriteSession,
  orgId: string,
  endpointId: string,
  expression: string,
): Promise<void> {
  const current = await session.read('Endpoint', endpointId);
  if (!current || current.deleted || current.content === undefined) return;
  const managing = (JSON.parse(current.content) as Endpoint).managingOrganization?.reference ?? '';
  if (isReferenceTo(managing, orgId)) return;
  const own = `Organization/${orgId}`;
  throw new FhirError(
    outcomeOf([
      issue(
        'conflict',
        `The contained Endpoint would be stored as Endpoint/${endpointId}, which is an Endpoint of ${managing || 'no Organization'}, not of ${own}: give it another id`,
        `${expression}.id`,
      ),
    ]),
    409,
  );
}

async function deleteDroppedEndpoints(
  session: WriteSession,
  orgId: string,
  previous: Organization,
  next: Organization | null,
): Promise<void> {
  const kept = new Set((next?.endpoint ?? []).map((r) => r.reference));
  // Derived Endpoints are always referenced by their Organization: nothing dropped, nothing to look up.
  if (!(previous.endpoint ?? []).some((r) => !kept.has(r.reference))) return;
  for (const stale of await staleDerivedEndpoints(session, orgId, next))
    await deleteResource(session, 'Endpoint', stale.id);
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
