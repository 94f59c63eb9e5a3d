/**
 * FHIR R4 search (https://hl7.org/fhir/R4/search.html) over a small hand-made directory, through the
 * real HTTP server on a real database: one behaviour per test, each with the exact ids it must find.
 * The fixture holds what the directory's profiles refuse (an Organization without type or active, an
 * Endpoint without managingOrganization) because `:missing` needs it, so this directory runs with
 * ENFORCE_PROFILES=false; profile validation has its own tests (test/http/profiles.test.ts).
 */
import { call, expectOutcome, type FhirResponse } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const NPI = 'http://hl7.org/fhir/sid/us-npi';
const TAX = 'urn:oid:2.16.840.1.113883.4.4';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
const CONNECTION = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const PAYLOAD = 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const TAGS = 'http://example.org/fhir/tags';
const PROFILE = 'http://example.org/fhir/StructureDefinition/directory-organization';
const SOURCE = 'http://example.org/importer#run-1';
const SUBSETTED = 'SUBSETTED';

/** The six organizations of the fixture, for searches that must not see what other tests create. */
const BASE_ORGS = ['org-sjc', 'org-valley', 'org-nvh', 'org-nvh-lab', 'org-hub', 'org-empire'];

let dir: TestDirectory;

const ref = (reference: string): { reference: string } => ({ reference });
const npi = (value: string, typed = true): Record<string, unknown> => ({
  system: NPI,
  value,
  ...(typed
    ? { type: { coding: [{ system: V2_0203, code: 'NPI' }], text: 'National Provider Identifier' } }
    : {}),
});

