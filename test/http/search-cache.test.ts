/**
 * The search response cache through the real HTTP server on a real database. A repeated search is
 * answered from the cache (`X-Cache: hit`), but never once anything it depends on has changed: a
 * write of any kind, a write by another server process on the same database, a reindex. Each test
 * says what it sends and what it must get; none depends on timing.
 */
import type { Resource } from '@medplum/fhirtypes';
import { extractIndexRows } from '../../src/fhir/search/extract-index';
import { ResponseCache } from '../../src/fhir/search/response-cache';
import { call, type FhirResponse } from '../helpers/fhir-client';
import { onPostgres, startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const NPI = 'http://hl7.org/fhir/sid/us-npi';
const CONNECTION = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const PAYLOAD = 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type';
const ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let dir: TestDirectory;

const org = (id: string, name: string, state = 'TX'): Record<string, unknown> => ({
  resourceType: 'Organization',
  id,
  active: true,
  name,
  identifier: [{ system: NPI, value: '1234567893' }],
  type: [{ coding: [{ system: ORG_TYPE, code: 'prov' }] }],
  address: [{ city: 'Austin', state }],
});

const endpoint = (id: string, organization: string): Record<string, unknown> => ({
  resourceType: 'Endpoint',
  id,
  status: 'active',
  connectionType: { system: CONNECTION, code: 'ihe-xca' },
  managingOrganization: { reference: `Organization/${organization}` },
  payloadType: [{ coding: [{ system: PAYLOAD, code: 'any' }] }],
  address: `https://${id}.example.org/xca`,
});

const cacheOf = (res: FhirResponse): string | null => res.headers.get('x-cache');
const idsOf = (res: FhirResponse): string[] =>
  ((res.body?.entry ?? []) as { resource?: { id?: string }; search?: { mode?: string } }[])
    .filter((e) => e.search?.mode === 'match')
    .map((e) => e.resource?.id as string)
    .sort();
/** The Bundle without its timestamp, which is the time of each answer. */
const withoutTimestamp = (res: FhirResponse): unknown => ({ ...res.body, timestamp: undefined });

async function put(d: TestDirectory, resource: Record<string, unknown>): Promise<void> {
  const res = await call('PUT', d.url(`/${String(resource.resourceType)}/${String(resource.id)}`), resource);
  expect([200, 201]).toContain(res.status);
}

beforeAll(async () => {
  dir = await startTestDirectory();
  for (const [id, name] of [
    ['cache-a', 'Cachet Alpha Clinic'],
    ['cache-b', 'Cachet Beta Clinic'],
    ['cache-c', 'Cachet Gamma Hospital'],
  ] as const)
    await put(dir, org(id, name));
  await put(dir, endpoint('cache-ep-a', 'cache-a'));
});
afterAll(() => dir.close());

describe('search response cache', () => {
  it('answers a repeated search from the cache: same Bundle, X-Cache hit, the timestamp of now', async () => {
    const first = await call('GET', dir.url('/Organization?name=cachet&_sort=_id'));
    const second = await call('GET', dir.url('/Organization?name=cachet&_sort=_id'));
    expect(first.status).toBe(200);
    expect(cacheOf(first)).toBe('miss');
    expect(idsOf(first)).toEqual(['cache-a', 'cache-b', 'cache-c']);
    expect(second.status).toBe(200);
    expect(cacheOf(second)).toBe('hit');
    expect(second.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(withoutTimestamp(second)).toEqual(withoutTimestamp(first));
    expect(Date.parse(second.body.timestamp)).toBeGreaterThanOrEqual(Date.parse(first.body.timestamp));
  });

  it('a hit is the stored bytes: non-ASCII names intact, Content-Length exact, only the timestamp new', async () => {
    await put(dir, org('cache-u', 'Zoë Clínica São José 北京'));
    const path = dir.url('/Organization?name=zoe');
    const miss = await fetch(path);
    const hit = await fetch(path);
    expect(miss.headers.get('x-cache')).toBe('miss');
    expect(hit.headers.get('x-cache')).toBe('hit');
    const [missText, hitText] = [await miss.text(), await hit.text()];
    expect(Number(hit.headers.get('content-length'))).toBe(Buffer.byteLength(hitText));
    const stamp = /"timestamp":"[^"]*"/;
    expect(hitText.replace(stamp, '')).toBe(missText.replace(stamp, ''));
    expect(JSON.parse(hitText).entry[0].resource.name).toBe('Zoë Clínica São José 北京');
  });

  it('shares one answer between parameter orders and GET and POST _search; links name the parameters in order', async () => {
    const get = await call('GET', dir.url('/Organization?name=cachet&address-state=TX&_count=2'));
    const reordered = await call('GET', dir.url('/Organization?_count=2&address-state=TX&name=cachet'));
    const post = await call(
      'POST',
      dir.url('/Organization/_search?_count=2'),
      'name=cachet&address-state=TX',
      FORM,
    );
    expect([cacheOf(get), cacheOf(reordered), cacheOf(post)]).toEqual(['miss', 'hit', 'hit']);
    const self = (get.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'self');
    expect(self?.url).toBe(dir.url('/Organization?_count=2&address-state=TX&name=cachet'));
    expect(withoutTimestamp(reordered)).toEqual(withoutTimestamp(get));
    expect(withoutTimestamp(post)).toEqual(withoutTimestamp(get));
  });

  it('a cached answer keeps every rule of the full path: 406 for XML, _pretty, X-Request-Id', async () => {
    const url = dir.url('/Organization?name=cachet&_sort=_id');
    await call('GET', url);
    const hit = await call('GET', url, undefined, { 'x-request-id': 'cache-hit-1' });
    expect(cacheOf(hit)).toBe('hit');
    expect(hit.headers.get('x-request-id')).toBe('cache-hit-1');
    expect(hit.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect((await call('GET', url, undefined, { accept: 'application/fhir+xml' })).status).toBe(406);
    expect((await call('GET', `${url}&_format=xml`)).status).toBe(406);
    const pretty = await call('GET', `${url}&_pretty=true`);
    expect(pretty.status).toBe(200);
    expect(pretty.text).toContain('\n  "resourceType": "Bundle"');
    // HEAD is answered by the full path, with the headers and no body.
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('includes and revincludes are cached with their page', async () => {
    const url = dir.url('/Organization?_id=cache-a&_revinclude=Endpoint:organization');
    const first = await call('GET', url);
    const second = await call('GET', url);
    expect([cacheOf(first), cacheOf(second)]).toEqual(['miss', 'hit']);
    expect(second.body.entry.map((e: { resource: Resource }) => e.resource.id)).toEqual([
      'cache-a',
      'cache-ep-a',
    ]);
  });

  describe('a write between two identical searches: the second search is computed again and sees it', () => {
    const search = (): Promise<FhirResponse> => call('GET', dir.url('/Organization?name=writes&_sort=_id'));
    /** The search, cached, then `write`, then the search again: a miss with what the write did. */
    async function afterWrite(write: () => Promise<void>): Promise<FhirResponse> {
      await search();
      expect(cacheOf(await search())).toBe('hit');
      await write();
      const res = await search();
      expect(cacheOf(res)).toBe('miss');
      return res;
    }

    it('create (POST): the new resource is found', async () => {
      const res = await afterWrite(async () => {
        const created = await call('POST', dir.url('/Organization'), {
          ...org('ignored', 'Writes Created'),
          id: undefined,
        });
        expect(created.status).toBe(201);
      });
      expect(res.body.entry.map((e: { resource: { name: string } }) => e.resource.name)).toContain(
        'Writes Created',
      );
    });

    it('update (PUT): the new content is served', async () => {
      await put(dir, org('writes-u', 'Writes Updated one'));
      const res = await afterWrite(() => put(dir, org('writes-u', 'Writes Updated two')));
      const names = res.body.entry.map((e: { resource: { name: string } }) => e.resource.name);
      expect(names).toContain('Writes Updated two');
      expect(names).not.toContain('Writes Updated one');
    });

    it('PATCH: the patched content is served', async () => {
      await put(dir, org('writes-p', 'Writes Patch before'));
      const res = await afterWrite(async () => {
        const patched = await call(
          'PATCH',
          dir.url('/Organization/writes-p'),
          [{ op: 'replace', path: '/name', value: 'Writes Patch after' }],
          { 'content-type': 'application/json-patch+json' },
        );
        expect(patched.status).toBe(200);
      });
      expect(res.body.entry.map((e: { resource: { name: string } }) => e.resource.name)).toContain(
        'Writes Patch after',
      );
    });

    it('delete: the deleted resource is gone', async () => {
      await put(dir, org('writes-d', 'Writes Deleted'));
      const res = await afterWrite(async () => {
        expect((await call('DELETE', dir.url('/Organization/writes-d'))).status).toBe(200);
      });
      expect(idsOf(res)).not.toContain('writes-d');
    });

    it('transaction: every resource it wrote is found', async () => {
      const res = await afterWrite(async () => {
        const tx = await call('POST', dir.url(''), {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: ['writes-t1', 'writes-t2'].map((id) => ({
            resource: org(id, `Writes Transaction ${id}`),
            request: { method: 'PUT', url: `Organization/${id}` },
          })),
        });
        expect(tx.status).toBe(200);
      });
      expect(idsOf(res)).toEqual(expect.arrayContaining(['writes-t1', 'writes-t2']));
    });

    it('a write to another type does not end a plain search of this one, but ends every search that reads that type', async () => {
      const plain = dir.url('/Organization?name=cachet&_sort=_id');
      const reading = [
        '/Organization?_id=cache-b&_revinclude=Endpoint:organization',
        '/Organization?_has:Endpoint:organization:status=active',
        '/Endpoint?organization.name=cachet',
        '/Endpoint?_include=Endpoint:organization:Organization',
        '/Organization?_id=cache-b&_include=Organization:endpoint',
        '/Organization?_id=cache-b&_revinclude:iterate=Endpoint:organization',
        '/_history',
        '/Endpoint/_history',
      ].map((path) => dir.url(path));
      for (const url of [plain, ...reading]) {
        await call('GET', url);
        expect(cacheOf(await call('GET', url))).toBe('hit');
      }
      const before = await call('GET', plain);
      await put(dir, endpoint('writes-ep', 'cache-b'));
      const after = await call('GET', plain);
      expect(cacheOf(after)).toBe('hit');
      expect(withoutTimestamp(after)).toEqual(withoutTimestamp(before));
      expect(idsOf(after)).toEqual(expect.arrayContaining(['cache-a', 'cache-b', 'cache-c']));
      for (const url of reading)
        expect(`${url}: ${String(cacheOf(await call('GET', url)))}`).toBe(`${url}: miss`);
      const revincluded = await call('GET', reading[0] as string);
      expect(revincluded.body.entry.map((e: { resource: Resource }) => e.resource.id)).toContain('writes-ep');
      // An Organization write ends the plain Organization search, and Endpoint history stays.
      await call('GET', dir.url('/Endpoint/_history'));
      await put(dir, org('writes-org', 'Unmatched Writes Org'));
      expect(cacheOf(await call('GET', plain))).toBe('miss');
      expect(cacheOf(await call('GET', dir.url('/Endpoint/_history')))).toBe('hit');
    });
  });

  it('a write made through a second store on the same database (another server process) is seen', async () => {
    // PostgreSQL: a second pool on the same schema, serving a second directory with a cache of its
    // own, as a second process would. PGlite lives in one process: the same store, a second cache.
    const other = await startTestDirectory({ store: await dir.openSecondStore() });
    try {
      const url = '/Organization?name=elsewhere';
      expect(idsOf(await call('GET', dir.url(url)))).toEqual([]);
      expect(cacheOf(await call('GET', dir.url(url)))).toBe('hit');
      expect(idsOf(await call('GET', other.url(url)))).toEqual([]);
      await put(other, org('elsewhere-1', 'Elsewhere Written'));
      const mine = await call('GET', dir.url(url));
      expect(cacheOf(mine)).toBe('miss');
      expect(idsOf(mine)).toEqual(['elsewhere-1']);
      // And the other way round: the second directory's cached answer is not served either.
      await put(dir, org('elsewhere-2', 'Elsewhere Too'));
      expect(idsOf(await call('GET', other.url(url)))).toEqual(['elsewhere-1', 'elsewhere-2']);
    } finally {
      await other.close();
    }
  });

  it('reindex (which writes no history) invalidates: a cached page is not served over rebuilt index rows', async () => {
    const url = dir.url('/Organization?name=cachet&_sort=_id');
    await call('GET', url);
    expect(cacheOf(await call('GET', url))).toBe('hit');
    // Rebuild with an indexer that leaves cache-b's names out (as a changed SearchParameter might),
    // through a second store, as `fhir-directory reindex` in another process does.
    const second = await dir.openSecondStore();
    try {
      await second.reindex(
        (resource) => {
          const rows = extractIndexRows(resource, dir.baseUrl);
          if (resource.id === 'cache-b') rows.string = rows.string.filter((r) => r.param !== 'name');
          return rows;
        },
        { type: 'Organization' },
      );
      const rebuilt = await call('GET', url);
      expect(cacheOf(rebuilt)).toBe('miss');
      expect(idsOf(rebuilt)).toEqual(['cache-a', 'cache-c']);
      await second.reindex((resource) => extractIndexRows(resource, dir.baseUrl), { type: 'Organization' });
      expect(idsOf(await call('GET', url))).toEqual(['cache-a', 'cache-b', 'cache-c']);
    } finally {
      await second.close();
    }
  });

  it('history is cached the same way: a write makes the next _history a miss, newest first', async () => {
    const url = dir.url('/Organization/_history?_count=1');
    await call('GET', url);
    expect(cacheOf(await call('GET', url))).toBe('hit');
    await put(dir, org('history-new', 'History Newest'));
    const res = await call('GET', url);
    expect(cacheOf(res)).toBe('miss');
    expect(res.body.entry[0].resource.id).toBe('history-new');
  });

  it('history at every level is cached separately, and a hit is the same Bundle the miss was', async () => {
    await put(dir, org('history-levels', 'History Levels'));
    for (const path of [
      '/_history?_count=2',
      '/Organization/_history?_count=2',
      '/Organization/history-levels/_history',
    ]) {
      const miss = await call('GET', dir.url(path));
      const hit = await call('GET', dir.url(path));
      expect([miss.status, cacheOf(miss), hit.status, cacheOf(hit)]).toEqual([200, 'miss', 200, 'hit']);
      expect({ ...hit.body, timestamp: undefined }).toEqual({ ...miss.body, timestamp: undefined });
    }
    const instance = await call('GET', dir.url('/Organization/history-levels/_history'));
    expect(instance.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([
      'history-levels',
    ]);
    // An unknown id is 404 each time, never a cached answer.
    expect((await call('GET', dir.url('/Organization/no-such-org/_history'))).status).toBe(404);
    expect((await call('GET', dir.url('/Organization/no-such-org/_history'))).status).toBe(404);
  });

  it('Prefer: handling=lenient is part of the key: a strict request is still refused', async () => {
    const url = dir.url('/Organization?name=cachet&unknown-parameter=1');
    const lenient = { prefer: 'handling=lenient' };
    expect((await call('GET', url, undefined, lenient)).status).toBe(200);
    expect(cacheOf(await call('GET', url, undefined, lenient))).toBe('hit');
    expect((await call('GET', url)).status).toBe(400);
  });

  it('errors are not cached: a bad search is answered 400 each time', async () => {
    const url = dir.url('/Organization?_count=many');
    const first = await call('GET', url);
    const second = await call('GET', url);
    expect([first.status, second.status]).toEqual([400, 400]);
    expect(second.body.resourceType).toBe('OperationOutcome');
  });

  it('searches racing writes: every search sent after a write was answered sees that write', async () => {
    const url = dir.url('/Organization?name=racing');
    for (let round = 1; round <= 6; round++) {
      await put(dir, org(`racing-${round}`, `Racing ${round}`));
      // Eight identical searches at once (they share head reads and one computation), while the
      // next write is already under way: each must see at least every write answered before it.
      const next = put(dir, org(`racing-late-${round}`, `Racing late ${round}`));
      const answers = await Promise.all(Array.from({ length: 8 }, () => call('GET', url)));
      await next;
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(idsOf(answer)).toEqual(expect.arrayContaining([`racing-${round}`]));
      }
      expect(idsOf(await call('GET', url))).toEqual(expect.arrayContaining([`racing-late-${round}`]));
    }
  });

  it('stays within its memory budget, evicting the least recently used answer', async () => {
    // Three searches with answers of one size (ids and names of equal length); the budget holds two.
    for (const id of ['lru-1', 'lru-2', 'lru-3']) await put(dir, org(id, `Budget ${id}`));
    const url = (id: string): string => dir.url(`/Organization?_id=${id}`);
    const measuring = new ResponseCache({ readHead: () => dir.store.head(), maxBytes: 1 << 20 });
    dir.ctx.responseCache = measuring;
    await call('GET', url('lru-1'));
    const entryBytes = measuring.stats().bytes;
    const small = new ResponseCache({
      readHead: () => dir.store.head(),
      maxBytes: Math.floor(entryBytes * 2.5),
    });
    dir.ctx.responseCache = small;
    try {
      for (const id of ['lru-1', 'lru-2', 'lru-1', 'lru-3']) await call('GET', url(id));
      expect(small.stats()).toMatchObject({ entries: 2, bytes: entryBytes * 2, evictions: 1 });
      // lru-2 was the least recently used when lru-3 came in.
      expect(cacheOf(await call('GET', url('lru-1')))).toBe('hit');
      expect(cacheOf(await call('GET', url('lru-3')))).toBe('hit');
      expect(cacheOf(await call('GET', url('lru-2')))).toBe('miss');
      expect(small.stats().bytes).toBeLessThanOrEqual(small.maxBytes);
    } finally {
      dir.ctx.responseCache = new ResponseCache({ readHead: () => dir.store.head(), maxBytes: 64 << 20 });
    }
  });

  it('SEARCH_CACHE_MB=0 turns it off: no X-Cache header, every search computed', async () => {
    const uncached = await startTestDirectory({ store: await dir.openSecondStore(), searchCacheMb: 0 });
    try {
      const first = await call('GET', uncached.url('/Organization?name=cachet'));
      const second = await call('GET', uncached.url('/Organization?name=cachet'));
      expect([first.status, second.status]).toEqual([200, 200]);
      expect([cacheOf(first), cacheOf(second)]).toEqual([null, null]);
      expect(uncached.ctx.responseCache).toBeUndefined();
    } finally {
      await uncached.close();
    }
  });
});

describe(`ResourceStore.head on ${onPostgres() ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('moves with every committed write and every reindex, and not with a rolled-back write', async () => {
    const before = await dir.store.head();
    await put(dir, org('head-1', 'Head One'));
    const afterWrite = await dir.store.head();
    expect(afterWrite.seq).toBeGreaterThan(before.seq);
    expect(afterWrite.epoch).toBe(before.epoch);
    await expect(
      dir.store.write(async (s) => {
        await s.writeVersion({
          resourceType: 'Organization',
          id: 'head-rolled-back',
          method: 'PUT',
          resource: { resourceType: 'Organization', id: 'head-rolled-back', name: 'x' },
        });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await dir.store.head()).toEqual(afterWrite);
    await dir.store.reindex((resource) => extractIndexRows(resource, dir.baseUrl), { type: 'Endpoint' });
    const afterReindex = await dir.store.head();
    expect(afterReindex.seq).toBe(afterWrite.seq);
    expect(afterReindex.epoch).toBeGreaterThan(afterWrite.epoch);
  });
});
