/**
 * FHIR R4 search.html#string over the search fixture (test/helpers/search-fixture.ts): prefix, :exact and
 * :contains, case- and accent-insensitive, address parts; and how values combine (search.html#combining):
 * a comma is OR, a repeated parameter AND, a backslash escapes.
 */
import { call } from '../helpers/fhir-client';
import { BASE_ORGS, enc, searchCalls, startSearchDirectory } from '../helpers/search-fixture';
import type { TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startSearchDirectory();
});
afterAll(() => dir.close());
const { expectIds } = searchCalls(() => dir);

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

describe('combining values', () => {
  it('parameters whose values another holds (shared-rows.ts) match as if each held its own copy', async () => {
    // address (every part of an Address) reads the part parameters' rows: line, city, state, zip.
    await expectIds('/Organization?address=1%20plaza', ['org-sjc']);
    await expectIds('/Organization?address=san%20ant', ['org-sjc']);
    await expectIds('/Organization?address=TX&address=78205', ['org-sjc']);
    await expectIds('/Organization?address:exact=San%20Antonio', ['org-sjc']);
    await expectIds('/Organization?address:contains=anton', ['org-sjc']);
    // ... but a part parameter does not read the others'.
    await expectIds('/Organization?address-city=1%20plaza', []);
    await expectIds('/Organization?address-state=fresno', []);
    // org-valley's address is a city and a state, no line: it has no rows of address's own.
    await expectIds(`/Organization?_id=${BASE_ORGS.join(',')}&address:missing=false`, BASE_ORGS);
    await expectIds(`/Organization?_id=${BASE_ORGS.join(',')}&address:missing=true`, []);
    await expectIds(`/Organization?_id=${BASE_ORGS.join(',')}&address-postalcode:missing=false`, ['org-sjc']);
    // phonetic (name) reads name's rows (name | alias): a prefix of a name, or of an alias.
    await expectIds('/Organization?phonetic=clinica', ['org-sjc']);
    await expectIds('/Organization?phonetic=saint', ['org-sjc']);
    await expectIds('/Organization?phonetic=zzz', []);
    await expectIds('/Organization?name=saint,valley', ['org-sjc', 'org-valley']);
    await expectIds('/Location?address=fresno', ['loc-main']);
  });

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
