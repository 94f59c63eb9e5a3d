/** The Cerner reader's intermediate shapes, shared by its steps (cerner.ts). */
import type { ImportItem } from '../read-import-file';
import type { PlannedEndpoint, PlannedOrganization } from './vendor-plan';

export interface CernerOrg {
  item: ImportItem;
  order: number;
  vendorId: string;
  planned: PlannedOrganization;
  /** Endpoint item indexes this Organization references, in its order, with the reference's display. */
  refs: { item: number; index: number; display?: string }[];
}

export interface CernerEndpoint {
  order: number;
  planned: Omit<PlannedEndpoint, 'manager'>;
  manager: CernerOrg;
}

/** What reading the Organizations leaves for the Endpoints' step. */
export interface CernerOrganizations {
  /** By position in the file. */
  orgs: Map<number, CernerOrg>;
  /** Endpoints referenced by a rejected Organization: that, not the lack of one, is why they have no manager. */
  rejectedReferencer: Map<number, string>;
  /** Positions of the Endpoint entries. */
  endpointItems: number[];
}

/** References in the file name entries by `Type/id` or by fullUrl: each to its position. */
export function referenceIndex(items: ImportItem[]): Map<string, number> {
  const byReference = new Map<string, number>();
  items.forEach((item, index) => {
    const r = item.resource;
    if (typeof r !== 'object' || r === null) return;
    const { resourceType, id } = r as { resourceType?: unknown; id?: unknown };
    if (typeof resourceType !== 'string') return;
    if (typeof id === 'string') byReference.set(`${resourceType}/${id}`, index);
    if (item.fullUrl) byReference.set(item.fullUrl, index);
  });
  return byReference;
}
