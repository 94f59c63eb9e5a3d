/**
 * A list's Organizations and Endpoints grouped into units: those connected by references
 * (Organization.endpoint, managingOrganization, partOf; union-find over nodes) are matched and written
 * together. Each Organization's links: its Organization.endpoint in its own order, then the Endpoints
 * it manages without referencing them (their managingOrganization named it). The one step of the
 * Cerner reader (cerner.ts) and of any developer's service-base-URL list (hti1/plan-hti1.ts).
 */
import type { ImportItem } from '../read-import-file';
import { labelOf } from './list-entries';
import { addEndpoint, type PlannedEndpoint, type PlannedOrganization, type VendorUnit } from './vendor-plan';

export interface UnitOrganization {
  /** Its node in the union-find: its entry's position, or past the entries for one read out of an Endpoint. */
  node: number;
  /** The entry it was read from. */
  order: number;
  planned: PlannedOrganization;
  /** Organization.endpoint as positions of planned-or-rejected Endpoint entries. */
  refs: { item: number; index: number; display?: string }[];
  /** partOf, as the position of an Organization entry (planned or rejected). */
  parentItem?: number;
}

export interface UnitEndpoint {
  node: number;
  planned: Omit<PlannedEndpoint, 'manager'>;
  manager: { node: number };
}

export function groupUnits(
  items: ImportItem[],
  organizations: UnitOrganization[],
  endpoints: UnitEndpoint[],
): VendorUnit[] {
  const orgs = [...organizations].sort((a, b) => a.order - b.order || a.node - b.node);
  const find = connectedByReferences(orgs, endpoints);
  const units = new Map<number, VendorUnit>();
  const unitOf = (node: number): VendorUnit => {
    const root = find(node);
    let unit = units.get(root);
    if (!unit) {
      unit = { organizations: [], endpoints: [] };
      units.set(root, unit);
    }
    return unit;
  };
  const orgIndex = new Map<number, number>();
  for (const org of orgs) {
    const unit = unitOf(org.node);
    unit.organizations.push(org.planned);
    orgIndex.set(org.node, unit.organizations.length - 1);
  }
  const endpointIndex = new Map<number, number>();
  for (const e of endpoints) {
    const manager = orgIndex.get(e.manager.node) ?? 0;
    endpointIndex.set(e.node, addEndpoint(unitOf(e.node), { ...e.planned, manager }, false));
  }
  for (const org of orgs) {
    const unit = unitOf(org.node);
    const position = orgIndex.get(org.node) ?? 0;
    const planned = unit.organizations[position];
    if (!planned) continue;
    linkParent(items, org, planned, orgIndex);
    linkEndpoints(items, org, unit, position, endpointIndex);
  }
  return [...units.entries()].sort((a, b) => a[0] - b[0]).map(([, unit]) => unit);
}

/** `find`: the root of a node's group, nodes joined where entries refer to each other. */
function connectedByReferences(
  orgs: UnitOrganization[],
  endpoints: UnitEndpoint[],
): (node: number) => number {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let root = x;
    while ((parent.get(root) ?? root) !== root) root = parent.get(root) ?? root;
    parent.set(x, root);
    return root;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
  };
  const plannedEndpoints = new Set(endpoints.map((e) => e.node));
  for (const org of orgs) {
    for (const ref of org.refs) if (plannedEndpoints.has(ref.item)) union(org.node, ref.item);
    if (org.parentItem !== undefined) union(org.node, org.parentItem);
  }
  for (const e of endpoints) union(e.node, e.manager.node);
  return find;
}

/** partOf: the parent's position in the unit, or a note that it was dropped with its rejected parent. */
function linkParent(
  items: ImportItem[],
  org: UnitOrganization,
  planned: PlannedOrganization,
  orgIndex: Map<number, number>,
): void {
  if (org.parentItem === undefined) return;
  const parent = orgIndex.get(org.parentItem);
  if (parent !== undefined) planned.parent = parent;
  else
    planned.normalizations.push({
      kind: 'part-of',
      expression: 'Organization.partOf',
      detail: `dropped: its parent ${labelOf(items[org.parentItem]?.resource)} (${items[org.parentItem]?.source ?? '?'}) was rejected`,
    });
}

function linkEndpoints(
  items: ImportItem[],
  org: UnitOrganization,
  unit: VendorUnit,
  position: number,
  endpointIndex: Map<number, number>,
): void {
  const planned = unit.organizations[position] as PlannedOrganization;
  for (const ref of org.refs) {
    const index = endpointIndex.get(ref.item);
    if (index === undefined) {
      planned.normalizations.push({
        kind: 'endpoint-reference-dropped',
        expression: `Organization.endpoint[${ref.index}]`,
        detail: `${labelOf(items[ref.item]?.resource)} (${items[ref.item]?.source ?? '?'}) was rejected`,
      });
      continue;
    }
    planned.links.push({
      endpoint: index,
      fromFile: true,
      index: ref.index,
      ...(ref.display !== undefined ? { display: ref.display } : {}),
    });
  }
  unit.endpoints.forEach((e, index) => {
    if (e.manager === position && !planned.links.some((l) => l.endpoint === index))
      planned.links.push({ endpoint: index, fromFile: false });
  });
}
