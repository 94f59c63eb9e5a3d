/**
 * The hand-made directory the search tests (test/http/search-*.test.ts) run against, and the calls
 * they read it with. It holds what the directory's profiles refuse (an Organization without type or
 * active, an Endpoint without managingOrganization) because `:missing` needs it, so it runs with
 * ENFORCE_PROFILES=false; profile validation has its own tests (test/http/profiles.test.ts).
 * Each test file starts its own directory over this fixture, so no file sees what another creates.
 */
import { call, type FhirResponse } from './fhir-client';
import { startTestDirectory, type TestDirectory } from './test-directory';

export const NPI = 'http://hl7.org/fhir/sid/us-npi';
export const TAX = 'urn:oid:2.16.840.1.113883.4.4';
export const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
export const ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
export const CONNECTION = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
export const PAYLOAD = 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type';
export const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const TAGS = 'http://example.org/fhir/tags';
export const PROFILE = 'http://example.org/fhir/StructureDefinition/directory-organization';
export const SOURCE = 'http://example.org/importer#run-1';
export const SUBSETTED = 'SUBSETTED';

/** The six organizations of the fixture, for searches that must not see what other tests create. */
export const BASE_ORGS = ['org-sjc', 'org-valley', 'org-nvh', 'org-nvh-lab', 'org-hub', 'org-empire'];

export const ref = (reference: string): { reference: string } => ({ reference });
export const npi = (value: string, typed = true): Record<string, unknown> => ({
  system: NPI,
  value,
  ...(typed
    ? { type: { coding: [{ system: V2_0203, code: 'NPI' }], text: 'National Provider Identifier' } }
    : {}),
});

export function endpointResource(
  id: string,
  code: string,
  status: string,
  managingOrganization?: string,
  name?: string,
): Record<string, unknown> {
  return {
    resourceType: 'Endpoint',
    id,
    status,
    connectionType: { system: CONNECTION, code },
    ...(name ? { name } : {}),
    ...(managingOrganization ? { managingOrganization: ref(managingOrganization) } : {}),
    payloadType: [{ coding: [{ system: PAYLOAD, code: 'any' }] }],
    address: `https://${id}.example.org/service`,
  };
}

export function fixture(baseUrl: string): Record<string, unknown>[] {
  return [
    {
      resourceType: 'Organization',
      id: 'org-sjc',
      meta: {
        tag: [{ system: TAGS, code: 'featured' }],
        security: [{ system: CONFIDENTIALITY, code: 'N' }],
        profile: [PROFILE],
        source: SOURCE,
      },
      active: true,
      name: 'Clínica São José',
      alias: ['Saint Joseph Clinic'],
      identifier: [npi('1234567893')],
      type: [
        {
          coding: [{ system: ORG_TYPE, code: 'prov', display: 'Healthcare Provider' }],
          text: 'Community hospital',
        },
      ],
      address: [{ line: ['1 Plaza'], city: 'San Antonio', state: 'TX', postalCode: '78205' }],
      endpoint: [ref('Endpoint/ep-sjc-xca'), ref('Endpoint/ep-sjc-xcpd')],
    },
    {
      resourceType: 'Organization',
      id: 'org-valley',
      meta: { tag: [{ system: TAGS, code: 'featured' }] },
      active: true,
      name: 'Valley Clinic',
      identifier: [
        npi('1245319599'),
        { system: TAX, value: '12-3456789', type: { coding: [{ system: V2_0203, code: 'TAX' }] } },
      ],
      type: [{ coding: [{ system: ORG_TYPE, code: 'prov', display: 'Healthcare Provider' }] }],
      address: [{ city: 'Fresno', state: 'CA' }],
      endpoint: [ref('Endpoint/ep-valley-fhir')],
    },
    {
      resourceType: 'Organization',
      id: 'org-nvh',
      meta: {
        tag: [{ system: TAGS, code: 'archived' }],
        security: [{ system: CONFIDENTIALITY, code: 'R' }],
        source: 'http://example.org/other-importer',
      },
      active: false,
      name: 'North Valley Health',
      identifier: [{ system: 'urn:oid:1.2.3.4', value: 'NVH-1' }],
      type: [{ coding: [{ system: ORG_TYPE, code: 'dept', display: 'Hospital Department' }] }],
      address: [
        { city: 'Redding', state: 'CA' },
        { city: 'Reno', state: 'NV' },
      ],
      partOf: ref('Organization/org-valley'),
    },
    {
      resourceType: 'Organization',
      id: 'org-nvh-lab',
      active: true,
      name: 'North Valley Lab',
      identifier: [npi('1987654328')],
      address: [{ city: 'Redding', state: 'CA' }],
      partOf: ref('Organization/org-nvh'),
    },
    {
      resourceType: 'Organization',
      id: 'org-hub',
      active: true,
      name: 'Lone Star HIE',
      identifier: [{ value: 'LOCAL-7' }],
      type: [{ coding: [{ system: ORG_TYPE, code: 'other' }], text: 'Health information exchange' }],
      address: [{ city: 'Austin', state: 'TX' }],
    },
    {
      resourceType: 'Organization',
      id: 'org-empire',
      name: 'Empire Health Partners',
      identifier: [npi('1555555550', false)],
      address: [{ city: 'New York', state: 'NY' }],
    },
    endpointResource('ep-sjc-xca', 'ihe-xca', 'active', 'Organization/org-sjc', 'São José XCA'),
    endpointResource('ep-sjc-xcpd', 'ihe-xcpd', 'active', 'Organization/org-sjc'),
    endpointResource('ep-valley-fhir', 'hl7-fhir-rest', 'active', 'Organization/org-valley'),
    // An absolute reference on our own base means the same as the relative one.
    endpointResource('ep-nvh-direct', 'direct-project', 'off', `${baseUrl}/Organization/org-nvh`),
    endpointResource('ep-lab-fhir', 'hl7-fhir-rest', 'active', 'Organization/org-nvh-lab'),
    endpointResource('ep-hub-xca', 'ihe-xca', 'suspended', 'Organization/org-hub'),
    endpointResource('ep-orphan', 'hl7-fhir-rest', 'test'),
    {
      resourceType: 'Location',
      id: 'loc-main',
      status: 'active',
      name: 'Main Campus',
      address: { city: 'Fresno', state: 'CA' },
      position: { longitude: -119.7871, latitude: 36.7378 },
      managingOrganization: ref('Organization/org-valley'),
    },
    practitionerRole('pr-2023', { start: '2023-01-01', end: '2023-12-31' }, 'org-valley'),
    practitionerRole('pr-h1', { start: '2024-01-01', end: '2024-06-30' }, 'org-sjc'),
    practitionerRole(
      'pr-may',
      { start: '2024-05-10T09:00:00+02:00', end: '2024-05-20T17:00:00-05:00' },
      'org-nvh',
    ),
    practitionerRole('pr-open', { start: '2024-03-01' }, 'org-hub'),
    practitionerRole('pr-none', undefined, 'org-empire'),
    capabilityStatement(
      'cs-alpha',
      'http://example.org/fhir/CapabilityStatement/alpha',
      '2024-05-01T23:30:00-05:00',
      18,
    ),
    capabilityStatement(
      'cs-alpha-v2',
      'http://example.org/fhir/CapabilityStatement/alpha/v2',
      '2024-05-01',
      65.5,
    ),
    capabilityStatement('cs-other', 'http://other.example.com/cs', '2023-11-15'),
  ];
}

