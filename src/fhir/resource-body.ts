/** The checks every request body gets before validation: an object of the right type and id. */
import type { Resource } from '@medplum/fhirtypes';
import { invalid, limitExceeded } from './errors';
import { LIMIT_VARIABLES } from './limits';
import { isDirectoryType, isValidId } from './resource-types';

export function requireResource(body: unknown, expectedType?: string): Resource {
  if (body === undefined) throw invalid('The request has no body; a FHIR resource is required');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('The request body must be a FHIR resource (a JSON object)');
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string') throw invalid('The resource has no resourceType', 'resourceType');
  if (expectedType !== undefined && resourceType !== expectedType) {
    throw invalid(`The resource is a ${resourceType}, but the URL names ${expectedType}`, 'resourceType');
  }
  return body as Resource;
}

export function requireDirectoryResource(body: unknown, expectedType?: string): Resource {
  const resource = requireResource(body, expectedType);
  if (!isDirectoryType(resource.resourceType)) {
    throw invalid(`Resource type '${resource.resourceType}' is not stored by this directory`, 'resourceType');
  }
  return resource;
}

export function requireValidId(id: unknown, expression = 'id'): string {
  if (typeof id !== 'string' || !isValidId(id)) {
    throw invalid(
      `${typeof id === 'string' ? `'${id}'` : (JSON.stringify(id) ?? String(id))} is not a valid FHIR id (1-64 characters of A-Z, a-z, 0-9, '-' and '.')`,
      expression,
    );
  }
  return id;
}

/** FHIR http.html#update: the body's id must be present and equal to the URL's. */
export function requireMatchingId(resource: Resource, id: string): void {
  if (resource.id === undefined)
    throw invalid(`The resource has no id; the URL names '${id}'`, `${resource.resourceType}.id`);
  if (resource.id !== id) {
    throw invalid(
      `The resource id '${resource.id}' does not match the URL id '${id}'`,
      `${resource.resourceType}.id`,
    );
  }
}

/**
 * MAX_RESOURCE_BYTES: one resource in a write or $validate (each Bundle entry on its own) may be at
 * most this large as JSON, so the CPU time of its validation and index extraction is bounded (about
 * 2 ms per KB: README.md, "Limits"). 413 `too-long` naming the limit and where the resource is.
 */
export function requireResourceSize(resource: unknown, maxBytes: number, expression: string): void {
  // A resource is at least as many bytes as UTF-16 units; only a near miss needs the exact count.
  const text = JSON.stringify(resource) ?? '';
  if (text.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes)
    throw limitExceeded(
      `${expression} is ${bytes} bytes`,
      LIMIT_VARIABLES.resourceBytes,
      maxBytes,
      expression,
      413,
    );
}
