/**
 * Vendor-published endpoint lists, told apart by shape (detect-source.ts), turned into the
 * directory's own shape: a standalone Organization (active, typed, carrying the vendor's id as an
 * identifier) managing its Endpoints (managingOrganization a literal reference), linked back by
 * Organization.endpoint. One reader per vendor: epic.ts, cerner.ts.
 */
import type { ImportItem } from '../read-import-file';
import { planCerner } from './cerner';
import { planEpic } from './epic';
import type { VendorPlan, VendorSource } from './vendor-plan';

export function planVendorList(source: VendorSource, items: ImportItem[]): VendorPlan {
  return source === 'epic' ? planEpic(items) : planCerner(items);
}
