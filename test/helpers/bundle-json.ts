/** The parts of transaction/batch response Bundles that the Bundle tests read. */
import type { OperationOutcome, Organization } from '@medplum/fhirtypes';

export type Entry = Record<string, unknown>;

export interface ResourceJson {
  resourceType: string;
  id?: string;
  name?: string;
  type?: string;
  meta?: { versionId?: string; lastUpdated?: string };
  entry?: EntryJson[];
  [element: string]: unknown;
}

export interface EntryJson {
  fullUrl?: string;
  resource?: ResourceJson;
  search?: { mode?: string };
  response: {
    status: string;
    location?: string;
    etag?: string;
    lastModified?: string;
    outcome?: OperationOutcome;
  };
}

export interface BundleJson {
  resourceType: string;
  type: string;
  entry?: EntryJson[];
}

export type StoredOrganization = Organization & { id: string };

export type Tuple<T, N extends number, R extends T[] = []> = R['length'] extends N
  ? R
  : Tuple<T, N, [...R, T]>;
