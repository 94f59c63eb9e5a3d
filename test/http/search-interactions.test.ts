/**
 * How a FHIR R4 search is asked (search.html#search, http.html#search) over the search fixture
 * (test/helpers/search-fixture.ts): POST [type]/_search, system search over _type, what the
 * CapabilityStatement declares; and the 400s for unknown parameters, unsupported modifiers and
 * malformed values (or leniency under Prefer: handling=lenient).
 */
import { call, expectOutcome } from '../helpers/fhir-client';
import { BASE_ORGS, entriesOf, idsOf, searchCalls, startSearchDirectory } from '../helpers/search-fixture';
import type { TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startSearchDirectory();
});
afterAll(() => dir.close());
const { get, searchIds, followPages } = searchCalls(() => dir);

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
