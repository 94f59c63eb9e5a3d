/**
 * Vendor-published endpoint lists, told apart by shape, turned into the directory's own shape: a
 * standalone Organization (active, typed, carrying the vendor's id as an identifier) managing its
 * Endpoints (managingOrganization a literal reference), linked back by Organization.endpoint.
 *
 * - `epic` — open.epic.com/Endpoints/R4: every entry is an Endpoint with its Organization contained
 *   (name only, a base64 id) and managingOrganization naming it. Epic's contained ids are per Epic
 *   installation, not per organization (in the 2021 list 10 ids are shared by 29 differently named
 *   organizations), so an Organization is keyed by that id together with its name.
 * - `cerner` — github.com/cerner/ignite-endpoints: name-only Organizations each listing its Endpoint
 *   in Organization.endpoint; the Endpoints have no managingOrganization. An Organization is keyed by
 *   its id in the file; an Endpoint is managed by the (first) Organization that references it.
 *
 * Ids in the file are never our ids: re-imports find Organizations by the vendor identifier and
 * Endpoints by address among their Organization's Endpoints (vendor-writer.ts).
 */
import type { Endpoint, Organization, Reference, Resource } from '@medplum/fhirtypes';
import {
  rejection,
  type ImportIssue,
  type ImportSource,
  type Normalization,
  type Rejection,
} from './import-report';
import { importIssues, normalizeResource } from './normalize-resource';
import type { ImportItem } from './read-import-file';

export interface VendorList {
  name: string;
  /** Identifier.system of the vendor ids added to Organizations: a stable URI naming the list. */
  system: string;
  /** Whether an Organization is matched by identifier and name (Epic: ids shared across organizations). */
  matchByName: boolean;
}

export const VENDOR_LISTS: Readonly<Record<Exclude<ImportSource, 'fhir'>, VendorList>> = {
  epic: { name: 'Epic', system: 'https://open.epic.com/Endpoints/R4', matchByName: true },
  cerner: { name: 'Cerner', system: 'https://github.com/cerner/ignite-endpoints', matchByName: false },
};

/** Vendor patient-access lists publish provider organizations: organization-type#prov. */
export const PROVIDER_TYPE = {
  coding: [
    {
      system: 'http://terminology.hl7.org/CodeSystem/organization-type',
      code: 'prov',
      display: 'Healthcare Provider',
    },
  ],
};

interface Planned<T extends Resource> {
  source: string;
  /** Position of the entry in the file, for the report's order. */
  order: number;
  label: string;
  /** Normalized, without id (ours is decided when matching) and without the links the writer sets. */
  resource: T;
  normalizations: Normalization[];
  /** Problems found while planning: non-empty means rejected. */
  issues: ImportIssue[];
}

export interface PlannedOrganization extends Planned<Organization> {
  match: { system: string; value: string; name?: string };
  /** Organization.endpoint, as indexes into the unit's endpoints; `fromFile` when the file had the reference. */
  links: { endpoint: number; display?: string; fromFile: boolean; index?: number }[];
}

export interface PlannedEndpoint extends Planned<Endpoint> {
  /** The managing Organization, an index into the unit's organizations. */
  manager: number;
}

/** Organizations and Endpoints that refer to each other: matched and written together. */
export interface VendorUnit {
  organizations: PlannedOrganization[];
  endpoints: PlannedEndpoint[];
}

