/**
 * Snapshot generation (FHIR R4 profiling.html#snapshot) for the constraint profiles in `profiles/`:
 * the base definition's snapshot with the differential laid over it. It covers what our profiles use:
 * constrained cardinality, types, bindings, fixed and pattern values, added invariants, slices (with
 * their children) and constraints on the children of datatypes, which the base resource snapshot does
 * not list and which are unrolled from the datatype's own snapshot. Every differential element must
 * land somewhere: one that matches nothing is an error, never silently dropped.
 */
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { elementTree, type ElementNode } from '../element-tree';

export type { ElementNode };

/** Finds the snapshot of a base definition or datatype by canonical URL or type name. */
export type SnapshotSource = (urlOrType: string) => StructureDefinition | undefined;

/** Elements that add up rather than replace (profiling.html#snapshot: constraints accumulate). */
const ACCUMULATED = new Set<keyof ElementDefinition>(['constraint', 'condition', 'mapping']);

export function generateSnapshot(profile: StructureDefinition, source: SnapshotSource): ElementDefinition[] {
  const baseUrl = profile.baseDefinition;
  const base = baseUrl ? source(baseUrl) : undefined;
  if (!base?.snapshot?.element?.length)
    throw new Error(`${profile.url}: no snapshot for its base definition ${baseUrl ?? '(none)'}`);
  const differential = new Map<string, ElementDefinition>();
  for (const el of profile.differential?.element ?? []) {
    if (!el.id) throw new Error(`${profile.url}: differential element ${el.path} has no id`);
    differential.set(el.id, el);
  }
  const used = new Set<string>();
  const out: ElementDefinition[] = [];
  const [root] = elementTree(base.snapshot.element);
  if (!root) throw new Error(`${baseUrl ?? ''}: empty snapshot`);

  const emit = (node: ElementNode, id: string, path: string, inherited?: ElementDefinition): void => {
    const element = merge({ ...(inherited ?? node.element), id, path }, differential.get(id));
    if (differential.has(id)) used.add(id);
    if (inherited) delete element.slicing;
    out.push(element);
    for (const child of childrenOf(node, element, id, differential, source))
      emit(child, `${id}.${child.name}`, `${path}.${child.name}`);
    if (inherited) return; // re-slicing is not supported
    for (const slice of node.slices) emit(slice, `${id}:${slice.name}`, path);
    const known = new Set(node.slices.map((s) => s.name));
    for (const slice of slicesOf(id, differential).filter((name) => !known.has(name))) {
      const sliceElement = { ...element, sliceName: slice };
      emit({ ...node, slices: [] }, `${id}:${slice}`, path, sliceElement);
    }
  };
  emit(root, root.element.id ?? root.element.path, root.element.path);

  const unused = [...differential.keys()].filter((id) => !used.has(id));
  if (unused.length > 0)
    throw new Error(`${profile.url}: differential elements match nothing: ${unused.join(', ')}`);
  return out;
}

/**
 * The children of an element: those in the base snapshot, or, when the differential constrains
 * something beneath an element whose children the base does not list (Organization.identifier.system),
 * the children of its one datatype.
 */
function childrenOf(
  node: ElementNode,
  element: ElementDefinition,
  id: string,
  differential: ReadonlyMap<string, ElementDefinition>,
  source: SnapshotSource,
): ElementNode[] {
  if (node.children.length > 0) return node.children;
  const constrainsBelow = [...differential.keys()].some((key) => key.startsWith(`${id}.`));
  if (!constrainsBelow) return [];
  const types = element.type ?? [];
  const type = types.length === 1 ? types[0]?.code : undefined;
  const datatype = type ? source(type) : undefined;
  const [typeRoot] = datatype?.snapshot?.element ? elementTree(datatype.snapshot.element) : [];
  if (!typeRoot) throw new Error(`Cannot unroll the children of ${id}: it needs exactly one datatype`);
  return typeRoot.children;
}

/** The slice names the differential defines directly on `id` (`Organization.identifier:NPI`). */
function slicesOf(id: string, differential: ReadonlyMap<string, ElementDefinition>): string[] {
  const prefix = `${id}:`;
  return [...differential.keys()]
    .filter((key) => key.startsWith(prefix) && !/[.:]/.test(key.slice(prefix.length)))
    .map((key) => key.slice(prefix.length));
}

function merge(element: ElementDefinition, diff: ElementDefinition | undefined): ElementDefinition {
  const result: ElementDefinition = structuredClone(element);
  if (!diff) return result;
  const target = result as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(diff)) {
    if (key === 'id' || key === 'path') continue;
    const existing = target[key];
    target[key] =
      ACCUMULATED.has(key as keyof ElementDefinition) && Array.isArray(existing) && Array.isArray(value)
        ? [...(existing as unknown[]), ...(structuredClone(value) as unknown[])]
        : structuredClone(value);
  }
  return result;
}
