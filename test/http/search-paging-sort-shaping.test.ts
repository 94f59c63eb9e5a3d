/**
 * FHIR R4 search.html#sort, #count, #total, #summary and #elements over the search fixture
 * (test/helpers/search-fixture.ts): sort order and ties, keyset pages that neither repeat nor skip
 * while others write, _start, page size, totals and SUBSETTED resources.
 */
import { call } from '../helpers/fhir-client';
import {
  TAGS,
  SUBSETTED,
  BASE_ORGS,
  practitionerRole,
  entriesOf,
  idsOf,
  enc,
  sleep,
  searchCalls,
  startSearchDirectory,
} from '../helpers/search-fixture';
import type { TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startSearchDirectory();
});
afterAll(() => dir.close());
const { get, searchIds, followPages } = searchCalls(() => dir);

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
    // Two transactions: one may carry at most BUNDLE_MAX_ENTRIES (1,000) entries.
    for (const [from, to] of [
      [0, 600],
      [600, 1003],
    ] as const) {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: Array.from({ length: to - from }, (_, n) => ({
          resource: { resourceType: 'HealthcareService', name: `Service ${from + n}` },
          request: { method: 'POST', url: 'HealthcareService' },
        })),
      };
      expect((await call('POST', dir.url(''), bundle)).status).toBe(200);
    }
    const first = await get('/HealthcareService');
    expect(idsOf(first)).toHaveLength(20);
    expect(first.body.link.some((l: any) => l.relation === 'next')).toBe(true);
    const capped = await get('/HealthcareService?_count=5000');
    expect(idsOf(capped)).toHaveLength(1000);
    const rest = await followPages('/HealthcareService?_count=5000');
    expect(rest).toHaveLength(1003);
    expect(new Set(rest).size).toBe(1003);
    // A page over 100 is read as its ids, then its content 100 at a time: the same resources in the
    // same order as pages of 50 (read in one statement each), and its next link goes on from there.
    // (By id: a large page sorted by name with a cursor is estimated over SEARCH_MAX_COST.)
    const small = await followPages('/HealthcareService?_count=50');
    const large = await get('/HealthcareService?_count=250');
    expect(idsOf(large)).toEqual(small.slice(0, 250));
    expect(entriesOf(large).every((e: any) => /^Service \d+$/.test(e.resource.name))).toBe(true);
    const largeAll = await followPages('/HealthcareService?_count=250');
    expect(largeAll).toEqual(small);
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
