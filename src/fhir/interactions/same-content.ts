/**
 * Whether two versions of a resource say the same thing, ignoring what the server writes itself
 * (meta.versionId, meta.lastUpdated) and JSON key order.
 */
import type { Resource } from '@medplum/fhirtypes';

export function sameContent(a: Resource, b: Resource): boolean {
  return deepEqual(withoutServerMeta(a), withoutServerMeta(b));
}

function withoutServerMeta(resource: Resource): unknown {
  if (!resource.meta) return resource;
  const { versionId: _v, lastUpdated: _l, ...meta } = resource.meta;
  const copy: Record<string, unknown> = { ...resource };
  if (Object.keys(meta).length > 0) copy.meta = meta;
  else delete copy.meta;
  return copy;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.prototype.hasOwnProperty.call(b, k) &&
      deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
