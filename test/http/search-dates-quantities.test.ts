/**
 * FHIR R4 search.html#date, #quantity and #number over the search fixture (test/helpers/search-fixture.ts):
 * prefixes on Periods and partial dates, time zones, _lastUpdated; quantities by implicit precision,
 * system and unit; and the parameter types the directory does not have.
 */
import { call, expectOutcome } from '../helpers/fhir-client';
import { BASE_ORGS, enc, sleep, searchCalls, startSearchDirectory } from '../helpers/search-fixture';
import type { TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startSearchDirectory();
});
afterAll(() => dir.close());
const { get, searchIds, expectIds } = searchCalls(() => dir);

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

describe('quantity and number parameters', () => {
  it('the only number parameter is Endpoint availability (ours), and Location near (special) is unsupported', async () => {
    const statement = (await get('/metadata')).body;
    const params = statement.rest[0].resource.flatMap((r: any) =>
      r.searchParam.map((p: any) => ({ type: p.type, name: `${r.type}.${p.name}` })),
    );
    const types = params.map((p: any) => p.type);
    expect(params.filter((p: any) => p.type === 'number').map((p: any) => p.name)).toEqual([
      'Endpoint.availability',
    ]);
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
});
