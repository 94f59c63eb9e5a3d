/**
 * FHIR R4 search.html#reference, #chaining and #has over the search fixture
 * (test/helpers/search-fixture.ts), and what follows references into the result: _include,
 * _include:iterate, _revinclude (search.html#include).
 */
import { call, expectOutcome, type FhirResponse } from '../helpers/fhir-client';
import {
  BASE_ORGS,
  entriesOf,
  idsOf,
  enc,
  searchCalls,
  startSearchDirectory,
} from '../helpers/search-fixture';
import type { TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startSearchDirectory();
});
afterAll(() => dir.close());
const { get, expectIds } = searchCalls(() => dir);

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
    // Several of one type (one `target_id = ANY(…)`), one of any type, one repeated.
    await expectIds(
      '/Endpoint?organization=Organization/org-sjc,Organization/org-hub,org-nvh,Organization/org-sjc',
      ['ep-sjc-xca', 'ep-sjc-xcpd', 'ep-hub-xca', 'ep-nvh-direct'],
    );
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
