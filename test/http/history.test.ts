import { call, expectOutcome, type FhirResponse } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

async function followNext(url: string): Promise<any[]> {
  const entries: any[] = [];
  let next: string | undefined = url;
  while (next) {
    const page: FhirResponse = await call('GET', next);
    expect(page.status).toBe(200);
    expect(page.body.type).toBe('history');
    entries.push(...(page.body.entry ?? []));
    next = page.body.link.find((l: any) => l.relation === 'next')?.url;
  }
  return entries;
}

describe('history', () => {
  it('lists an instance history newest first, with request method and response etag per version', async () => {
    const created = await call('POST', dir.url('/Organization'), organization({ name: 'v1' }));
    const id = created.body.id as string;
    await call('PUT', dir.url(`/Organization/${id}`), { ...created.body, name: 'v2' });
    await call('DELETE', dir.url(`/Organization/${id}`));
    const res = await call('GET', dir.url(`/Organization/${id}/_history`));
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Bundle');
    expect(res.body.entry.map((e: any) => e.request.method)).toEqual(['DELETE', 'PUT', 'POST']);
    expect(res.body.entry.map((e: any) => e.response.etag)).toEqual(['W/"3"', 'W/"2"', 'W/"1"']);
    expect(res.body.entry[1].resource.name).toBe('v2');
    expect(res.body.entry[2].request.url).toBe('Organization');
    expect(res.body.entry[2].fullUrl).toBe(dir.url(`/Organization/${id}`));
  });

  it('answers 404 for the history of an unknown resource and 400 for a bad _since or _count', async () => {
    expectOutcome(await call('GET', dir.url('/Organization/unknown-org/_history')), 404);
    expectOutcome(await call('GET', dir.url('/_history?_since=yesterday')), 400);
    expectOutcome(await call('GET', dir.url('/_history?_count=-1')), 400);
    expectOutcome(await call('GET', dir.url('/_history?_page=not-a-cursor')), 400);
    expectOutcome(await call('GET', dir.url('/_history?_sort=name')), 400);
  });

  it('limits type history to its type and honours _since', async () => {
    const before = await call('POST', dir.url('/Endpoint'), endpoint({ name: 'before' }));
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date(Date.parse(before.body.meta.lastUpdated) + 1).toISOString();
    const after = await call('POST', dir.url('/Endpoint'), endpoint({ name: 'after' }));
    await call('POST', dir.url('/Organization'), organization());
    const res = await call('GET', dir.url(`/Endpoint/_history?_since=${encodeURIComponent(since)}`));
    const ids = res.body.entry.map((e: any) => e.resource.id);
    expect(ids).toEqual([after.body.id]);
    expect(res.body.entry.every((e: any) => e.resource.resourceType === 'Endpoint')).toBe(true);
  });

  it('pages system history by change sequence: a reader following next links sees every version exactly once while others write', async () => {
    const since = new Date().toISOString();
    // 60 writes in one transaction share their commit moment closely; more writes land while we page.
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: Array.from({ length: 60 }, (_, n) => ({
        resource: organization({ name: `batch ${n}` }),
        request: { method: 'POST', url: 'Organization' },
      })),
    };
    expect((await call('POST', dir.url(''), bundle)).status).toBe(200);
    const seen: string[] = [];
    let next: string | undefined = dir.url(`/_history?_since=${encodeURIComponent(since)}&_count=7`);
    let pages = 0;
    while (next) {
      const page: FhirResponse = await call('GET', next);
      for (const entry of page.body.entry) seen.push(`${entry.fullUrl}|${entry.response.etag}`);
      // A concurrent writer: its versions are newer than the reader's cursor, so they never shift the pages.
      if (pages++ < 5) await call('POST', dir.url('/Organization'), organization({ name: `late ${pages}` }));
      next = page.body.link.find((l: any) => l.relation === 'next')?.url;
    }
    expect(new Set(seen).size).toBe(seen.length);
    // A write's Provenance is a version too (src/fhir/recorded-write.ts): the transaction's 60 creates
    // are one activity, so one Provenance lists them (deliberately: one per version before).
    expect(seen).toHaveLength(61);
    expect(seen.filter((s) => s.includes('/Provenance/'))).toHaveLength(1);
    // The 5 late writes, each with its Provenance.
    const everything = await followNext(dir.url(`/_history?_since=${encodeURIComponent(since)}&_count=50`));
    expect(everything).toHaveLength(71);
  });

  it('caps _count at 1000 and includes self links on every page', async () => {
    const res = await call('GET', dir.url('/_history?_count=5000'));
    expect(res.status).toBe(200);
    expect(res.body.link[0].relation).toBe('self');
    expect(res.body.entry.length).toBeLessThanOrEqual(1000);
  });
});

describe('search (_id and _lastUpdated until the search engine lands)', () => {
  it('finds by _id (comma = OR) and pages with next links', async () => {
    const a = await call('POST', dir.url('/Location'), { resourceType: 'Location', name: 'A' });
    const b = await call('POST', dir.url('/Location'), { resourceType: 'Location', name: 'B' });
    const res = await call('GET', dir.url(`/Location?_id=${a.body.id},${b.body.id}&_total=accurate`));
    expect(res.body.type).toBe('searchset');
    expect(res.body.total).toBe(2);
    expect(res.body.entry.map((e: any) => e.resource.id).sort()).toEqual([a.body.id, b.body.id].sort());
    expect(res.body.entry[0].search.mode).toBe('match');
    const paged = await followNextSearch(dir.url('/Location?_count=1'));
    expect(paged.length).toBeGreaterThanOrEqual(2);
    expect(new Set(paged).size).toBe(paged.length);
  });

  it('filters by _lastUpdated with prefixes and rejects unknown parameters unless lenient', async () => {
    const created = await call('POST', dir.url('/HealthcareService'), {
      resourceType: 'HealthcareService',
      name: 'Lab',
    });
    const at = created.body.meta.lastUpdated as string;
    const ge = await call('GET', dir.url(`/HealthcareService?_lastUpdated=ge${encodeURIComponent(at)}`));
    expect(ge.body.entry.map((e: any) => e.resource.id)).toContain(created.body.id);
    const lt = await call('GET', dir.url(`/HealthcareService?_lastUpdated=lt${encodeURIComponent(at)}`));
    expect((lt.body.entry ?? []).map((e: any) => e.resource.id)).not.toContain(created.body.id);
    expectOutcome(await call('GET', dir.url('/HealthcareService?colour=blue')), 400);
    const lenient = await call('GET', dir.url('/HealthcareService?colour=blue'), undefined, {
      prefer: 'handling=lenient',
    });
    expect(lenient.status).toBe(200);
    expect(lenient.body.entry.some((e: any) => e.search.mode === 'outcome')).toBe(true);
    expectOutcome(await call('GET', dir.url('/HealthcareService?_lastUpdated=gt2024-13')), 400);
  });

  it('does not return deleted resources', async () => {
    const created = await call('POST', dir.url('/Location'), { resourceType: 'Location', name: 'Gone' });
    await call('DELETE', dir.url(`/Location/${created.body.id}`));
    const res = await call('GET', dir.url(`/Location?_id=${created.body.id}`));
    expect(res.body.entry ?? []).toHaveLength(0);
  });
});

async function followNextSearch(url: string): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined = url;
  while (next) {
    const page: FhirResponse = await call('GET', next);
    ids.push(...(page.body.entry ?? []).map((e: any) => e.resource.id));
    next = page.body.link.find((l: any) => l.relation === 'next')?.url;
  }
  return ids;
}
