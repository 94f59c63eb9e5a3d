/**
 * FHIR R4 search.html#token and #uri over the search fixture (test/helpers/search-fixture.ts): codes,
 * systems, :not, :text, :missing, :of-type, booleans; uri exact, :below and :above; and the meta
 * parameters _tag, _security (tokens), _profile and _source (uris).
 */
import { expectOutcome } from '../helpers/fhir-client';
import {
  NPI,
  V2_0203,
  ORG_TYPE,
  CONNECTION,
  CONFIDENTIALITY,
  TAGS,
  PROFILE,
  SOURCE,
  BASE_ORGS,
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

  it('ORs a list of values, grouped by system or not (one array per system in the SQL, same matches)', async () => {
    // Two of one system (one `code = ANY(…)`), one of no system, one of any system, one repeated.
    await expectIds(
      `/Organization?identifier=${enc(`${NPI}|1245319599,${NPI}|1234567893,|LOCAL-7,nvh-1,${NPI}|1245319599`)}`,
      ['org-valley', 'org-sjc', 'org-hub'],
    );
    await expectIds(
      `/Organization?identifier=${enc(`${NPI}|1245319599,http://example.org/other|1234567893`)}`,
      ['org-valley'],
    );
    await expectIds(`/Organization?identifier=${enc('|1234567893,|LOCAL-7')}`, ['org-hub']);
    await expectIds(`/Endpoint?connection-type=ihe-xca,hl7-fhir-rest,ihe-xca`, [
      'ep-sjc-xca',
      'ep-hub-xca',
      'ep-valley-fhir',
      'ep-lab-fhir',
      'ep-orphan',
    ]);
    await expectIds(`/Endpoint?connection-type:not=ihe-xca,hl7-fhir-rest&status=active`, ['ep-sjc-xcpd']);
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

describe('uri parameters', () => {
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
