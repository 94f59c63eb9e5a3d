/**
 * The service-base-URL reader's view of the file (plan-hti1.ts): where each reference in it leads,
 * and the Organizations it reads, top-level or lifted out of an Endpoint's `contained`.
 */
import type { ImportItem } from '../read-import-file';
import type { UnitOrganization } from '../vendors/group-units';

/** An Organization of the list: a top-level entry, or one contained in an Endpoint (node past the entries). */
export type Hti1Org = UnitOrganization;

/** Resolves a reference written in the file to the entries of `type` it may mean. */
export interface ReferenceIndex {
  resolve(reference: string, type: 'Organization' | 'Endpoint'): number[];
}

/** References name entries by fullUrl or by `Type/id` (several, when the file repeats an id). */
export function referenceIndex(items: ImportItem[]): ReferenceIndex {
  const byFullUrl = new Map<string, number>();
  const byTypeId = new Map<string, number[]>();
  const typeOf = (index: number): unknown =>
    (items[index]?.resource as { resourceType?: unknown } | undefined)?.resourceType;
  items.forEach((item, index) => {
    const r = item.resource as { resourceType?: unknown; id?: unknown } | undefined;
    if (typeof r !== 'object' || r === null || typeof r.resourceType !== 'string') return;
    if (typeof r.id === 'string') {
      const key = `${r.resourceType}/${r.id}`;
      byTypeId.set(key, [...(byTypeId.get(key) ?? []), index]);
    }
    if (item.fullUrl !== undefined && !byFullUrl.has(item.fullUrl)) byFullUrl.set(item.fullUrl, index);
  });
  return {
    resolve(reference, type) {
      const exact = byFullUrl.get(reference);
      if (exact !== undefined && typeOf(exact) === type) return [exact];
      // An absolute reference whose tail is Type/id names the entry with that type and id.
      const tail = /(?:^|\/)([A-Za-z]+\/[^/]+)$/.exec(reference)?.[1];
      return (tail === undefined ? [] : (byTypeId.get(tail) ?? [])).filter((i) => typeOf(i) === type);
    },
  };
}
