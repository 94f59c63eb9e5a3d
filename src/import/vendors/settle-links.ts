import type { Endpoint, Organization, Reference } from '@medplum/fhirtypes';
import type { FhirContext } from '../../fhir/context';
import type { Normalization } from '../import-report';
import { validationIssues } from '../validation-issues';
import type { EndpointState, OrgState, UnitState } from './unit-state';

/**
 * Step 3, until nothing changes: an Endpoint whose Organization is rejected is rejected too; an
 * Organization refers only to Endpoints that will be written (a dropped reference from the file is
 * noted), and is validated with those references.
 */
export function settleLinks(ctx: FhirContext, { orgs, endpoints }: UnitState): void {
  for (let changed = true; changed;) {
    changed = false;
    for (const ep of endpoints) {
      if (ep.issues.length > 0 || ep.conflict !== undefined) continue;
      const manager = orgs[ep.planned.manager] as OrgState;
      if (manager.issues.length > 0) {
        ep.issues.push({
          expression: 'Endpoint.managingOrganization',
          message: `its Organization (${manager.planned.source} ${manager.planned.label}) was rejected`,
        });
        changed = true;
      }
    }
    for (const org of orgs) {
      if (org.issues.length > 0 || org.id === undefined || org.conflict !== undefined) continue;
      const { references, notes } = endpointLinks(org, endpoints);
      const resource: Organization & { id: string } = { ...org.planned.resource, id: org.id };
      if (references.length > 0) resource.endpoint = references;
      const partOf = parentLink(org, orgs, notes);
      if (partOf) resource.partOf = partOf;
      if (org.resource && JSON.stringify(org.resource) === JSON.stringify(resource)) continue;
      org.resource = resource;
      org.notes = notes;
      const issues = validationIssues(ctx, resource);
      if (issues.length > 0) {
        org.issues.push(...issues);
        changed = true;
      }
    }
  }
}

/** Organization.partOf to the parent's stored id; dropped (and noted) when the parent was rejected. */
function parentLink(
  org: OrgState,
  orgs: OrgState[],
  notes: Normalization[],
): Reference<Organization> | undefined {
  if (org.planned.parent === undefined) return undefined;
  const parent = orgs[org.planned.parent] as OrgState;
  if (parent.issues.length === 0 && parent.id !== undefined)
    return { reference: `Organization/${parent.id}` };
  notes.push({
    kind: 'part-of',
    expression: 'Organization.partOf',
    detail: `dropped: its parent ${parent.planned.label} (${parent.planned.source}) was rejected`,
  });
  return undefined;
}

function endpointLinks(
  org: OrgState,
  endpoints: EndpointState[],
): { references: Reference<Endpoint>[]; notes: Normalization[] } {
  const references: Reference<Endpoint>[] = [];
  const notes: Normalization[] = [];
  for (const link of org.planned.links) {
    const ep = endpoints[link.endpoint] as EndpointState;
    if (ep.issues.length > 0 || ep.id === undefined || ep.conflict !== undefined) {
      if (link.fromFile)
        notes.push({
          kind: 'endpoint-reference-dropped',
          expression:
            link.index === undefined ? 'Organization.endpoint' : `Organization.endpoint[${link.index}]`,
          detail: `${ep.planned.label} (${ep.planned.source}) was rejected`,
        });
      continue;
    }
    references.push({
      reference: `Endpoint/${ep.id}`,
      ...(link.display !== undefined ? { display: link.display } : {}),
    });
  }
  return { references, notes };
}
