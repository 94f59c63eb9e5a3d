/** A vendor unit's resources while it is being matched and written (write-vendor-unit.ts). */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import type { ImportIssue, Normalization } from '../import-report';
import type { PlannedEndpoint, PlannedOrganization, VendorUnit } from './vendor-plan';

export interface OrgState {
  planned: PlannedOrganization;
  id?: string;
  existing: boolean;
  issues: ImportIssue[];
  resource?: Organization & { id: string };
  /** Notes added while writing (references to rejected Endpoints dropped). */
  notes: Normalization[];
  /** Why the stored match is not this source's to change (another owner): nothing is written for it. */
  conflict?: string;
}

export interface EndpointState {
  planned: PlannedEndpoint;
  id?: string;
  issues: ImportIssue[];
  resource?: Endpoint & { id: string };
  conflict?: string;
}

export interface UnitState {
  orgs: OrgState[];
  endpoints: EndpointState[];
}

export function unitState(unit: VendorUnit): UnitState {
  return {
    orgs: unit.organizations.map((planned) => ({
      planned,
      existing: false,
      issues: [...planned.issues],
      notes: [],
    })),
    endpoints: unit.endpoints.map((planned) => ({ planned, issues: [...planned.issues] })),
  };
}
