/**
 * Cerner's Organizations and Endpoints grouped into units: those connected by references (union-find
 * over file positions) are matched and written together. Each Organization's links: its
 * Organization.endpoint in its own order, then the Endpoints it manages without referencing them
 * (their managingOrganization named it).
 */
import type { ImportItem } from '../read-import-file';
import type { CernerEndpoint, CernerOrg } from './cerner-entries';
import { labelOf } from './list-entries';
import { addEndpoint, type PlannedOrganization, type VendorUnit } from './vendor-plan';

export function groupCernerUnits(
  items: ImportItem[],
  orgs: Map<number, CernerOrg>,
  endpoints: CernerEndpoint[],
): VendorUnit[] {
  const find = connectedByReferences(orgs, endpoints);
  const units = new Map<number, VendorUnit>();
  const unitOf = (order: number): VendorUnit => {
    const root = find(order);
    let unit = units.get(root);
    if (!unit) {
      unit = { organizations: [], endpoints: [] };
      units.set(root, unit);
    }
    return unit;
  };
  const inOrder = [...orgs.values()].sort((a, b) => a.order - b.order);
  const orgIndex = new Map<number, number>();
  for (const org of inOrder) {
    const unit = unitOf(org.order);
    unit.organizations.push(org.planned);
    orgIndex.set(org.order, unit.organizations.length - 1);
  }
  const endpointIndex = new Map<number, number>();
  for (const e of endpoints) {
    const manager = orgIndex.get(e.manager.order) ?? 0;
    endpointIndex.set(e.order, addEndpoint(unitOf(e.order), { ...e.planned, manager }, false));
  }
  for (const org of inOrder) {
    const unit = unitOf(org.order);
    const position = orgIndex.get(org.order) ?? 0;
    linkEndpoints(items, org, unit, position, endpointIndex);
  }
  return [...units.entries()].sort((a, b) => a[0] - b[0]).map(([, unit]) => unit);
}

/** `find`: the root of an entry's group, entries joined where an Organization and an Endpoint refer to each other. */
function connectedByReferences(
  orgs: Map<number, CernerOrg>,
  endpoints: CernerEndpoint[],
): (order: number) => number {
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
  const plannedEndpointOrders = new Set(endpoints.map((e) => e.order));
  for (const org of orgs.values())
    for (const ref of org.refs) if (plannedEndpointOrders.has(ref.item)) union(org.order, ref.item);
  for (const e of endpoints) union(e.order, e.manager.order);
  return find;
}

function linkEndpoints(
  items: ImportItem[],
  org: CernerOrg,
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
