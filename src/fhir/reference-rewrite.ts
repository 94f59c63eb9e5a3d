/**
 * FHIR http.html#trules: references to an entry's fullUrl (usually `urn:uuid:`) are rewritten to
 * the id the server gave that entry, wherever they sit in a resource (partOf, managingOrganization,
 * endpoint[], inside extensions and contained resources).
 */
export function rewriteReferences<T>(
  value: T,
  targets: ReadonlyMap<string, string>,
  unresolved: string[],
): T {
  if (Array.isArray(value))
    return value.map((item: unknown) => rewriteReferences(item, targets, unresolved)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'reference' && typeof child === 'string') {
      const target = targets.get(child);
      if (target !== undefined) copy[key] = target;
      else {
        if (child.startsWith('urn:uuid:') || child.startsWith('urn:oid:')) unresolved.push(child);
        copy[key] = child;
      }
    } else {
      copy[key] = rewriteReferences(child, targets, unresolved);
    }
  }
  return copy as T;
}