function endpointResource(
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

function fixture(baseUrl: string): Record<string, unknown>[] {
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

function practitionerRole(
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

function capabilityStatement(id: string, url: string, date: string, age?: number): Record<string, unknown> {
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

beforeAll(async () => {
  dir = await startTestDirectory({ enforceProfiles: false });
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: fixture(dir.baseUrl).map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${String(resource.resourceType)}/${String(resource.id)}` },
    })),
  };
  const loaded = await call('POST', dir.url(''), bundle);
  if (loaded.status !== 200) throw new Error(`fixture did not load: ${loaded.text}`);
});
afterAll(() => dir.close());

type Entry = { fullUrl?: string; resource: any; search?: { mode?: string } };

const entriesOf = (res: FhirResponse): Entry[] => (res.body?.entry ?? []) as Entry[];
const idsOf = (res: FhirResponse, mode = 'match'): string[] =>
  entriesOf(res)
    .filter((e) => e.search?.mode === mode)
    .map((e) => e.resource.id as string);

async function get(path: string, headers: Record<string, string> = {}): Promise<FhirResponse> {
  return call('GET', dir.url(path), undefined, headers);
}

/** The ids a search matches, in the server's order. */
async function searchIds(path: string): Promise<string[]> {
  const res = await get(path);
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.text}`);
  expect(res.body.type).toBe('searchset');
  return idsOf(res);
}

/** Asserts the set of matching ids; the query is part of the compared value so a failure names it. */
async function expectIds(path: string, expected: string[]): Promise<void> {
  const ids = await searchIds(path);
  expect({ query: path, ids: [...ids].sort() }).toEqual({ query: path, ids: [...expected].sort() });
}

/** Follows `next` links from `path`, calling `between` after each page. */
async function followPages(path: string, between?: (page: number) => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined = dir.url(path);
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

const enc = encodeURIComponent;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('string parameters', () => {
  it('match by case- and accent-insensitive prefix of the whole value, on name and alias', async () => {
    await expectIds('/Organization?name=clinica', ['org-sjc']);
    await expectIds(`/Organization?name=${enc('CLÍNICA SÃO')}`, ['org-sjc']);
    await expectIds('/Organization?name=VALLEY', ['org-valley']);
    await expectIds('/Organization?name=north', ['org-nvh', 'org-nvh-lab']);
    // Prefix of the value, not of any word in it.
    await expectIds('/Organization?name=jose', []);
    // Organization.name | Organization.alias
    await expectIds('/Organization?name=saint%20jos', ['org-sjc']);
    await expectIds('/Endpoint?name=sao', ['ep-sjc-xca']);
  });

  it(':exact compares the whole value, case and accents included', async () => {
    await expectIds(`/Organization?name:exact=${enc('Clínica São José')}`, ['org-sjc']);
    await expectIds(`/Organization?name:exact=${enc('clínica são josé')}`, []);
    await expectIds(`/Organization?name:exact=${enc('Clinica Sao Jose')}`, []);
    await expectIds(`/Organization?name:exact=${enc('Clínica')}`, []);
    await expectIds(`/Organization?name:exact=${enc('Valley Clinic')}`, ['org-valley']);
    await expectIds(`/Organization?name:exact=${enc('Saint Joseph Clinic')}`, ['org-sjc']);
  });

  it(':contains matches a case- and accent-insensitive substring anywhere in the value', async () => {
    await expectIds('/Organization?name:contains=alley', ['org-valley', 'org-nvh', 'org-nvh-lab']);
    await expectIds('/Organization?name:contains=JOSE', ['org-sjc']);
    await expectIds('/Organization?name:contains=joseph', ['org-sjc']);
    await expectIds(`/Organization?name:contains=${enc('JOSÉ')}`, ['org-sjc']);
    // Accents are ignored on the search value too: 'ã' is 'a' (in every name), 'í' is 'i'.
    await expectIds(`/Organization?_id=${BASE_ORGS.join(',')}&name:contains=${enc('ã')}`, [
      'org-sjc',
      'org-valley',
      'org-nvh',
      'org-nvh-lab',
      'org-hub',
      'org-empire',
    ]);
    await expectIds(`/Organization?_id=${BASE_ORGS.join(',')}&name:contains=${enc('í')}`, [
      'org-sjc',
      'org-valley',
      'org-hub',
      'org-empire',
    ]);
    await expectIds('/Organization?name:contains=zzz', []);
  });

  it('a prefix is a range of whole code points: its neighbours just above are not matched', async () => {
    const made: Record<string, string> = {};
    // U+5317 北 and U+5318 匘 are neighbours; so are 'z' and '{', and U+D7FF and U+E000 in UTF-8.
    for (const name of ['北京 Clinic', '匘 Clinic', 'Prefixz Lab', 'Prefix{ Lab', 'Edge\uD7FF', 'Edge\uE000'])
      made[name] = (await call('POST', dir.url('/Organization'), { resourceType: 'Organization', name })).body
        .id as string;
    await expectIds(`/Organization?name=${enc('北')}`, [made['北京 Clinic'] as string]);
    await expectIds(`/Organization?name=${enc('匘')}`, [made['匘 Clinic'] as string]);
    await expectIds('/Organization?name=prefixz', [made['Prefixz Lab'] as string]);
    await expectIds(`/Organization?name=${enc('prefix{')}`, [made['Prefix{ Lab'] as string]);
    await expectIds(`/Organization?name=${enc('edge\uD7FF')}`, [made['Edge\uD7FF'] as string]);
    // LIKE's wildcards are plain characters in a prefix.
    await expectIds(`/Organization?name=${enc('prefix%')}`, []);
    await expectIds(`/Organization?name=${enc('prefix_')}`, []);
  });

  it('searches address parts: address-state, address-city and address (any part)', async () => {
    await expectIds('/Organization?address-state=TX', ['org-sjc', 'org-hub']);
    await expectIds('/Organization?address-state=ca', ['org-valley', 'org-nvh', 'org-nvh-lab']);
    await expectIds('/Organization?address-state=NV', ['org-nvh']);
    await expectIds('/Organization?address-city=san', ['org-sjc']);
    await expectIds('/Organization?address-city=redd', ['org-nvh', 'org-nvh-lab']);
    await expectIds('/Organization?address=fresno', ['org-valley']);
    await expectIds('/Organization?address=78205', ['org-sjc']);
    await expectIds('/Location?address-city=fresno', ['loc-main']);
  });
});

describe('token parameters', () => {
  it('match code, system|code, |code (no system) and system|', async () => {
    await expectIds('/Organization?type=prov', ['org-sjc', 'org-valley']);
    await expectIds(`/Organization?type=${enc(`${ORG_TYPE}|prov`)}`, ['org-sjc', 'org-valley']);
    await expectIds(`/Organization?type=${enc('http://example.org/other|prov')}`, []);
    await expectIds('/Organization?identifier=1234567893', ['org-sjc']);
    await expectIds(`/Organization?identifier=${enc(`${NPI}|1245319599`)}`, ['org-valley']);
    await expectIds(`/Organization?identifier=${enc('|LOCAL-7')}`, ['org-hub']);
    await expectIds(`/Organization?identifier=${enc('|1234567893')}`, []);
    await expectIds(`/Organization?identifier=${enc(`${NPI}|`)}`, [
      'org-sjc',
      'org-valley',
      'org-nvh-lab',
      'org-empire',
    ]);
    await expectIds('/Endpoint?connection-type=ihe-xca', ['ep-sjc-xca', 'ep-hub-xca']);
    await expectIds(`/Endpoint?connection-type=${enc(`${CONNECTION}|hl7-fhir-rest`)}`, [
      'ep-valley-fhir',
      'ep-lab-fhir',
      'ep-orphan',
    ]);
    await expectIds('/Endpoint?status=off', ['ep-nvh-direct']);
  });

  it('matches codes case-sensitively (search.html#token)', async () => {
    await expectIds('/Endpoint?connection-type=IHE-XCA', []);
    await expectIds('/Organization?identifier=nvh-1', []);
  });

  it(':not matches resources without a matching value, including those with no value at all', async () => {
    await expectIds(`/Organization?_id=${BASE_ORGS.join(',')}&type:not=prov`, [
      'org-nvh',
      'org-nvh-lab',
      'org-hub',
      'org-empire',
    ]);
    await expectIds(`/Organization?_id=${BASE_ORGS.join(',')}&active:not=true`, ['org-nvh', 'org-empire']);
    await expectIds('/Endpoint?status:not=active', ['ep-nvh-direct', 'ep-hub-xca', 'ep-orphan']);
  });

  it(':text searches Coding.display, CodeableConcept.text and Identifier.type.text like a string', async () => {
    await expectIds('/Organization?type:text=healthcare', ['org-sjc', 'org-valley']);
    await expectIds('/Organization?type:text=hospital%20dep', ['org-nvh']);
    await expectIds('/Organization?type:text=HEALTH%20INFO', ['org-hub']);
    await expectIds('/Organization?identifier:text=national', ['org-sjc', 'org-valley', 'org-nvh-lab']);
  });

  it(':text also finds CodeableConcept.text when every coding has a display', async () => {
    // org-sjc: type.text 'Community hospital', its one coding displays 'Healthcare Provider'.
    await expectIds('/Organization?type:text=community', ['org-sjc']);
  });

  it(':missing=true/false selects resources without/with a value', async () => {
    const base = `_id=${BASE_ORGS.join(',')}`;
    await expectIds(`/Organization?${base}&type:missing=true`, ['org-nvh-lab', 'org-empire']);
    await expectIds(`/Organization?${base}&type:missing=false`, [
      'org-sjc',
      'org-valley',
      'org-nvh',
      'org-hub',
    ]);
    await expectIds(`/Organization?${base}&active:missing=true`, ['org-empire']);
    expectOutcome(await get('/Organization?type:missing=maybe'), 400);
  });

  it('identifier:of-type matches type system|code|value', async () => {
    await expectIds(`/Organization?identifier:of-type=${enc(`${V2_0203}|NPI|1234567893`)}`, ['org-sjc']);
    await expectIds(`/Organization?identifier:of-type=${enc(`${V2_0203}|TAX|12-3456789`)}`, ['org-valley']);
    // Wrong type for the value, and an NPI without a type.
    await expectIds(`/Organization?identifier:of-type=${enc(`${V2_0203}|TAX|1245319599`)}`, []);
    await expectIds(`/Organization?identifier:of-type=${enc(`${V2_0203}|NPI|1555555550`)}`, []);
    expectOutcome(await get(`/Organization?identifier:of-type=${enc('NPI|1234567893')}`), 400);
  });

  it('matches booleans with true and false', async () => {
    const base = `_id=${BASE_ORGS.join(',')}`;
    await expectIds(`/Organization?${base}&active=true`, ['org-sjc', 'org-valley', 'org-nvh-lab', 'org-hub']);
    await expectIds(`/Organization?${base}&active=false`, ['org-nvh']);
  });
});

describe('reference parameters', () => {
  it('match Type/id, a bare id, a :Type modifier and an absolute URL on our base', async () => {
    await expectIds('/Endpoint?organization=Organization/org-sjc', ['ep-sjc-xca', 'ep-sjc-xcpd']);
    await expectIds('/Endpoint?organization=org-sjc', ['ep-sjc-xca', 'ep-sjc-xcpd']);
    await expectIds('/Endpoint?organization:Organization=org-valley', ['ep-valley-fhir']);
    await expectIds(`/Endpoint?organization=${enc(`${dir.baseUrl}/Organization/org-sjc`)}`, [
      'ep-sjc-xca',
      'ep-sjc-xcpd',
    ]);
    // Stored as an absolute URL on our base, found by the relative form and vice versa.
    await expectIds('/Endpoint?organization=Organization/org-nvh', ['ep-nvh-direct']);
    await expectIds(`/Endpoint?organization=${enc(`${dir.baseUrl}/Organization/org-nvh`)}`, [
      'ep-nvh-direct',
    ]);
    await expectIds('/Endpoint?organization=org-sjc,org-hub', ['ep-sjc-xca', 'ep-sjc-xcpd', 'ep-hub-xca']);
    await expectIds('/Location?organization=org-valley', ['loc-main']);
    await expectIds('/PractitionerRole?organization=Organization/org-hub', ['pr-open']);
  });

  it('partof and :missing', async () => {
    await expectIds('/Organization?partof=Organization/org-valley', ['org-nvh']);
    await expectIds('/Organization?partof=org-nvh', ['org-nvh-lab']);
    await expectIds(`/Organization?_id=${BASE_ORGS.join(',')}&partof:missing=true`, [
      'org-sjc',
      'org-valley',
      'org-hub',
      'org-empire',
    ]);
    await expectIds('/Endpoint?organization:missing=true', ['ep-orphan']);
    await expectIds('/Endpoint?organization:missing=false', [
      'ep-sjc-xca',
      'ep-sjc-xcpd',
      'ep-valley-fhir',
      'ep-nvh-direct',
      'ep-lab-fhir',
      'ep-hub-xca',
    ]);
  });

  it('does not treat a reference to another server as a reference to our resource of the same id', async () => {
    const remote = 'https://elsewhere.example.org/fhir/Organization/org-empire';
    const created = await call('POST', dir.url('/Location'), {
      resourceType: 'Location',
      name: 'Remote-managed site',
      managingOrganization: { reference: remote },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    try {
      await expectIds(`/Location?organization=${enc(remote)}`, [id]);
      // Organization/org-empire (and our absolute URL for it) is our org-empire, which no Location names.
      await expectIds('/Location?organization=Organization/org-empire', []);
      await expectIds(`/Location?organization=${enc(`${dir.baseUrl}/Organization/org-empire`)}`, []);
      await expectIds('/Location?organization.name=empire', []);
    } finally {
      await call('DELETE', dir.url(`/Location/${id}`));
    }
  });

  it('chains through references, one and two levels deep, with or without :Type', async () => {
    await expectIds('/Endpoint?organization.name=clinica', ['ep-sjc-xca', 'ep-sjc-xcpd']);
    await expectIds('/Endpoint?organization.address-state=TX', ['ep-sjc-xca', 'ep-sjc-xcpd', 'ep-hub-xca']);
    await expectIds('/Endpoint?organization.active=false', ['ep-nvh-direct']);
    await expectIds('/Endpoint?organization.partof.name=valley', ['ep-nvh-direct']);
    await expectIds(
      `/Endpoint?organization:Organization.partof:Organization.name=${enc('north valley health')}`,
      ['ep-lab-fhir'],
    );
    await expectIds('/Endpoint?organization.partof.partof.name=valley', ['ep-lab-fhir']);
    await expectIds('/PractitionerRole?organization.address-state=CA', ['pr-2023', 'pr-may']);
    expectOutcome(await get('/Endpoint?name.foo=bar'), 400);
  });

  it('reverse-chains with _has, nested', async () => {
    await expectIds('/Organization?_has:Endpoint:organization:connection-type=ihe-xca', [
      'org-sjc',
      'org-hub',
    ]);
    await expectIds('/Organization?_has:Endpoint:organization:status=off', ['org-nvh']);
    await expectIds(
      '/Organization?_has:Endpoint:organization:connection-type=ihe-xca&address-state=TX&name=lone',
      ['org-hub'],
    );
    // Organizations with a child organization that has a Direct endpoint.
    await expectIds(
      '/Organization?_has:Organization:partof:_has:Endpoint:organization:connection-type=direct-project',
      ['org-valley'],
    );
    await expectIds('/Organization?_has:PractitionerRole:organization:date=2023', ['org-valley']);
    expectOutcome(await get('/Organization?_has:Endpoint:organization'), 400);
  });
});

describe('date parameters', () => {
  // PractitionerRole.date is PractitionerRole.period. Stored ranges:
  //   pr-2023 [2023-01-01, 2024-01-01)  pr-h1 [2024-01-01, 2024-07-01)
  //   pr-may  [2024-05-10T07:00:00Z, 2024-05-20T22:00:01Z)  pr-open [2024-03-01, ∞)  pr-none: no period
  it('compare a Period with every prefix, on partial dates', async () => {
    const cases: [string, string[]][] = [
      ['2023', ['pr-2023']],
      ['eq2024', ['pr-h1', 'pr-may']],
      ['2024-05', ['pr-may']],
      ['ne2024', ['pr-2023', 'pr-open']],
      ['gt2024-06', ['pr-open']],
      ['lt2024', ['pr-2023']],
      ['ge2024-05-15', ['pr-h1', 'pr-may', 'pr-open']],
      ['le2024-02', ['pr-2023', 'pr-h1']],
      ['sa2024-02', ['pr-may', 'pr-open']],
      ['eb2024-05-10', ['pr-2023']],
      ['ap2024-05-15', ['pr-h1', 'pr-may', 'pr-open']],
    ];
    for (const [value, expected] of cases) await expectIds(`/PractitionerRole?date=${value}`, expected);
  });

  it('reads instants in their own time zone', async () => {
    // pr-may starts 2024-05-10T09:00:00+02:00 = 07:00:00Z.
    await expectIds(`/PractitionerRole?date=sa${enc('2024-05-10T08:59:59+02:00')}`, ['pr-may']);
    await expectIds(`/PractitionerRole?date=sa${enc('2024-05-10T09:00:00+02:00')}`, []);
    await expectIds(`/PractitionerRole?date=sa${enc('2024-05-10T06:59Z')}`, ['pr-may']);
    // CapabilityStatement.date: cs-alpha 2024-05-01T23:30:00-05:00 (= 2024-05-02T04:30Z), cs-alpha-v2 2024-05-01.
    await expectIds('/CapabilityStatement?date=2024-05-02', ['cs-alpha']);
    await expectIds('/CapabilityStatement?date=2024-05-01', ['cs-alpha-v2']);
    await expectIds(`/CapabilityStatement?date=${enc('2024-05-01T23:30:00-05:00')}`, ['cs-alpha']);
    await expectIds(`/CapabilityStatement?date=${enc('2024-05-02T04:30Z')}`, ['cs-alpha']);
    await expectIds(`/CapabilityStatement?date=gt${enc('2024-05-01T23:00:00-05:00')}`, ['cs-alpha']);
    await expectIds('/CapabilityStatement?date=2024-05', ['cs-alpha', 'cs-alpha-v2']);
  });

  it('ORs comma values and ANDs repeated parameters', async () => {
    await expectIds('/PractitionerRole?date=2023,2024-05', ['pr-2023', 'pr-may']);
    await expectIds('/PractitionerRole?date=ge2024-01-01&date=lt2024-04', ['pr-h1', 'pr-open']);
  });

  it('filters _lastUpdated with ge and lt', async () => {
    await sleep(5);
    const created = await call('POST', dir.url('/Organization'), {
      resourceType: 'Organization',
      name: 'Fresh Org',
    });
    const at = created.body.meta.lastUpdated as string;
    const id = created.body.id as string;
    await expectIds(`/Organization?_lastUpdated=ge${enc(at)}&name=fresh`, [id]);
    await expectIds(`/Organization?_lastUpdated=lt${enc(at)}&name=fresh`, []);
    const ids = await searchIds(`/Organization?_lastUpdated=lt${enc(at)}`);
    expect(ids).toEqual(expect.arrayContaining(BASE_ORGS));
    expect(ids).not.toContain(id);
    await expectIds(
      `/Organization?_lastUpdated=ge${enc(at)}&_lastUpdated=lt${enc(new Date(Date.parse(at) + 1).toISOString())}&_id=${id}`,
      [id],
    );
  });
});

describe('quantity, number and uri parameters', () => {
  it('the eight directory types have no number parameter, and Location near (special) is unsupported', async () => {
    const statement = (await get('/metadata')).body;
    const types = statement.rest[0].resource.flatMap((r: any) => r.searchParam.map((p: any) => p.type));
    expect(types).not.toContain('number');
    expect(types).not.toContain('special');
    expectOutcome(await get(`/Location?near=${enc('36.7|-119.7|10|km')}`), 400);
  });

  it('compares quantities by implicit precision, prefix, system and unit', async () => {
    // cs-alpha: 18 a, cs-alpha-v2: 65.5 a (useContext.valueQuantity)
    await expectIds('/CapabilityStatement?context-quantity=18', ['cs-alpha']);
    await expectIds('/CapabilityStatement?context-quantity=gt20', ['cs-alpha-v2']);
    await expectIds('/CapabilityStatement?context-quantity=lt20', ['cs-alpha']);
    await expectIds('/CapabilityStatement?context-quantity=ge18', ['cs-alpha', 'cs-alpha-v2']);
    await expectIds('/CapabilityStatement?context-quantity=66', ['cs-alpha-v2']); // [65.5, 66.5)
    await expectIds('/CapabilityStatement?context-quantity=65', []); // [64.5, 65.5)
    await expectIds(`/CapabilityStatement?context-quantity=${enc('65.5|http://unitsofmeasure.org|a')}`, [
      'cs-alpha-v2',
    ]);
    await expectIds(`/CapabilityStatement?context-quantity=${enc('18||a')}`, ['cs-alpha']);
    await expectIds(`/CapabilityStatement?context-quantity=${enc('18|http://unitsofmeasure.org|mo')}`, []);
    await expectIds('/CapabilityStatement?context-quantity:missing=true', ['cs-other']);
  });

  it('matches uri exactly, :below and :above', async () => {
    await expectIds(`/CapabilityStatement?url=${enc('http://example.org/fhir/CapabilityStatement/alpha')}`, [
      'cs-alpha',
    ]);
    await expectIds(`/CapabilityStatement?url=${enc('http://example.org/fhir')}`, []);
    await expectIds(`/CapabilityStatement?url:below=${enc('http://example.org/fhir')}`, [
      'cs-alpha',
      'cs-alpha-v2',
    ]);
    await expectIds(
      `/CapabilityStatement?url:above=${enc('http://example.org/fhir/CapabilityStatement/alpha/v2/extra')}`,
      ['cs-alpha', 'cs-alpha-v2'],
    );
    await expectIds(
      `/CapabilityStatement?url:above=${enc('http://example.org/fhir/CapabilityStatement/alpha')}`,
      ['cs-alpha'],
    );
  });
});

describe('meta parameters', () => {
  it('_tag, _profile, _security and _source', async () => {
    await expectIds(`/Organization?_tag=${enc(`${TAGS}|featured`)}`, ['org-sjc', 'org-valley']);
    await expectIds('/Organization?_tag=archived', ['org-nvh']);
    await expectIds(`/Organization?_security=${enc(`${CONFIDENTIALITY}|R`)}`, ['org-nvh']);
    await expectIds(`/Organization?_security=N`, ['org-sjc']);
    await expectIds(`/Organization?_profile=${enc(PROFILE)}`, ['org-sjc']);
    await expectIds(`/Organization?_source=${enc(SOURCE)}`, ['org-sjc']);
    await expectIds(`/Organization?_source=${enc('http://example.org/other-importer')}`, ['org-nvh']);
  });
});

describe('combining values', () => {
  it('a comma is OR, a repeated parameter is AND', async () => {
    await expectIds('/Endpoint?connection-type=ihe-xca,ihe-xcpd', [
      'ep-sjc-xca',
      'ep-sjc-xcpd',
      'ep-hub-xca',
    ]);
    await expectIds('/Endpoint?connection-type=ihe-xca&status=active', ['ep-sjc-xca']);
    await expectIds('/Organization?address-state=CA&address-state=NV', ['org-nvh']);
    await expectIds('/Organization?address-state=CA,NV&name=north', ['org-nvh', 'org-nvh-lab']);
    await expectIds('/Organization?name=north&name:contains=lab', ['org-nvh-lab']);
    await expectIds('/Organization?name=valley,clinica', ['org-valley', 'org-sjc']);
    await expectIds('/Organization?_id=org-sjc,org-hub&_id=org-hub,org-empire', ['org-hub']);
  });

  it('a backslash escapes a comma inside a value', async () => {
    const created = await call('POST', dir.url('/Organization'), {
      resourceType: 'Organization',
      name: 'Smith, Jones and Partners',
    });
    await expectIds(`/Organization?name=${enc('smith\\, jones')}`, [created.body.id]);
    // Unescaped, the comma splits the value: 'smith' OR 'jones' (prefix) still finds it, :exact does not.
    await expectIds(`/Organization?name:exact=${enc('Smith\\, Jones and Partners')}`, [created.body.id]);
    await expectIds(`/Organization?name:exact=${enc('Smith, Jones and Partners')}`, []);
  });
});

describe('errors', () => {
  it('rejects an unknown parameter with 400, or ignores it under Prefer: handling=lenient', async () => {
    expectOutcome(await get('/Organization?colour=blue'), 400);
    const lenient = await get('/Organization?colour=blue&name=valley', { prefer: 'handling=lenient' });
    expect(lenient.status).toBe(200);
    expect(idsOf(lenient)).toEqual(['org-valley']);
    const outcome = entriesOf(lenient).filter((e) => e.search?.mode === 'outcome');
    expect(outcome).toHaveLength(1);
    expect(outcome[0]?.resource.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(outcome[0]?.resource)).toContain('colour');
  });

  it('rejects modifiers the parameter type does not support', async () => {
    expectOutcome(await get('/Organization?name:not=x'), 400);
    expectOutcome(await get('/Organization?active:contains=x'), 400);
    expectOutcome(await get('/Organization?partof:exact=x'), 400);
    expectOutcome(await get('/PractitionerRole?date:exact=2024'), 400);
  });

  it('rejects malformed dates, numbers and result parameters', async () => {
    expectOutcome(await get('/PractitionerRole?date=2024-13'), 400);
    expectOutcome(await get('/PractitionerRole?date=gtyesterday'), 400);
    expectOutcome(await get('/PractitionerRole?date=2024-02-30'), 400);
    expectOutcome(await get('/CapabilityStatement?context-quantity=ten'), 400);
    expectOutcome(await get('/CapabilityStatement?context-quantity=gt1.2.3'), 400);
    expectOutcome(await get('/Organization?_sort=colour'), 400);
    expectOutcome(await get('/Organization?_count=lots'), 400);
    expectOutcome(await get('/Organization?_total=maybe'), 400);
    expectOutcome(await get('/Organization?_summary=some'), 400);
    expectOutcome(await get('/Organization?_include=Organization:name'), 400);
    expectOutcome(await get('/Organization?_page=not-a-cursor'), 400);
  });
});

describe('_include and _revinclude', () => {
  const included = (res: FhirResponse): string[] => idsOf(res, 'include').sort();

  it('_include=Organization:endpoint adds the endpoints as include entries', async () => {
    const res = await get('/Organization?_id=org-sjc&_include=Organization:endpoint');
    expect(idsOf(res)).toEqual(['org-sjc']);
    expect(included(res)).toEqual(['ep-sjc-xca', 'ep-sjc-xcpd']);
    const entry = entriesOf(res).find((e) => e.resource.id === 'ep-sjc-xca');
    expect(entry?.fullUrl).toBe(dir.url('/Endpoint/ep-sjc-xca'));
    // search.html#total: the total counts matches only, never included resources.
    const counted = await get('/Organization?_id=org-sjc&_include=Organization:endpoint&_total=accurate');
    expect(counted.body.total).toBe(1);
  });

  it('_include=Organization:partof, and :iterate up the hierarchy', async () => {
    expect(included(await get('/Organization?_id=org-nvh-lab&_include=Organization:partof'))).toEqual([
      'org-nvh',
    ]);
    expect(included(await get('/Organization?_id=org-nvh-lab&_include:iterate=Organization:partof'))).toEqual(
      ['org-nvh', 'org-valley'],
    );
  });

  it('_include=Endpoint:organization includes each organization once, also via an absolute reference', async () => {
    const res = await get(
      '/Endpoint?_id=ep-sjc-xca,ep-sjc-xcpd,ep-nvh-direct&_include=Endpoint:organization',
    );
    expect(idsOf(res).sort()).toEqual(['ep-nvh-direct', 'ep-sjc-xca', 'ep-sjc-xcpd']);
    expect(included(res)).toEqual(['org-nvh', 'org-sjc']);
  });

  it('_revinclude=Endpoint:organization adds the endpoints that refer to the matches', async () => {
    const res = await get('/Organization?_id=org-sjc,org-nvh&_revinclude=Endpoint:organization');
    expect(idsOf(res).sort()).toEqual(['org-nvh', 'org-sjc']);
    expect(included(res)).toEqual(['ep-nvh-direct', 'ep-sjc-xca', 'ep-sjc-xcpd']);
  });

  it('_include=Organization:* follows every reference parameter', async () => {
    const res = await get('/Organization?_id=org-sjc,org-nvh&_include=Organization:*');
    expect(included(res)).toEqual(['ep-sjc-xca', 'ep-sjc-xcpd', 'org-valley']);
  });

  it('never repeats a match as an include, nor an include twice', async () => {
    const res = await get(
      '/Organization?name=valley,north&_include=Organization:partof&_include:iterate=Organization:partof&_revinclude=Endpoint:organization',
    );
    expect(idsOf(res).sort()).toEqual(['org-nvh', 'org-nvh-lab', 'org-valley']);
    expect(included(res)).toEqual(['ep-lab-fhir', 'ep-nvh-direct', 'ep-valley-fhir']);
    const keys = entriesOf(res).map((e) => `${e.resource.resourceType}/${e.resource.id}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('_sort and paging', () => {
  // Created one by one, in this order: lastUpdated increases; the two Betas tie on name.
  const SORT_ORGS: [string, string][] = [
    ['sort-a', 'Alpha'],
    ['sort-b1', 'Beta'],
    ['sort-b2', 'beta'],
    ['sort-g', 'Gamma'],
  ];
  const sortQuery = `_tag=${enc(`${TAGS}|sorting`)}`;

  beforeAll(async () => {
    for (const [id, name] of SORT_ORGS) {
      await sleep(3);
      const res = await call('PUT', dir.url(`/Organization/${id}`), {
        resourceType: 'Organization',
        id,
        name,
        meta: { tag: [{ system: TAGS, code: 'sorting' }] },
      });
      expect(res.status).toBe(201);
    }
  });

  it('_sort=name and -name, ties broken by id', async () => {
    expect(await searchIds(`/Organization?${sortQuery}&_sort=name`)).toEqual([
      'sort-a',
      'sort-b1',
      'sort-b2',
      'sort-g',
    ]);
    expect(await searchIds(`/Organization?${sortQuery}&_sort=-name`)).toEqual([
      'sort-g',
      'sort-b1',
      'sort-b2',
      'sort-a',
    ]);
    expect(await searchIds(`/Organization?_id=${BASE_ORGS.join(',')}&_sort=name`)).toEqual([
      'org-sjc',
      'org-empire',
      'org-hub',
      'org-nvh',
      'org-nvh-lab',
      'org-valley',
    ]);
  });

  it('_sort=name,-_lastUpdated and _sort=-_lastUpdated', async () => {
    expect(await searchIds(`/Organization?${sortQuery}&_sort=name,-_lastUpdated`)).toEqual([
      'sort-a',
      'sort-b2',
      'sort-b1',
      'sort-g',
    ]);
    expect(await searchIds(`/Organization?${sortQuery}&_sort=-_lastUpdated`)).toEqual([
      'sort-g',
      'sort-b2',
      'sort-b1',
      'sort-a',
    ]);
    expect(await searchIds(`/Organization?${sortQuery}&_sort=_lastUpdated`)).toEqual([
      'sort-a',
      'sort-b1',
      'sort-b2',
      'sort-g',
    ]);
  });

  it('sorts by other parameter types: date, token, reference', async () => {
    expect(await searchIds('/PractitionerRole?_sort=date&date:missing=false')).toEqual([
      'pr-2023',
      'pr-h1',
      'pr-open',
      'pr-may',
    ]);
    expect(
      await searchIds('/Endpoint?_sort=-status,_id&_id=ep-orphan,ep-nvh-direct,ep-hub-xca,ep-sjc-xca'),
    ).toEqual(['ep-orphan', 'ep-hub-xca', 'ep-nvh-direct', 'ep-sjc-xca']);
  });

  it('following next links with _count=2 gives every match once, in order, while others create', async () => {
    const names = [
      'Page Delta',
      'Page Alpha',
      'Page Echo',
      'Page Bravo',
      'Page Golf',
      'Page Charlie',
      'Page Foxtrot',
    ];
    const created: Record<string, string> = {};
    for (const name of names) {
      await sleep(2);
      const res = await call('POST', dir.url('/Organization'), {
        resourceType: 'Organization',
        name,
        meta: { tag: [{ system: TAGS, code: 'paging' }] },
      });
      created[name] = res.body.id as string;
    }
    const byName = [...names].sort().map((n) => created[n]);
    const query = `/Organization?_tag=${enc(`${TAGS}|paging`)}&_sort=name&_count=2`;
    const late: string[] = [];
    const seen = await followPages(query, async (page) => {
      if (page > 2) return;
      // One sorts before the cursor (never seen), one after it (seen once, at its place).
      for (const name of [`Page Aardvark ${page}`, `Page Zulu ${page}`]) {
        const res = await call('POST', dir.url('/Organization'), {
          resourceType: 'Organization',
          name,
          meta: { tag: [{ system: TAGS, code: 'paging' }] },
        });
        if (name.startsWith('Page Zulu')) late.push(res.body.id as string);
      }
    });
    expect(seen).toEqual([...byName, ...late]);

    // Newest first: what is created while paging is newer than the cursor and never shifts the pages.
    const newest = await followPages(
      `/Organization?_tag=${enc(`${TAGS}|paging`)}&_sort=-_lastUpdated&_count=2`,
      async (page) => {
        if (page <= 2)
          await call('POST', dir.url('/Organization'), {
            resourceType: 'Organization',
            name: `Page Late ${page}`,
            meta: { tag: [{ system: TAGS, code: 'paging' }] },
          });
      },
    );
    expect(new Set(newest).size).toBe(newest.length);
    expect(newest).toHaveLength(names.length + 4);
    expect(newest.slice(-names.length)).toEqual([...names].reverse().map((n) => created[n]));
  });

  it('pages through a date sort including open-ended and missing periods', async () => {
    // A second role without a period, so two resources share the "no value" sort key.
    await call(
      'PUT',
      dir.url('/PractitionerRole/pr-none-2'),
      practitionerRole('pr-none-2', undefined, 'org-hub'),
    );
    try {
      // Ascending by the start of the period, descending by its end; no period sorts last either way.
      expect(await followPages('/PractitionerRole?_sort=date&_count=1')).toEqual([
        'pr-2023',
        'pr-h1',
        'pr-open',
        'pr-may',
        'pr-none',
        'pr-none-2',
      ]);
      expect(await followPages('/PractitionerRole?_sort=-date&_count=1')).toEqual([
        'pr-open',
        'pr-h1',
        'pr-may',
        'pr-2023',
        'pr-none',
        'pr-none-2',
      ]);
    } finally {
      await call('DELETE', dir.url('/PractitionerRole/pr-none-2'));
    }
  });

  it('_start skips that many matches', async () => {
    expect(await searchIds(`/Organization?_id=${BASE_ORGS.join(',')}&_sort=name&_start=2&_count=2`)).toEqual([
      'org-hub',
      'org-nvh',
    ]);
  });
});

describe('page size, totals and shaping', () => {
  it('_count defaults to 20 and is capped at 1000', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: Array.from({ length: 1003 }, (_, n) => ({
        resource: { resourceType: 'HealthcareService', name: `Service ${n}` },
        request: { method: 'POST', url: 'HealthcareService' },
      })),
    };
    expect((await call('POST', dir.url(''), bundle)).status).toBe(200);
    const first = await get('/HealthcareService');
    expect(idsOf(first)).toHaveLength(20);
    expect(first.body.link.some((l: any) => l.relation === 'next')).toBe(true);
    const capped = await get('/HealthcareService?_count=5000');
    expect(idsOf(capped)).toHaveLength(1000);
    const rest = await followPages('/HealthcareService?_count=5000');
    expect(rest).toHaveLength(1003);
    expect(new Set(rest).size).toBe(1003);
  });

  it('_total=accurate gives the total, _total=none does not', async () => {
    const query = `/Organization?_id=${BASE_ORGS.join(',')}&_count=2`;
    const accurate = await get(`${query}&_total=accurate`);
    expect(accurate.body.total).toBe(6);
    expect(idsOf(accurate)).toHaveLength(2);
    const none = await get(`${query}&_total=none`);
    expect(none.body.total).toBeUndefined();
  });

  it('_summary=count gives the total and no entries', async () => {
    const res = await get(`/Organization?_id=${BASE_ORGS.join(',')}&_summary=count`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(6);
    expect(res.body.entry).toBeUndefined();
  });

  it('_summary=true keeps summary elements only and tags the resources SUBSETTED', async () => {
    const res = await get('/Organization?_id=org-sjc&_summary=true');
    const org = entriesOf(res)[0]?.resource;
    expect(org).toMatchObject({
      resourceType: 'Organization',
      id: 'org-sjc',
      name: 'Clínica São José',
      active: true,
    });
    expect(org.identifier).toBeDefined();
    expect(org.address).toBeUndefined();
    expect(org.endpoint).toBeUndefined();
    expect(org.alias).toBeUndefined();
    expect(org.meta.tag.map((t: any) => t.code)).toEqual(expect.arrayContaining(['featured', SUBSETTED]));
  });

  it('_elements=name keeps name, id and meta and tags the resources SUBSETTED', async () => {
    const res = await get('/Organization?_id=org-sjc,org-valley&_elements=name');
    expect(idsOf(res).sort()).toEqual(['org-sjc', 'org-valley']);
    for (const { resource } of entriesOf(res)) {
      expect(Object.keys(resource).sort()).toEqual(['id', 'meta', 'name', 'resourceType']);
      expect(resource.meta.tag.map((t: any) => t.code)).toContain(SUBSETTED);
    }
  });
});

describe('index maintenance', () => {
  it('follows updates and deletes: old values stop matching, removed elements become :missing', async () => {
    const created = await call('POST', dir.url('/Organization'), {
      resourceType: 'Organization',
      name: 'Before Rename Clinic',
      type: [{ coding: [{ system: ORG_TYPE, code: 'govt' }] }],
      meta: { tag: [{ system: TAGS, code: 'maintenance' }] },
    });
    const id = created.body.id as string;
    const ep = await call('POST', dir.url('/Endpoint'), {
      ...endpointResource('unused', 'ihe-xdr', 'active', `Organization/${id}`),
      id: undefined,
    });
    const tagged = `_tag=${enc(`${TAGS}|maintenance`)}`;
    await expectIds(`/Organization?${tagged}&name=before`, [id]);
    await expectIds(`/Endpoint?organization.name=before%20rename`, [ep.body.id]);
    await call('PUT', dir.url(`/Organization/${id}`), {
      resourceType: 'Organization',
      id,
      name: 'After Rename Clinic',
      meta: { tag: [{ system: TAGS, code: 'maintenance' }] },
    });
    await expectIds(`/Organization?${tagged}&name=before`, []);
    await expectIds(`/Organization?${tagged}&name=after`, [id]);
    await expectIds(`/Organization?${tagged}&type:missing=true`, [id]);
    await expectIds(`/Organization?${tagged}&type=govt`, []);
    await expectIds(`/Endpoint?organization.name=before%20rename`, []);
    await expectIds(`/Endpoint?organization.name=after%20rename`, [ep.body.id]);
    await call('DELETE', dir.url(`/Organization/${id}`));
    await expectIds(`/Organization?${tagged}`, []);
    // A deleted target is not chained through, and a deleted source does not make _has true.
    await expectIds(`/Endpoint?organization.name=after%20rename`, []);
    await call('DELETE', dir.url(`/Endpoint/${String(ep.body.id)}`));
    await expectIds('/Organization?_has:Endpoint:organization:connection-type=ihe-xdr', []);
  });
});

describe('search interactions', () => {
  it('POST [type]/_search with a form body finds what GET finds', async () => {
    const query = 'name=north&address-state=CA&_sort=name';
    const viaGet = await searchIds(`/Organization?${query}`);
    const viaPost = await call('POST', dir.url('/Organization/_search'), query, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(viaPost.status).toBe(200);
    expect(viaGet).toEqual(['org-nvh', 'org-nvh-lab']);
    expect(idsOf(viaPost)).toEqual(viaGet);
    // Query string and body parameters are combined.
    const mixed = await call('POST', dir.url('/Organization/_search?name=north'), 'name:contains=lab', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(idsOf(mixed)).toEqual(['org-nvh-lab']);
  });

  it('system search over _type', async () => {
    const res = await get('/?_type=Organization,Endpoint&_id=org-sjc,ep-sjc-xca,loc-main');
    expect(res.status).toBe(200);
    expect(
      entriesOf(res)
        .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
        .sort(),
    ).toEqual(['Endpoint/ep-sjc-xca', 'Organization/org-sjc']);
    const all = await get('/?_id=org-sjc,ep-sjc-xca,loc-main');
    expect(idsOf(all).sort()).toEqual(['ep-sjc-xca', 'loc-main', 'org-sjc']);
    expectOutcome(await get('/?_type=Patient'), 400);
    // Paging across types: every match once.
    const wanted = [
      ...BASE_ORGS,
      'ep-sjc-xca',
      'ep-sjc-xcpd',
      'ep-valley-fhir',
      'ep-nvh-direct',
      'ep-orphan',
    ];
    for (const sort of ['', '&_sort=-_lastUpdated', '&_sort=_id']) {
      const paged = await followPages(
        `/?_type=Organization,Endpoint&_id=${wanted.join(',')}&_count=3${sort}`,
      );
      expect({ sort, ids: [...paged].sort() }).toEqual({ sort, ids: [...wanted].sort() });
    }
    // A parameter must mean something for every type searched.
    expectOutcome(await get('/?_type=Organization,Endpoint&partof=org-valley'), 400);
  });

  it('the CapabilityStatement declares the search parameters, includes and revincludes', async () => {
    const statement = (await get('/metadata')).body;
    const org = statement.rest[0].resource.find((r: any) => r.type === 'Organization');
    const params = Object.fromEntries(org.searchParam.map((p: any) => [p.name, p]));
    expect(params.name).toEqual({
      name: 'name',
      type: 'string',
      definition: 'http://hl7.org/fhir/SearchParameter/Organization-name',
    });
    expect(params.partof).toMatchObject({
      type: 'reference',
      definition: 'http://hl7.org/fhir/SearchParameter/Organization-partof',
    });
    expect(params.endpoint).toMatchObject({
      type: 'reference',
      definition: 'http://hl7.org/fhir/SearchParameter/Organization-endpoint',
    });
    expect(org.searchInclude).toEqual(
      expect.arrayContaining(['Organization:endpoint', 'Organization:partof']),
    );
    expect(org.searchRevInclude).toEqual(expect.arrayContaining(['Endpoint:organization']));
  });
});

describe('conditional operations', () => {
  const condOrg = (value: string, name = `Conditional ${value}`): Record<string, unknown> => ({
    resourceType: 'Organization',
    name,
    identifier: [{ system: 'urn:example:cond', value }],
  });
  const byIdentifier = (value: string): string => `identifier=${enc(`urn:example:cond|${value}`)}`;

  it('If-None-Exist creates on no match and returns the existing resource on one match', async () => {
    const header = { 'if-none-exist': byIdentifier('c1') };
    const first = await call('POST', dir.url('/Organization'), condOrg('c1'), header);
    expect(first.status).toBe(201);
    const second = await call('POST', dir.url('/Organization'), condOrg('c1', 'Other name'), header);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.meta.versionId).toBe('1');
    expect(second.body.name).toBe('Conditional c1');
    const history = await get(`/Organization/${String(first.body.id)}/_history`);
    expect(history.body.entry).toHaveLength(1);
    await expectIds(`/Organization?${byIdentifier('c1')}`, [first.body.id]);
  });

  it('If-None-Exist with two matches is 412, with an unknown parameter 400', async () => {
    const a = await call('POST', dir.url('/Organization'), condOrg('c2'));
    const b = await call('POST', dir.url('/Organization'), condOrg('c2'));
    const header = { 'if-none-exist': byIdentifier('c2') };
    expectOutcome(await call('POST', dir.url('/Organization'), condOrg('c2'), header), 412);
    const unknown = { 'if-none-exist': 'colour=blue' };
    expectOutcome(await call('POST', dir.url('/Organization'), condOrg('c3'), unknown), 400);
    // Neither created anything.
    await expectIds(`/Organization?${byIdentifier('c2')},${enc('urn:example:cond|c3')}`, [
      a.body.id,
      b.body.id,
    ]);
  });

  it('twenty simultaneous conditional creates make exactly one resource', async () => {
    const header = { 'if-none-exist': byIdentifier('race') };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', dir.url('/Organization'), condOrg('race'), header)),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    await expectIds(`/Organization?${byIdentifier('race')}`, [results[0]?.body.id]);
  });

  it('conditional update: no match creates, one match updates, two matches is 412', async () => {
    const url = dir.url(`/Organization?${byIdentifier('u1')}`);
    const created = await call('PUT', url, condOrg('u1'));
    expect(created.status).toBe(201);
    const updated = await call('PUT', url, condOrg('u1', 'Renamed'));
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
    expect(updated.body.meta.versionId).toBe('2');
    expect(updated.body.name).toBe('Renamed');
    await call('POST', dir.url('/Organization'), condOrg('u1', 'Duplicate'));
    expectOutcome(await call('PUT', url, condOrg('u1', 'Ambiguous')), 412);
    await expectIds(`/Organization?${byIdentifier('u1')}&name=ambiguous`, []);
  });

  it('conditional delete removes the one match, and refuses two', async () => {
    const created = await call('POST', dir.url('/Organization'), condOrg('d1'));
    const deleted = await call('DELETE', dir.url(`/Organization?${byIdentifier('d1')}`));
    expect([200, 204]).toContain(deleted.status);
    await expectIds(`/Organization?${byIdentifier('d1')}`, []);
    expect((await get(`/Organization/${String(created.body.id)}`)).status).toBe(410);
    const none = await call('DELETE', dir.url(`/Organization?${byIdentifier('d1')}`));
    expect([200, 204]).toContain(none.status);
    await call('POST', dir.url('/Organization'), condOrg('d2'));
    await call('POST', dir.url('/Organization'), condOrg('d2'));
    expectOutcome(await call('DELETE', dir.url(`/Organization?${byIdentifier('d2')}`)), 412);
    expect(await searchIds(`/Organization?${byIdentifier('d2')}`)).toHaveLength(2);
  });

  it('in a transaction, a reference to a matched conditional create points at the existing resource', async () => {
    const existing = await call('POST', dir.url('/Organization'), condOrg('tx1'));
    const bundle = (suffix: string) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6f1c2b9e-0000-4000-8000-000000000001',
          resource: condOrg(`tx1`, 'Must not be written'),
          request: { method: 'POST', url: 'Organization', ifNoneExist: byIdentifier('tx1') },
        },
        {
          fullUrl: 'urn:uuid:6f1c2b9e-0000-4000-8000-000000000002',
          resource: condOrg(`tx-new-${suffix}`),
          request: { method: 'POST', url: 'Organization', ifNoneExist: byIdentifier(`tx-new-${suffix}`) },
        },
        {
          resource: {
            ...endpointResource(`unused-${suffix}`, 'hl7-fhir-rest', 'active'),
            id: undefined,
            name: `tx endpoint ${suffix}`,
            managingOrganization: { reference: 'urn:uuid:6f1c2b9e-0000-4000-8000-000000000001' },
          },
          request: { method: 'POST', url: 'Endpoint' },
        },
        {
          resource: {
            resourceType: 'Organization',
            name: `Put child ${suffix}`,
            identifier: [{ system: 'urn:example:cond', value: `tx-put-${suffix}` }],
            partOf: { reference: 'urn:uuid:6f1c2b9e-0000-4000-8000-000000000002' },
          },
          request: { method: 'PUT', url: `Organization?${byIdentifier(`tx-put-${suffix}`)}` },
        },
      ],
    });
    const res = await call('POST', dir.url(''), bundle('one'));
    expect(res.status).toBe(200);
    const [matched, createdNew, endpointEntry, put] = res.body.entry as any[];
    expect(matched.response.status).toMatch(/^200/);
    expect(matched.response.location).toContain(`Organization/${String(existing.body.id)}`);
    expect(createdNew.response.status).toMatch(/^201/);
    expect(endpointEntry.response.status).toMatch(/^201/);
    expect(put.response.status).toMatch(/^201/);
    const newId = /Organization\/([^/]+)/.exec(createdNew.response.location as string)?.[1];

    const endpoints = await get(`/Endpoint?name=${enc('tx endpoint one')}`);
    expect(endpoints.body.entry[0].resource.managingOrganization.reference).toBe(
      `Organization/${String(existing.body.id)}`,
    );
    await expectIds(`/Endpoint?organization=Organization/${String(existing.body.id)}&name=tx`, [
      endpoints.body.entry[0].resource.id,
    ]);
    const child = await get(`/Organization?${byIdentifier('tx-put-one')}`);
    expect(child.body.entry[0].resource.partOf.reference).toBe(`Organization/${String(newId)}`);
    await expectIds(`/Organization?${byIdentifier('tx1')}`, [existing.body.id]);

    // The same bundle again: now every conditional entry matches, nothing new is created.
    const again = await call('POST', dir.url(''), bundle('one'));
    expect(again.status).toBe(200);
    const statuses = (again.body.entry as any[]).map((e) => String(e.response.status).slice(0, 3));
    expect(statuses).toEqual(['200', '200', '201', '200']);
    await expectIds(`/Organization?${byIdentifier('tx-new-one')}`, [String(newId)]);
    await expectIds(`/Organization?${byIdentifier('tx-put-one')}`, [child.body.entry[0].resource.id]);
  });

  it('the CapabilityStatement advertises the conditional interactions it serves', async () => {
    const statement = (await get('/metadata')).body;
    const org = statement.rest[0].resource.find((r: any) => r.type === 'Organization');
    expect(org.conditionalCreate).toBe(true);
    expect(org.conditionalUpdate).toBe(true);
    expect(['single', 'multiple']).toContain(org.conditionalDelete);
  });
});
