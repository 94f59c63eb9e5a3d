/**
 * A slice of seed-data/directory.json for the web tests: the first organizations in file order (two
 * implementer trees, Salish Ridge HIE's among them), their parents and the Endpoints they manage,
 * written through the API in one transaction. The whole seed (1,076 resources) takes a minute or
 * more to load on a busy machine; this slice a few seconds, and keeps real shapes and extensions.
 */
import { readFileSync } from 'node:fs';
import type { Bundle, BundleEntry, Endpoint, Organization, Resource } from '@medplum/fhirtypes';
import { SEED_FILE } from '../../src/directory';
import { call } from '../helpers/fhir-client';
import type { TestDirectory } from '../helpers/test-directory';

export const SALISH_RIDGE = '2.16.840.1.113883.3.99901';
export const WRENBURY = '2.16.840.1.113883.3.99901.1';

export async function loadSeedSlice(dir: TestDirectory, organizations = 70): Promise<void> {
  const seed = JSON.parse(readFileSync(SEED_FILE, 'utf8')) as Bundle;
  const resources = (seed.entry ?? []).map((e) => e.resource as Resource);
  const orgs = resources.filter((r): r is Organization => r.resourceType === 'Organization');
  const picked = new Map(orgs.slice(0, organizations).map((o) => [o.id, o]));
  const byId = new Map(orgs.map((o) => [o.id, o]));
  for (const org of [...picked.values()]) {
    let parent = org.partOf?.reference?.replace('Organization/', '');
    while (parent && !picked.has(parent) && byId.has(parent)) {
      picked.set(parent, byId.get(parent) as Organization);
      parent = byId.get(parent)?.partOf?.reference?.replace('Organization/', '');
    }
  }
  const endpoints = resources.filter(
    (r): r is Endpoint =>
      r.resourceType === 'Endpoint' &&
      picked.has(r.managingOrganization?.reference?.replace('Organization/', '')),
  );
  const endpointIds = new Set(endpoints.map((e) => `Endpoint/${e.id ?? ''}`));
  const entry: BundleEntry[] = [...picked.values(), ...endpoints].map((resource) => ({
    // An organization's references to endpoints left out of the slice would not resolve.
    resource:
      resource.resourceType === 'Organization'
        ? { ...resource, endpoint: resource.endpoint?.filter((r) => endpointIds.has(r.reference ?? '')) }
        : resource,
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id ?? ''}` },
  }));
  const res = await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry });
  if (res.status !== 200)
    throw new Error(`The seed slice was refused: ${res.status} ${res.text.slice(0, 500)}`);
}