export function practitionerRole(
  id: string,
  period: { start?: string; end?: string } | undefined,
  organization: string,
): Record<string, unknown> {
  return {
    resourceType: 'PractitionerRole',
    id,
    active: period !== undefined,
    ...(period ? { period } : {}),
    organization: ref(`Organization/${organization}`),
  };
}

export function capabilityStatement(
  id: string,
  url: string,
  date: string,
  age?: number,
): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    id,
    url,
    name: id.replace(/-/g, '_'),
    status: 'active',
    date,
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    implementation: { description: `${id} server` },
    rest: [{ mode: 'server' }],
    ...(age === undefined
      ? {}
      : {
          useContext: [
            {
              code: { system: 'http://terminology.hl7.org/CodeSystem/usage-context-type', code: 'age' },
              valueQuantity: { value: age, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a' },
            },
          ],
        }),
  };
}

/** A directory on a database of its own, over the fixture (every resource PUT in one transaction). */
export async function startSearchDirectory(): Promise<TestDirectory> {
  const dir = await startTestDirectory({ enforceProfiles: false });
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: fixture(dir.baseUrl).map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${String(resource.resourceType)}/${String(resource.id)}` },
    })),
  };
  const loaded = await call('POST', dir.url(''), bundle);
  if (loaded.status !== 200) {
    await dir.close();
    throw new Error(`fixture did not load: ${loaded.text}`);
  }
  return dir;
}

export type Entry = { fullUrl?: string; resource: any; search?: { mode?: string } };

export const entriesOf = (res: FhirResponse): Entry[] => (res.body?.entry ?? []) as Entry[];
export const idsOf = (res: FhirResponse, mode = 'match'): string[] =>
  entriesOf(res)
    .filter((e) => e.search?.mode === mode)
    .map((e) => e.resource.id as string);

export const enc = encodeURIComponent;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SearchCalls {
  get: (path: string, headers?: Record<string, string>) => Promise<FhirResponse>;
  /** The ids a search matches, in the server's order. */
  searchIds: (path: string) => Promise<string[]>;
  /** Asserts the set of matching ids; the query is part of the compared value so a failure names it. */
  expectIds: (path: string, expected: string[]) => Promise<void>;
  /** Follows `next` links from `path`, calling `between` after each page. */
  followPages: (path: string, between?: (page: number) => Promise<void>) => Promise<string[]>;
}

/** The calls, on whatever directory `dir()` gives when they run (it is started in beforeAll). */
export function searchCalls(dir: () => TestDirectory): SearchCalls {
  const get = (path: string, headers: Record<string, string> = {}): Promise<FhirResponse> =>
    call('GET', dir().url(path), undefined, headers);

  async function searchIds(path: string): Promise<string[]> {
    const res = await get(path);
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.text}`);
    expect(res.body.type).toBe('searchset');
    return idsOf(res);
  }

  async function expectIds(path: string, expected: string[]): Promise<void> {
    const ids = await searchIds(path);
    expect({ query: path, ids: [...ids].sort() }).toEqual({ query: path, ids: [...expected].sort() });
  }

  async function followPages(path: string, between?: (page: number) => Promise<void>): Promise<string[]> {
    const ids: string[] = [];
    let next: string | undefined = dir().url(path);
    let pages = 0;
    while (next) {
      const page: FhirResponse = await call('GET', next);
      expect(page.status).toBe(200);
      ids.push(...idsOf(page));
      if (between) await between(++pages);
      next = (page.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next')?.url;
      if (pages > 100) throw new Error('too many pages');
    }
    return ids;
  }

  return { get, searchIds, expectIds, followPages };
}
