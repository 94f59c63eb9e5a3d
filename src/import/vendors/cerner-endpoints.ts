/**
 * Each Cerner Endpoint's manager: its own managingOrganization if that names an Organization in the
 * file, otherwise the first Organization that references it; an Endpoint with neither is rejected.
 */
import type { Endpoint } from '@medplum/fhirtypes';
import type { ImportIssue, Normalization } from '../import-report';
import { importIssues, normalizeResource } from '../normalize-resource';
import type { ImportItem } from '../read-import-file';
import type { CernerEndpoint, CernerOrg, CernerOrganizations } from './cerner-entries';
import { labelOf, rejectEntry } from './list-entries';
import type { VendorPlan } from './vendor-plan';

export function planCernerEndpoints(
  items: ImportItem[],
  { orgs, rejectedReferencer, endpointItems }: CernerOrganizations,
  byReference: Map<string, number>,
  plan: VendorPlan,
): CernerEndpoint[] {
  const referencedBy = new Map<number, CernerOrg[]>();
  for (const org of orgs.values())
    for (const ref of org.refs) referencedBy.set(ref.item, [...(referencedBy.get(ref.item) ?? []), org]);

  const endpoints: CernerEndpoint[] = [];
  for (const order of endpointItems) {
    const item = items[order] as ImportItem;
    const label = labelOf(item.resource);
    const { resource, normalizations } = normalizeResource(item.resource as Endpoint);
    const ep = resource as Endpoint;
    const manager = managerOf(
      ep,
      order,
      { orgs, rejectedReferencer, byReference, referencedBy },
      normalizations,
    );
    if ('issue' in manager) {
      rejectEntry(plan, item, order, label, [manager.issue], normalizations);
      continue;
    }
    delete ep.id;
    delete ep.managingOrganization;
    endpoints.push({
      order,
      planned: { source: item.source, order, label, resource: ep, normalizations, issues: importIssues(ep) },
      manager: manager.org,
    });
  }
  return endpoints;
}

interface Managers {
  orgs: Map<number, CernerOrg>;
  rejectedReferencer: Map<number, string>;
  byReference: Map<string, number>;
  referencedBy: Map<number, CernerOrg[]>;
}

function managerOf(
  ep: Endpoint,
  order: number,
  managers: Managers,
  normalizations: Normalization[],
): { org: CernerOrg } | { issue: ImportIssue } {
  const reject = (message: string): { issue: ImportIssue } => ({
    issue: { expression: 'Endpoint.managingOrganization', message },
  });
  const explicit = ep.managingOrganization?.reference;
  if (explicit !== undefined) {
    const target = managers.byReference.get(explicit);
    const org = target === undefined ? undefined : managers.orgs.get(target);
    return org ? { org } : reject(`'${explicit}' is not an Organization in this file`);
  }
  const referencing = managers.referencedBy.get(order) ?? [];
  const org = referencing[0];
  if (!org) {
    const rejectedOrg = managers.rejectedReferencer.get(order);
    return reject(
      rejectedOrg !== undefined
        ? `its Organization (${rejectedOrg}) was rejected`
        : 'missing, and no Organization in the file references this Endpoint: nothing says whose it is',
    );
  }
  normalizations.push({
    kind: 'managing-organization',
    expression: 'Endpoint.managingOrganization',
    detail: `set to ${org.planned.label} (${org.item.source}), ${
      referencing.length > 1
        ? `the first of ${referencing.length} Organizations that reference`
        : 'which references'
    } this Endpoint`,
  });
  return { org };
}