export interface VendorPlan {
  units: VendorUnit[];
  /** Entries rejected before they could join a unit. */
  rejected: Array<Rejection & { order: number }>;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const resourcesOf = (items: ImportItem[]): unknown[] => items.map((item) => item.resource);

/**
 * The vendor shape of a file, if it has one:
 * `epic` when every entry is an Endpoint with a contained Organization; `cerner` when every entry is
 * an Organization or an Endpoint, some Organization lists endpoints, no Organization has an
 * identifier and no Endpoint a managingOrganization. Anything else is imported as plain FHIR.
 */
export function detectSource(items: ImportItem[]): ImportSource {
  const resources = resourcesOf(items);
  if (resources.length === 0 || !resources.every(isObject)) return 'fhir';
  const epic = resources.every(
    (r) =>
      r.resourceType === 'Endpoint' &&
      Array.isArray(r.contained) &&
      r.contained.some((c) => isObject(c) && c.resourceType === 'Organization'),
  );
  if (epic) return 'epic';
  const cerner =
    resources.every((r) => r.resourceType === 'Organization' || r.resourceType === 'Endpoint') &&
    resources.some((r) => r.resourceType === 'Organization' && r.endpoint !== undefined) &&
    resources.every((r) =>
      r.resourceType === 'Organization' ? r.identifier === undefined : r.managingOrganization === undefined,
    );
  return cerner ? 'cerner' : 'fhir';
}

export function planVendorList(source: Exclude<ImportSource, 'fhir'>, items: ImportItem[]): VendorPlan {
  return source === 'epic' ? planEpic(items) : planCerner(items);
}

function labelOf(resource: unknown): string {
  if (!isObject(resource)) return '(not a resource)';
  const text = (value: unknown, absent: string): string =>
    typeof value === 'string' || typeof value === 'number' ? String(value) : absent;
  return `${text(resource.resourceType, '?')}/${text(resource.id, '(no id)')}`;
}

/** Organization defaults for a vendor list entry: active, type, and the vendor's id as an identifier. */
function completeOrganization(
  org: Organization,
  list: VendorList,
  vendorId: string,
  notes: Normalization[],
): PlannedOrganization['match'] {
  if (org.active === undefined) {
    org.active = true;
    notes.push({ kind: 'default-active', expression: 'Organization.active', detail: 'absent: set to true' });
  }
  if (org.type === undefined) {
    org.type = [PROVIDER_TYPE];
    notes.push({
      kind: 'default-type',
      expression: 'Organization.type',
      detail: `absent: set to organization-type#prov (${list.name}'s patient-access list names provider organizations)`,
    });
  }
  const identifiers = org.identifier ?? [];
  if (!identifiers.some((i) => i.system === list.system && i.value === vendorId)) {
    notes.push({
      kind: 'source-identifier',
      expression: `Organization.identifier[${identifiers.length}]`,
      detail: `added ${list.system}|${vendorId}`,
    });
    org.identifier = [...identifiers, { system: list.system, value: vendorId }];
  }
  const match: PlannedOrganization['match'] = { system: list.system, value: vendorId };
  if (list.matchByName && org.name !== undefined) match.name = org.name;
  return match;
}

/** An entry that has no place in a vendor list. */
function foreign(raw: unknown, list: string, holds: string): ImportIssue {
  if (!isObject(raw) || typeof raw.resourceType !== 'string')
    return { expression: '', message: 'not a FHIR resource' };
  return { expression: raw.resourceType, message: `${raw.resourceType} is not part of ${list} (${holds})` };
}

function reject(
  plan: VendorPlan,
  item: ImportItem,
  order: number,
  label: string,
  issues: ImportIssue[],
  normalizations: Normalization[] = [],
): void {
  plan.rejected.push({ ...rejection(item.source, label, issues, normalizations), order });
}

function planEpic(items: ImportItem[]): VendorPlan {
  const list = VENDOR_LISTS.epic;
  const plan: VendorPlan = { units: [], rejected: [] };
  const unitsByKey = new Map<string, VendorUnit>();
  items.forEach((item, order) => {
    const raw = item.resource;
    const label = labelOf(raw);
    if (!isObject(raw) || raw.resourceType !== 'Endpoint') {
      reject(plan, item, order, label, [foreign(raw, 'an Epic endpoint list', 'Endpoints only')]);
      return;
    }
    const { resource, normalizations } = normalizeResource(raw as unknown as Endpoint);
    const endpoint = resource as Endpoint;
    const contained = endpoint.contained ?? [];
    const reference = endpoint.managingOrganization?.reference;
    const orgIndex = contained.findIndex(
      (c) => c.resourceType === 'Organization' && reference !== undefined && `#${c.id}` === reference,
    );
    const containedOrg = contained[orgIndex] as Organization | undefined;
    if (!containedOrg?.id) {
      reject(
        plan,
        item,
        order,
        label,
        [
          {
            expression: 'Endpoint.managingOrganization',
            message:
              reference === undefined
                ? 'missing: an Epic list entry names its contained Organization here'
                : `'${reference}' is not the Organization contained in this Endpoint`,
          },
        ],
        normalizations,
      );
      return;
    }
    const vendorId = containedOrg.id;
    const { id: _containedId, ...orgContent } = containedOrg;
    const org: Organization = { ...orgContent, resourceType: 'Organization' };
    delete org.endpoint;
    const orgNotes: Normalization[] = [];
    const match = completeOrganization(org, list, vendorId, orgNotes);
    const orgLabel = org.name !== undefined ? `Organization '${org.name}'` : `Organization #${vendorId}`;

    const rest = contained.filter((_, i) => i !== orgIndex);
    const {
      id: _vendorEndpointId,
      managingOrganization: _managing,
      contained: _contained,
      ...endpointContent
    } = endpoint;
    const ep: Endpoint = { ...endpointContent, resourceType: 'Endpoint' };
    if (rest.length > 0) ep.contained = rest;
    normalizations.push({
      kind: 'contained-organization',
      expression: `Endpoint.contained[${orgIndex}]`,
      detail: `${orgLabel} (contained id '${vendorId}') stored on its own and referenced as managingOrganization`,
    });

    // One Organization per Epic id and name, however many entries list it.
    const key = JSON.stringify([vendorId, org.name ?? null]);
    let unit = unitsByKey.get(key);
    if (!unit) {
      unit = {
        organizations: [
          {
            source: item.source,
            order,
            label: orgLabel,
            resource: org,
            normalizations: orgNotes,
            issues: [],
            match,
            links: [],
          },
        ],
        endpoints: [],
      };
      unitsByKey.set(key, unit);
      plan.units.push(unit);
    }
    addEndpoint(
      unit,
      {
        source: item.source,
        order,
        label,
        resource: ep,
        normalizations,
        issues: importIssues(ep),
        manager: 0,
      },
      true,
    );
  });
  return plan;
}

/**
 * Adds an Endpoint to its unit (and, when `link`, to its manager's Organization.endpoint); an address
 * listed twice for one Organization is rejected the second time.
 */
function addEndpoint(unit: VendorUnit, planned: PlannedEndpoint, link: boolean): number {
  const twin = unit.endpoints.find(
    (e) =>
      e.manager === planned.manager &&
      e.issues.length === 0 &&
      e.resource.address === planned.resource.address,
  );
  if (twin && planned.issues.length === 0)
    planned.issues.push({
      expression: 'Endpoint.address',
      message: `'${String(planned.resource.address)}' is already listed for this Organization (${twin.source} ${twin.label})`,
    });
  unit.endpoints.push(planned);
  const index = unit.endpoints.length - 1;
  const manager = unit.organizations[planned.manager];
  if (link && manager) manager.links.push({ endpoint: index, fromFile: false });
  return index;
}

interface CernerOrg {
  item: ImportItem;
  order: number;
  vendorId: string;
  planned: PlannedOrganization;
  /** Endpoint item indexes this Organization references, in its order, with the reference's display. */
  refs: { item: number; index: number; display?: string }[];
}

function planCerner(items: ImportItem[]): VendorPlan {
  const list = VENDOR_LISTS.cerner;
  const plan: VendorPlan = { units: [], rejected: [] };
  // References in the file name entries by `Type/id` or by fullUrl.
  const byReference = new Map<string, number>();
  items.forEach((item, index) => {
    const r = item.resource;
    if (!isObject(r) || typeof r.resourceType !== 'string') return;
    if (typeof r.id === 'string') byReference.set(`${r.resourceType}/${r.id}`, index);
    if (item.fullUrl) byReference.set(item.fullUrl, index);
  });

  const orgs = new Map<number, CernerOrg>();
  /** Endpoints referenced by a rejected Organization: that, not the lack of one, is why they have no manager. */
  const rejectedReferencer = new Map<number, string>();
  const orgByVendorId = new Map<string, CernerOrg>();
  const endpointItems: number[] = [];
  items.forEach((item, order) => {
    const raw = item.resource;
    const label = labelOf(raw);
    if (!isObject(raw) || (raw.resourceType !== 'Organization' && raw.resourceType !== 'Endpoint')) {
      reject(plan, item, order, label, [
        foreign(raw, 'a Cerner endpoint list', 'Organizations and Endpoints only'),
      ]);
      return;
    }
    if (raw.resourceType === 'Endpoint') {
      endpointItems.push(order);
      return;
    }
    const { resource, normalizations } = normalizeResource(raw as unknown as Organization);
    const org = resource as Organization;
    const refs: CernerOrg['refs'] = [];
    (org.endpoint ?? []).forEach((ref: Reference, index) => {
      const target = ref.reference === undefined ? undefined : byReference.get(ref.reference);
      const targetType = target === undefined ? undefined : (items[target]?.resource as Json).resourceType;
      if (target === undefined || targetType !== 'Endpoint') {
        normalizations.push({
          kind: 'endpoint-reference-dropped',
          expression: `Organization.endpoint[${index}]`,
          detail: `'${String(ref.reference)}' is not an Endpoint in this file`,
        });
      } else if (!refs.some((r) => r.item === target)) {
        refs.push({ item: target, index, ...(ref.display !== undefined ? { display: ref.display } : {}) });
      }
    });
    const vendorId = typeof raw.id === 'string' && raw.id.trim() !== '' ? raw.id : undefined;
    if (vendorId === undefined) {
      reject(
        plan,
        item,
        order,
        label,
        [
          {
            expression: 'Organization.id',
            message: "missing: the vendor's id is what re-imports find this Organization by",
          },
        ],
        normalizations,
      );
      for (const ref of refs) rejectedReferencer.set(ref.item, `${item.source} ${label}`);
      return;
    }
    const earlier = orgByVendorId.get(vendorId);
    if (earlier) {
      reject(
        plan,
        item,
        order,
        label,
        [
          {
            expression: 'Organization.id',
            message: `'${vendorId}' is listed already (${earlier.item.source})`,
          },
        ],
        normalizations,
      );
      for (const ref of refs) rejectedReferencer.set(ref.item, `${item.source} ${label}`);
      return;
    }
    delete org.id;
    delete org.endpoint;
    const notes = normalizations;
    const match = completeOrganization(org, list, vendorId, notes);
    const planned: PlannedOrganization = {
      source: item.source,
      order,
      label,
      resource: org,
      normalizations: notes,
      issues: [],
      match,
      links: [],
    };
    const cernerOrg: CernerOrg = { item, order, vendorId, planned, refs };
    orgs.set(order, cernerOrg);
    orgByVendorId.set(vendorId, cernerOrg);
  });

  // Each Endpoint's manager: its own managingOrganization if that names an Organization in the file,
  // otherwise the first Organization that references it.
  const referencedBy = new Map<number, CernerOrg[]>();
  for (const org of orgs.values())
    for (const ref of org.refs) referencedBy.set(ref.item, [...(referencedBy.get(ref.item) ?? []), org]);

  interface CernerEndpoint {
    order: number;
    planned: Omit<PlannedEndpoint, 'manager'>;
    manager: CernerOrg;
  }
  const endpoints: CernerEndpoint[] = [];
  for (const order of endpointItems) {
    const item = items[order] as ImportItem;
    const raw = item.resource as Json;
    const label = labelOf(raw);
    const { resource, normalizations } = normalizeResource(raw as unknown as Endpoint);
    const ep = resource as Endpoint;
    const explicit = ep.managingOrganization?.reference;
    const explicitTarget = explicit === undefined ? undefined : byReference.get(explicit);
    const referencing = referencedBy.get(order) ?? [];
    let manager: CernerOrg | undefined;
    if (explicit !== undefined) {
      manager = explicitTarget === undefined ? undefined : orgs.get(explicitTarget);
      if (!manager) {
        reject(
          plan,
          item,
          order,
          label,
          [
            {
              expression: 'Endpoint.managingOrganization',
              message: `'${explicit}' is not an Organization in this file`,
            },
          ],
          normalizations,
        );
        continue;
      }
    } else {
      manager = referencing[0];
      const rejectedOrg = rejectedReferencer.get(order);
      if (!manager && rejectedOrg !== undefined) {
        reject(
          plan,
          item,
          order,
          label,
          [
            {
              expression: 'Endpoint.managingOrganization',
              message: `its Organization (${rejectedOrg}) was rejected`,
            },
          ],
          normalizations,
        );
        continue;
      }
      if (!manager) {
        reject(
          plan,
          item,
          order,
          label,
          [
            {
              expression: 'Endpoint.managingOrganization',
              message:
                'missing, and no Organization in the file references this Endpoint: nothing says whose it is',
            },
          ],
          normalizations,
        );
        continue;
      }
      normalizations.push({
        kind: 'managing-organization',
        expression: 'Endpoint.managingOrganization',
        detail: `set to ${manager.planned.label} (${manager.item.source}), ${
          referencing.length > 1
            ? `the first of ${referencing.length} Organizations that reference`
            : 'which references'
        } this Endpoint`,
      });
    }
    delete ep.id;
    delete ep.managingOrganization;
    endpoints.push({
      order,
      planned: { source: item.source, order, label, resource: ep, normalizations, issues: importIssues(ep) },
      manager,
    });
  }

  // Units: Organizations and Endpoints connected by references (union-find over file positions).
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
  const orgIndex = new Map<number, number>();
  for (const org of [...orgs.values()].sort((a, b) => a.order - b.order)) {
    const unit = unitOf(org.order);
    unit.organizations.push(org.planned);
    orgIndex.set(org.order, unit.organizations.length - 1);
  }
  const endpointIndex = new Map<number, number>();
  for (const e of endpoints) {
    const manager = orgIndex.get(e.manager.order) ?? 0;
    endpointIndex.set(e.order, addEndpoint(unitOf(e.order), { ...e.planned, manager }, false));
  }
  // Organization.endpoint in the Organization's own order, then the Endpoints it manages without
  // referencing them (their managingOrganization named it).
  for (const org of [...orgs.values()].sort((a, b) => a.order - b.order)) {
    const unit = unitOf(org.order);
    const position = orgIndex.get(org.order) ?? 0;
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
  plan.units = [...units.entries()].sort((a, b) => a[0] - b[0]).map(([, unit]) => unit);
  return plan;
}
