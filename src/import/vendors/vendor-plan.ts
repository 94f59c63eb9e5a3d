/**
 * What reading a vendor-published endpoint list produces, whichever the vendor: Organizations and
 * the Endpoints they manage, grouped in units that are matched and written together
 * (write-vendor-unit.ts), and the entries rejected before they could join one.
 *
 * Ids in the file are never our ids: re-imports find Organizations by the vendor identifier (`match`)
 * and Endpoints by address among their Organization's Endpoints.
 */
import type { Endpoint, Organization, Resource } from '@medplum/fhirtypes';
import type { ImportIssue, ImportSource, Normalization, Rejection } from '../import-report';

/** The vendors with a reader of their own; any other service-base-URL list is `hti1` (../hti1/). */
export type VendorSource = Exclude<ImportSource, 'fhir' | 'hti1' | 'lantern-list' | 'nppes-endpoints'>;

export interface VendorList {
  name: string;
  /** Identifier.system of the vendor ids added to Organizations: a stable URI naming the list. */
  system: string;
  /** Whether an Organization is matched by identifier and name (Epic: ids shared across organizations). */
  matchByName: boolean;
}

export const VENDOR_LISTS: Readonly<Record<VendorSource, VendorList>> = {
  epic: { name: 'Epic', system: 'https://open.epic.com/Endpoints/R4', matchByName: true },
  cerner: { name: 'Cerner', system: 'https://github.com/cerner/ignite-endpoints', matchByName: false },
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
  /** Organization.partOf: the parent, an index into the unit's organizations (service-base-URL lists). */
  parent?: number;
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

/**
 * Adds an Endpoint to its unit (and, when `link`, to its manager's Organization.endpoint); an address
 * listed twice for one Organization is rejected the second time.
 */
export function addEndpoint(unit: VendorUnit, planned: PlannedEndpoint, link: boolean): number {
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
