/**
 * Two publications of one list, for tests of a list kept current: Oracle Health's Soarian bundle
 * (test/fixtures/hti1, 7 Organizations each referencing its Endpoint) and a second one DERIVED from
 * it here for a controlled difference: the last Organization and its Endpoint removed, the first
 * Organization renamed, one new Organization with a new Endpoint added.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, Endpoint, Organization } from '@medplum/fhirtypes';

export const SOARIAN = join(__dirname, '..', 'fixtures', 'hti1', 'soarian_patient_r4_endpoints.json');

/** The first publication, as the file has it. */
export async function firstSnapshot(): Promise<Bundle> {
  return JSON.parse(await readFile(SOARIAN, 'utf8')) as Bundle;
}

/** The second publication: 2 entries created, 1 updated, 2 no longer listed, the rest unchanged. */
export function secondSnapshot(bundle: Bundle): Bundle {
  const entries = structuredClone(bundle.entry ?? []);
  const orgs = entries.filter((e) => e.resource?.resourceType === 'Organization');
  const last = orgs.at(-1)?.resource as Organization;
  const lastEndpoint = last.endpoint?.[0]?.reference;
  const kept = entries.filter((e) => e.resource !== last && `Endpoint/${e.resource?.id}` !== lastEndpoint);
  (orgs[0]?.resource as Organization).name = 'Renamed Health System';
  const model = structuredClone(orgs[1]?.resource as Organization);
  const modelEndpoint = structuredClone(
    kept.find((e) => `Endpoint/${e.resource?.id}` === model.endpoint?.[0]?.reference)?.resource as Endpoint,
  );
  kept.push(
    {
      fullUrl: 'https://example.org/new/Organization/Onew',
      resource: { ...model, id: 'Onew', name: 'New Clinic', endpoint: [{ reference: 'Endpoint/new' }] },
    },
    {
      fullUrl: 'https://example.org/new/Endpoint/new',
      resource: { ...modelEndpoint, id: 'new', address: 'https://fhir.example.org/r4/new/' },
    },
  );
  return { ...bundle, entry: kept };
}
