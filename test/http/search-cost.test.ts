/**
 * SEARCH_MAX_COST through the real server: the planner's estimate of a search, read before it runs,
 * bounds its work. A page over it is a 400 `too-costly` naming the limit; a `_total` over it is left
 * out with a warning outcome in the Bundle (FHIR search.html#total: a hint the server SHOULD honour);
 * includes stop with a warning when they would pass it. The same searches answer in full under the
 * default limit. The limit is lowered to 1 here so a fixture of 25 Organizations trips it.
 */
import { call, expectOutcome, issuesOf, putAll, type FhirResponse } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const ORGANIZATIONS = 25; // more than the 20 of a frontier whose includes are weighed before they run

let tight: TestDirectory;
let roomy: TestDirectory;

const fixture = (): Record<string, unknown>[] => [
  {
    resourceType: 'Endpoint',
    id: 'ep-cost',
    status: 'active',
    name: 'Cost FHIR',
    connectionType: {
      system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      code: 'hl7-fhir-rest',
    },
    payloadType: [{ text: 'any' }],
    address: 'https://cost.example.org/fhir',
  },
  ...Array.from({ length: ORGANIZATIONS }, (_, i) => ({
    resourceType: 'Organization',
    id: `org-cost-${String(i).padStart(2, '0')}`,
    name: `Costly Clinic ${String(i).padStart(2, '0')}`,
    endpoint: [{ reference: 'Endpoint/ep-cost' }],
  })),
];

beforeAll(async () => {
  [tight, roomy] = await Promise.all([
    startTestDirectory({ enforceProfiles: false, searchCacheMb: 0, limits: { searchCost: 1 } }),
    startTestDirectory({ enforceProfiles: false, searchCacheMb: 0 }),
  ]);
  await putAll(tight.url(''), fixture());
  await putAll(roomy.url(''), fixture());
});
afterAll(async () => {
  await Promise.all([tight?.close(), roomy?.close()]);
});

const get = (dir: TestDirectory, path: string): Promise<FhirResponse> => call('GET', dir.url(path));

interface Entry {
  resource?: { resourceType: string; id: string; issue?: Record<string, unknown>[] };
  search?: { mode: string };
}
const entries = (res: FhirResponse): Entry[] => (res.body.entry ?? []) as Entry[];
const inMode = (res: FhirResponse, mode: string): Entry[] =>
  entries(res).filter((e) => e.search?.mode === mode);
const outcomeIssues = (res: FhirResponse): Record<string, unknown>[] =>
  inMode(res, 'outcome').flatMap((e) => e.resource?.issue ?? []);

describe('a search whose page the planner estimates over SEARCH_MAX_COST', () => {
  const path = '/Organization?name=costly&_sort=-name,_lastUpdated';

  it('is refused with 400 too-costly naming the limit, before it runs', async () => {
    const res = await get(tight, path);
    expectOutcome(res, 400);
    const [first] = issuesOf(res);
    expect(first).toMatchObject({ severity: 'error', code: 'too-costly' });
    expect(first?.diagnostics).toContain('the limit is 1 (SEARCH_MAX_COST)');
    expect(first?.diagnostics).toMatch(/estimates this search at \d+ cost units/);
  });

  it('answers in full under the default limit', async () => {
    const res = await get(roomy, path);
    expect(res.status).toBe(200);
    expect(inMode(res, 'match').map((e) => e.resource?.id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `org-cost-${String(ORGANIZATIONS - 1 - i).padStart(2, '0')}`),
    );
  });

  it('is a 400 for POST _search too', async () => {
    const res = await call('POST', tight.url('/Organization/_search'), 'name=costly&_sort=-name,_id', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]?.diagnostics).toContain('(SEARCH_MAX_COST)');
  });
});

describe('a search of an everyday shape (one condition, one sort key, a small page)', () => {
  it('is not weighed: it answers even under a limit of 1', async () => {
    const res = await get(tight, '/Organization?name=costly&_sort=name&_count=5');
    expect(res.status).toBe(200);
    expect(inMode(res, 'match').map((e) => e.resource?.id)).toEqual([
      'org-cost-00',
      'org-cost-01',
      'org-cost-02',
      'org-cost-03',
      'org-cost-04',
    ]);
    expect(outcomeIssues(res)).toEqual([]);
  });
});

describe('_total=accurate whose count the planner estimates over SEARCH_MAX_COST', () => {
  it('answers the page without Bundle.total and says why in a warning outcome', async () => {
    const res = await get(tight, '/Organization?name=costly&_total=accurate&_count=5');
    expect(res.status).toBe(200);
    expect(res.body.total).toBeUndefined();
    expect(inMode(res, 'match')).toHaveLength(5);
    const [warning] = outcomeIssues(res);
    expect(warning).toMatchObject({ severity: 'warning', code: 'too-costly', expression: ['_total'] });
    expect(warning?.diagnostics).toContain('SEARCH_MAX_COST (1)');
  });

  it('gives the total under the default limit', async () => {
    const res = await get(roomy, '/Organization?name=costly&_total=accurate&_count=5');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(ORGANIZATIONS);
    expect(outcomeIssues(res)).toEqual([]);
  });

  it('is a 400 when the count is the whole answer (_summary=count)', async () => {
    const res = await get(tight, '/Organization?name=costly&_summary=count');
    expectOutcome(res, 400);
    expect(issuesOf(res)[0]?.diagnostics).toContain('the limit is 1 (SEARCH_MAX_COST)');
    const roomyCount = await get(roomy, '/Organization?name=costly&_summary=count');
    expect(roomyCount.status).toBe(200);
    expect(roomyCount.body.total).toBe(ORGANIZATIONS);
  });
});

describe('includes of a wide page whose statements the planner estimates over SEARCH_MAX_COST', () => {
  const path = `/Organization?name=costly&_count=${ORGANIZATIONS}&_include=Organization:endpoint`;

  it('stop: the matches come with a warning outcome instead of the included resources', async () => {
    const res = await get(tight, path);
    expect(res.status).toBe(200);
    expect(inMode(res, 'match')).toHaveLength(ORGANIZATIONS);
    expect(inMode(res, 'include')).toEqual([]);
    const [warning] = outcomeIssues(res);
    expect(warning).toMatchObject({ severity: 'warning', code: 'too-costly' });
    expect(warning?.diagnostics).toContain('SEARCH_MAX_COST (1)');
  });

  it('are all there under the default limit', async () => {
    const res = await get(roomy, path);
    expect(res.status).toBe(200);
    expect(inMode(res, 'include').map((e) => e.resource?.id)).toEqual(['ep-cost']);
    expect(outcomeIssues(res)).toEqual([]);
  });
});
