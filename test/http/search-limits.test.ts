/**
 * The request limits of a search (src/fhir/limits.ts) and what a hostile client can put in one,
 * through the real server: each breach is a 400 `too-costly` naming the limit's variable and value,
 * each malformed input (a forged `_page`, a NUL) a 400 `invalid` naming the parameter. Before, each of
 * these held the database for seconds or was a 500 (see the commit that added this file).
 */
import { call, putAll, expectOutcome, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;

const org = (id: string, name: string, partof?: string): Record<string, unknown> => ({
  resourceType: 'Organization',
  id,
  name,
  ...(partof ? { partOf: { reference: `Organization/${partof}` } } : {}),
});

beforeAll(async () => {
  dir = await startTestDirectory({ enforceProfiles: false });
  const resources = [
    org('org-root', 'Root Health'),
    org('org-mid', 'Mid Health', 'org-root'),
    org('org-leaf', 'Leaf Clinic', 'org-mid'),
    {
      resourceType: 'Endpoint',
      id: 'ep-leaf',
      status: 'active',
      name: 'Leaf FHIR',
      connectionType: {
        system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
        code: 'hl7-fhir-rest',
      },
      payloadType: [{ text: 'any' }],
      address: 'https://leaf.example.org/fhir',
      managingOrganization: { reference: 'Organization/org-leaf' },
    },
  ];
  await putAll(dir.url(''), resources);
});
afterAll(() => dir.close());

const get = (path: string): Promise<FhirResponse> => call('GET', dir.url(path));
const postSearch = (type: string, form: string): Promise<FhirResponse> =>
  call('POST', dir.url(`/${type}/_search`), form, { 'content-type': 'application/x-www-form-urlencoded' });
const repeat = (part: string, times: number, separator = '&'): string =>
  Array(times).fill(part).join(separator);
const cursor = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** A 400 `too-costly` that names the limit's variable, its value, and the parameter. */
function expectLimit(res: FhirResponse, variable: string, limit: number, expression: string): void {
  expectOutcome(res, 400);
  const [first] = issuesOf(res);
  expect(first).toMatchObject({ severity: 'error', code: 'too-costly', expression: [expression] });
  expect(first?.diagnostics).toContain(`the limit is ${limit} (${variable})`);
}

/** A 400 `invalid` naming the parameter. */
function expectInvalid(res: FhirResponse, expression: string, diagnostics?: string): void {
  expectOutcome(res, 400);
  const [first] = issuesOf(res);
  expect(first).toMatchObject({ severity: 'error', code: 'invalid', expression: [expression] });
  if (diagnostics) expect(first?.diagnostics).toContain(diagnostics);
}

async function idsOf(res: Promise<FhirResponse> | FhirResponse): Promise<string[]> {
  const done = await res;
  expect(done.status).toBe(200);
  return (done.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id);
}

describe('conditions (SEARCH_MAX_CONDITIONS)', () => {
  it('answers the same condition 300 times with 400 too-costly, 20 times with the matches', async () => {
    expectLimit(await get(`/Organization?${repeat('name=leaf', 300)}`), 'SEARCH_MAX_CONDITIONS', 20, 'name');
    expect(await idsOf(get(`/Organization?${repeat('name=leaf', 20)}`))).toEqual(['org-leaf']);
    expectLimit(await get(`/Organization?${repeat('name=leaf', 21)}`), 'SEARCH_MAX_CONDITIONS', 20, 'name');
  });

  it('counts each chain link and each _has level', async () => {
    // partof.partof.name is 3 conditions: 6 of them are 18, 7 are 21.
    const chain = 'partof.partof.name=root';
    expect(await idsOf(get(`/Organization?${repeat(chain, 6)}`))).toEqual(['org-leaf']);
    expectLimit(
      await get(`/Organization?${repeat(chain, 7)}`),
      'SEARCH_MAX_CONDITIONS',
      20,
      'partof.partof.name',
    );
    const has = '_has:Endpoint:organization:status=active';
    expect(await idsOf(get(`/Organization?${repeat(has, 10)}`))).toEqual(['org-leaf']);
    expectLimit(await get(`/Organization?${repeat(has, 10)}&name=leaf`), 'SEARCH_MAX_CONDITIONS', 20, 'name');
  });

  it('honours a lowered limit', async () => {
    const small = await startTestDirectory({ limits: { searchConditions: 2, sortKeys: 1 } });
    try {
      expect((await call('GET', small.url('/Organization?name=a&active=true'))).status).toBe(200);
      expectLimit(
        await call('GET', small.url('/Organization?name=a&active=true&type=x')),
        'SEARCH_MAX_CONDITIONS',
        2,
        'type',
      );
      expectLimit(
        await call('GET', small.url('/Organization?_sort=name,_id')),
        'SEARCH_MAX_SORT_KEYS',
        1,
        '_sort',
      );
    } finally {
      await small.close();
    }
  });
});

describe('values (SEARCH_MAX_VALUES)', () => {
  const values = (n: number): string => Array.from({ length: n }, (_, i) => `v${i}`).join(',');

  it('takes 100 comma-separated values and refuses 101, counted across parameters', async () => {
    expect(await idsOf(get(`/Organization?name=${values(99)},leaf`))).toEqual(['org-leaf']);
    expectLimit(await get(`/Organization?name=${values(101)}`), 'SEARCH_MAX_VALUES', 100, 'name');
    expectLimit(
      await get(`/Organization?name=${values(60)}&type=${values(41)}`),
      'SEARCH_MAX_VALUES',
      100,
      'type',
    );
    // An escaped comma is part of a value, not a separator.
    expect(await idsOf(get(`/Organization?name=${repeat('a\\,', 600, '')}`))).toEqual([]);
  });

  it('answers 40,000 values in a POST _search with 400 (was a 500 past the bind-parameter limit)', async () => {
    expectLimit(await postSearch('Organization', `name=${values(40_000)}`), 'SEARCH_MAX_VALUES', 100, 'name');
  });
});

describe('sort keys (SEARCH_MAX_SORT_KEYS)', () => {
  it('takes 5 distinct keys and refuses more, and any key twice', async () => {
    expect(await idsOf(get('/Organization?_sort=name,-_lastUpdated,_id,partof,active&_count=1'))).toEqual([
      'org-leaf',
    ]);
    expectLimit(
      await get('/Organization?_sort=name,_lastUpdated,_id,partof,active,type'),
      'SEARCH_MAX_SORT_KEYS',
      5,
      '_sort',
    );
    expectLimit(
      await get(`/Organization?_sort=${repeat('name', 1000, ',')}`),
      'SEARCH_MAX_SORT_KEYS',
      5,
      '_sort',
    );
    expectInvalid(await get('/Organization?_sort=name,-name'), '_sort', "_sort names 'name' more than once");
    expectInvalid(await get('/Organization?_sort=name,'), '_sort');
  });
});

describe('includes (SEARCH_MAX_INCLUDES)', () => {
  it('treats 300 identical _include:iterate specs (1,200 by POST) as one', async () => {
    const expected = ['org-leaf', 'org-mid', 'org-root'];
    expect(
      await idsOf(get(`/Organization?_id=org-leaf&${repeat('_include:iterate=Organization:partof', 300)}`)),
    ).toEqual(expected);
    expect(
      await idsOf(
        postSearch('Organization', `_id=org-leaf&${repeat('_include:iterate=Organization:partof', 1200)}`),
      ),
    ).toEqual(expected);
    // The same spec spelt twice as the same text, and once with its target type, is two specs at most.
    expect(
      await idsOf(
        get(
          '/Organization?_id=org-leaf&_include=Organization:partof&_include=Organization:partof:Organization',
        ),
      ),
    ).toEqual(['org-leaf', 'org-mid']);
  });

  it('refuses more than 10 distinct specs', async () => {
    const specs = [
      '_include=Organization:partof',
      '_include=Organization:endpoint',
      '_include=Organization:partof:Organization',
      '_include=Organization:*',
      '_include:iterate=Organization:partof',
      '_include:iterate=Endpoint:organization',
      '_revinclude=Endpoint:organization',
      '_revinclude=Organization:partof',
      '_revinclude=PractitionerRole:organization',
      '_revinclude:iterate=Endpoint:organization',
    ];
    expect((await get(`/Organization?${specs.join('&')}`)).status).toBe(200);
    expectLimit(
      await get(`/Organization?${specs.join('&')}&_revinclude:iterate=Organization:partof`),
      'SEARCH_MAX_INCLUDES',
      10,
      '_revinclude:iterate',
    );
  });
});

describe('chain depth (SEARCH_MAX_CHAIN_DEPTH)', () => {
  it('takes a chain of 4 links and refuses 5, 300 and 2,000 (no stack overflow)', async () => {
    expect(await idsOf(get('/Organization?partof.partof.name=root'))).toEqual(['org-leaf']);
    expect(await idsOf(get('/Organization?partof.partof.partof.name=root'))).toEqual([]);
    expectLimit(
      await get('/Organization?partof.partof.partof.partof.name=root'),
      'SEARCH_MAX_CHAIN_DEPTH',
      4,
      'partof.partof.partof.partof.name',
    );
    const deep300 = `${repeat('partof', 300, '.')}.name`;
    const res300 = await get(`/Organization?${deep300}=root`);
    expectLimit(res300, 'SEARCH_MAX_CHAIN_DEPTH', 4, `${deep300.slice(0, 200)}…`);
    expect(issuesOf(res300)[0]?.diagnostics).toContain('has 301 chain links or _has levels');
    expectLimit(
      await get(`/Organization?${repeat('partof', 2000, '.')}.name=root`),
      'SEARCH_MAX_CHAIN_DEPTH',
      4,
      `${repeat('partof', 2000, '.').slice(0, 200)}…`,
    );
  });

  it('refuses _has nested 5, 200 and 100,000 deep, and a 100,000-link chain by POST', async () => {
    const has = (levels: number): string => `${repeat('_has:Organization:partof', levels, ':')}:name`;
    expect(await idsOf(get(`/Organization?${has(2)}=leaf`))).toEqual(['org-root']);
    expectLimit(await get(`/Organization?${has(4)}=leaf`), 'SEARCH_MAX_CHAIN_DEPTH', 4, has(4));
    const res200 = await get(`/Organization?${has(200)}=leaf`);
    expect(res200.status).toBe(400);
    expect(issuesOf(res200)[0]).toMatchObject({ code: 'too-costly' });
    expect(issuesOf(res200)[0]?.diagnostics).toContain('has 201 chain links or _has levels');
    const hasPost = await postSearch('Organization', `${has(100_000)}=leaf`);
    expect(issuesOf(hasPost)[0]?.diagnostics).toContain('has 100001 chain links');
    expect(hasPost.status).toBe(400);
    const chainPost = await postSearch('Organization', `${repeat('partof', 100_000, '.')}.name=root`);
    expect(chainPost.status).toBe(400);
    expect(issuesOf(chainPost)[0]?.diagnostics).toContain('has 100001 chain links');
  });
});

describe('a forged _page cursor', () => {
  it('follows the cursors the server writes', async () => {
    const first = await get('/Organization?_sort=-name,_lastUpdated&_count=2');
    expect(first.status).toBe(200);
    const next = first.body.link.find((l: { relation: string }) => l.relation === 'next')?.url as string;
    expect(await idsOf(call('GET', next))).toEqual(['org-leaf']);
  });

  it.each<[string, string, unknown]>([
    ['a boolean string key', '_sort=name', { k: [true], i: 'x' }],
    ['a date key that is no date', '_sort=_lastUpdated', { k: ['notadate'], i: 'x' }],
    ['a date key in year 0', '_sort=_lastUpdated', { k: ['0000-01-01T00:00:00.000Z'], i: 'x' }],
    ['a date key with the wrong day', '_sort=_lastUpdated', { k: ['2024-02-30T00:00:00.000Z'], i: 'x' }],
    ['a date key past 9999', '_sort=_lastUpdated', { k: ['+010000-01-01T00:00:00.000Z'], i: 'x' }],
    ['a NUL in a text key', '_sort=name', { k: ['a\u0000b'], i: 'x' }],
    ['a lone surrogate in a text key', '_sort=name', { k: ['a\ud800'], i: 'x' }],
    ['a NUL in the id', '_sort=name', { k: ['a'], i: 'x\u0000' }],
    ['an id that is no FHIR id', '', { k: [], i: 'a b' }],
    ['a number where the id goes', '', { k: [], i: 5 }],
    ['a key too many', '', { k: ['a'], i: 'x' }],
    ['a key too few', '_sort=name,_id', { k: ['a'], i: 'x' }],
    ['keys that are no array', '_sort=name', { k: 'a', i: 'x' }],
    ['a type this directory does not store', '', { k: [], i: 'x', t: 'Patient' }],
    ['a field the server never writes', '', { k: [], i: 'x', sql: 'drop' }],
    ['a number key that is text', '_sort=_id', { k: ['a b'], i: 'x' }],
  ])('answers %s with 400 naming _page', async (_what, sort, forged) => {
    expectInvalid(
      await get(`/Organization?${sort}&_page=${cursor(forged)}`),
      '_page',
      '_page is not a cursor',
    );
  });

  it('answers a cursor that is not base64url JSON with 400 naming _page', async () => {
    expectInvalid(await get('/Organization?_page=%00'), '_page');
    expectInvalid(await get('/Organization?_page=bm90IGpzb24'), '_page');
    expectInvalid(await get(`/Organization?_page=${cursor([1, 2])}`), '_page');
  });

  it('takes the keys the server itself writes: infinities for missing dates, numbers as text or numbers', async () => {
    const after = await get(`/PractitionerRole?_sort=date&_page=${cursor({ k: ['infinity'], i: 'x' })}`);
    expect(after.status).toBe(200);
    const before = await get(`/PractitionerRole?_sort=-date&_page=${cursor({ k: ['-infinity'], i: 'x' })}`);
    expect(before.status).toBe(200);
    const system = await get(
      `/?_type=Organization,Endpoint&_page=${cursor({ k: [], i: 'x', t: 'Endpoint' })}`,
    );
    expect(system.status).toBe(200);
  });

  it('answers a forged history cursor with 400 naming _page', async () => {
    expectInvalid(await get(`/_history?_page=${cursor({ seq: 1, extra: true })}`), '_page');
    expectInvalid(await get(`/_history?_page=${cursor({ seq: -1 })}`), '_page');
    expectInvalid(await get(`/_history?_page=${cursor({ seq: '1' })}`), '_page');
  });
});

describe('NUL and other text PostgreSQL cannot hold', () => {
  it.each([
    ['/Organization?name=a%00b', 'name'],
    ['/Organization?_id=org%00', '_id'],
    ['/Organization?identifier=%00%7Cx', 'identifier'],
    ['/Organization?partof.name=%00', 'partof.name'],
    ['/Organization?_has:Endpoint:organization:name=%00', '_has:Endpoint:organization:name'],
    ['/Organization?name:exact=%00', 'name:exact'],
    ['/Organization?_sort=%00', '_sort'],
    ['/Organization?_elements=name%00', '_elements'],
    ['/Organization?_include=Organization:partof%00', '_include'],
    ['/Organization/_history?_since=%00', '_since'],
    ['/_history?_count=1%00', '_count'],
  ])('answers %s with 400 naming %s', async (path, parameter) => {
    expectInvalid(await get(path), parameter, 'a character a search cannot take');
  });

  it('answers a NUL in a POST _search and in a lenient search with 400', async () => {
    expectInvalid(await postSearch('Endpoint', 'address=https://a%00'), 'address');
    expectInvalid(
      await call('GET', dir.url('/Organization?unknown=%00'), undefined, { prefer: 'handling=lenient' }),
      'unknown',
    );
  });
});

describe('a total with _sort', () => {
  it('counts the matches while sorting by an index parameter (the count was given the sort key parameter: 500)', async () => {
    const all = await get('/Organization?_count=1000');
    expect(all.status).toBe(200);
    const n = (all.body.entry ?? []).length;
    for (const total of ['accurate', 'estimate']) {
      const res = await get(`/Organization?_total=${total}&_sort=name&_count=1`);
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(n);
    }
    const counted = await get('/Organization?_summary=count&_sort=-name');
    expect(counted.status).toBe(200);
    expect(counted.body.total).toBe(n);
  });
});
