/**
 * Epic's list (open.epic.com/Endpoints/R4): every entry is an Endpoint with its Organization contained
 * (name only, a base64 id) and managingOrganization naming it. Epic's contained ids are per Epic
 * installation, not per organization (in the 2021 list 10 ids are shared by 29 differently named
 * organizations), so an Organization is keyed by that id together with its name.
 */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import type { ImportIssue, Normalization } from '../import-report';
import { importIssues, normalizeResource } from '../normalize-resource';
import type { ImportItem } from '../read-import-file';
import { isObject } from '../../fhir/json-value';
import { completeOrganization, foreign, labelOf, rejectEntry } from './list-entries';
import {
  addEndpoint,
  VENDOR_LISTS,
  type PlannedEndpoint,
  type PlannedOrganization,
  type VendorPlan,
  type VendorUnit,
} from './vendor-plan';

/** One entry taken apart: the contained Organization on its own, the Endpoint without it. */
interface EpicEntry {
  key: string;
  organization: Omit<PlannedOrganization, 'order' | 'source'>;
  endpoint: Omit<PlannedEndpoint, 'order' | 'source' | 'manager'>;
}

export function planEpic(items: ImportItem[]): VendorPlan {
  const plan: VendorPlan = { units: [], rejected: [] };
  const unitsByKey = new Map<string, VendorUnit>();
  items.forEach((item, order) => {
    const entry = splitEntry(item.resource);
    if ('issues' in entry) {
      rejectEntry(plan, item, order, labelOf(item.resource), entry.issues, entry.normalizations);
      return;
    }
    // One Organization per Epic id and name, however many entries list it.
    let unit = unitsByKey.get(entry.key);
    if (!unit) {
      unit = { organizations: [{ ...entry.organization, source: item.source, order }], endpoints: [] };
      unitsByKey.set(entry.key, unit);
      plan.units.push(unit);
    }
    addEndpoint(unit, { ...entry.endpoint, source: item.source, order, manager: 0 }, true);
  });
  return plan;
}

function splitEntry(raw: unknown): EpicEntry | { issues: ImportIssue[]; normalizations: Normalization[] } {
  const label = labelOf(raw);
  if (!isObject(raw) || raw.resourceType !== 'Endpoint')
    return { issues: [foreign(raw, 'an Epic endpoint list', 'Endpoints only')], normalizations: [] };
  const { resource, normalizations } = normalizeResource(raw as unknown as Endpoint);
  const endpoint = resource as Endpoint;
  const contained = endpoint.contained ?? [];
  const reference = endpoint.managingOrganization?.reference;
  const orgIndex = contained.findIndex(
    (c) => c.resourceType === 'Organization' && reference !== undefined && `#${c.id}` === reference,
  );
  const containedOrg = contained[orgIndex] as Organization | undefined;
  if (!containedOrg?.id) {
    const message =
      reference === undefined
        ? 'missing: an Epic list entry names its contained Organization here'
        : `'${reference}' is not the Organization contained in this Endpoint`;
    return { issues: [{ expression: 'Endpoint.managingOrganization', message }], normalizations };
  }
  const vendorId = containedOrg.id;
  const { id: _containedId, ...orgContent } = containedOrg;
  const org: Organization = { ...orgContent, resourceType: 'Organization' };
  delete org.endpoint;
  const orgNotes: Normalization[] = [];
  const match = completeOrganization(org, VENDOR_LISTS.epic, vendorId, orgNotes);
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
  return {
    key: JSON.stringify([vendorId, org.name ?? null]),
    organization: { label: orgLabel, resource: org, normalizations: orgNotes, issues: [], match, links: [] },
    endpoint: { label, resource: ep, normalizations, issues: importIssues(ep) },
  };
}
