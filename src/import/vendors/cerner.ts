/**
 * Cerner's list (github.com/cerner/ignite-endpoints): name-only Organizations each listing its
 * Endpoint in Organization.endpoint; the Endpoints have no managingOrganization. An Organization is
 * keyed by its id in the file; an Endpoint is managed by the (first) Organization that references it.
 * Read in steps: the Organizations (here), each Endpoint's manager (cerner-endpoints.ts), and the
 * units of Organizations and Endpoints that refer to each other (group-units.ts, shared).
 */
import type { Organization, Reference } from '@medplum/fhirtypes';
import type { ImportIssue, Normalization } from '../import-report';
import { normalizeResource } from '../normalize-resource';
import type { ImportItem } from '../read-import-file';
import { referenceIndex, type CernerOrg, type CernerOrganizations } from './cerner-entries';
import { planCernerEndpoints } from './cerner-endpoints';
import { groupUnits } from './group-units';
import { isObject } from '../../fhir/json-value';
import { foreign, labelOf, planOrganization, rejectEntry, type Json } from './list-entries';
import { VENDOR_LISTS, type VendorPlan } from './vendor-plan';

export function planCerner(items: ImportItem[]): VendorPlan {
  const plan: VendorPlan = { units: [], rejected: [] };
  const byReference = referenceIndex(items);
  const organizations = planCernerOrganizations(items, byReference, plan);
  const endpoints = planCernerEndpoints(items, organizations, byReference, plan);
  plan.units = groupUnits(
    items,
    [...organizations.orgs.values()].map((org) => ({ ...org, node: org.order })),
    endpoints.map((e) => ({ node: e.order, planned: e.planned, manager: { node: e.manager.order } })),
  );
  return plan;
}

/** Every Organization entry planned or rejected; anything but Organizations and Endpoints rejected. */
function planCernerOrganizations(
  items: ImportItem[],
  byReference: Map<string, number>,
  plan: VendorPlan,
): CernerOrganizations {
  const result: CernerOrganizations = { orgs: new Map(), rejectedReferencer: new Map(), endpointItems: [] };
  const orgByVendorId = new Map<string, CernerOrg>();
  items.forEach((item, order) => {
    const raw = item.resource;
    const label = labelOf(raw);
    if (!isObject(raw) || (raw.resourceType !== 'Organization' && raw.resourceType !== 'Endpoint')) {
      rejectEntry(plan, item, order, label, [
        foreign(raw, 'a Cerner endpoint list', 'Organizations and Endpoints only'),
      ]);
      return;
    }
    if (raw.resourceType === 'Endpoint') {
      result.endpointItems.push(order);
      return;
    }
    const { resource, normalizations } = normalizeResource(raw as unknown as Organization);
    const org = resource as Organization;
    const refs = endpointReferences(org, items, byReference, normalizations);
    const vendorId = typeof raw.id === 'string' && raw.id.trim() !== '' ? raw.id : undefined;
    const earlier = vendorId === undefined ? undefined : orgByVendorId.get(vendorId);
    if (vendorId === undefined || earlier) {
      const issue: ImportIssue = {
        expression: 'Organization.id',
        message:
          vendorId === undefined
            ? "missing: the vendor's id is what re-imports find this Organization by"
            : `'${vendorId}' is listed already (${earlier?.item.source ?? '?'})`,
      };
      rejectEntry(plan, item, order, label, [issue], normalizations);
      for (const ref of refs) result.rejectedReferencer.set(ref.item, `${item.source} ${label}`);
      return;
    }
    delete org.id;
    delete org.endpoint;
    const planned = planOrganization(
      { source: item.source, order, label },
      org,
      VENDOR_LISTS.cerner,
      vendorId,
      normalizations,
    );
    const cernerOrg: CernerOrg = { item, order, vendorId, planned, refs };
    result.orgs.set(order, cernerOrg);
    orgByVendorId.set(vendorId, cernerOrg);
  });
  return result;
}

/** Organization.endpoint as positions of Endpoint entries; a reference to anything else is dropped (and noted). */
function endpointReferences(
  org: Organization,
  items: ImportItem[],
  byReference: Map<string, number>,
  normalizations: Normalization[],
): CernerOrg['refs'] {
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
  return refs;
}
