/**
 * What reading any vendor list does with one entry: tell a resource from anything else, label it
 * for the report, give its Organization the directory's defaults, and reject what has no place.
 */
import type { Organization } from '@medplum/fhirtypes';
import { isObject } from '../../fhir/json-value';
import type { ImportItem } from '../read-import-file';
import { rejection, type ImportIssue, type Normalization } from '../import-report';
import type { PlannedOrganization, VendorList, VendorPlan } from './vendor-plan';

export type Json = Record<string, unknown>;

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

/** `Endpoint/<id as in the file>`, for the report. */
export function labelOf(resource: unknown): string {
  if (!isObject(resource)) return '(not a resource)';
  const text = (value: unknown, absent: string): string =>
    typeof value === 'string' || typeof value === 'number' ? String(value) : absent;
  return `${text(resource.resourceType, '?')}/${text(resource.id, '(no id)')}`;
}

/** Organization defaults for a vendor list entry: active, type, and the vendor's id as an identifier. */
export function completeOrganization(
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

/** Where a list entry stands: its source (file and position), order and label. */
export interface EntryPlace {
  source: string;
  order: number;
  label: string;
}

/** An Organization of a list, completed (completeOrganization) and planned, with no links yet. */
export function planOrganization(
  place: EntryPlace,
  org: Organization,
  list: VendorList,
  vendorId: string,
  notes: Normalization[],
): PlannedOrganization {
  const match = completeOrganization(org, list, vendorId, notes);
  return { ...place, resource: org, normalizations: notes, issues: [], match, links: [] };
}

/** An entry that has no place in a vendor list. */
export function foreign(raw: unknown, list: string, holds: string): ImportIssue {
  if (!isObject(raw) || typeof raw.resourceType !== 'string')
    return { expression: '', message: 'not a FHIR resource' };
  return { expression: raw.resourceType, message: `${raw.resourceType} is not part of ${list} (${holds})` };
}

/** Rejects an entry with its reasons, in file order. */
export function rejectEntry(
  plan: VendorPlan,
  item: ImportItem,
  order: number,
  label: string,
  issues: ImportIssue[],
  normalizations: Normalization[] = [],
): void {
  plan.rejected.push({ ...rejection(item.source, label, issues, normalizations), order });
}
