/**
 * A StructureDefinition snapshot as a tree of its elements: what snapshot generation (profiles/) lays
 * a differential over and what the profile validator (validation/) walks a resource against. Here,
 * not in either folder, so that profiles/ depends on validation/ and never the other way round.
 */
import type { ElementDefinition } from '@medplum/fhirtypes';

export interface ElementNode {
  element: ElementDefinition;
  /** The element's own name under its parent (`identifier`, `value[x]`), or its slice name. */
  name: string;
  children: ElementNode[];
  /** Slices the base already defines on this element (US Core's identifier:NPI). */
  slices: ElementNode[];
}

/** The base snapshot as a tree by element id: `A.b` is a child of `A`, `A.b:s` a slice of `A.b`. */
export function elementTree(elements: readonly ElementDefinition[]): ElementNode[] {
  const roots: ElementNode[] = [];
  const byId = new Map<string, ElementNode>();
  for (const element of elements) {
    const id = element.id ?? element.path;
    const dot = id.lastIndexOf('.');
    const colon = id.lastIndexOf(':');
    const cut = Math.max(dot, colon);
    const node: ElementNode = { element, name: id.slice(cut + 1), children: [], slices: [] };
    byId.set(id, node);
    const owner = cut < 0 ? undefined : byId.get(id.slice(0, cut));
    if (!owner) roots.push(node);
    else if (colon > dot) owner.slices.push(node);
    else owner.children.push(node);
  }
  return roots;
}
