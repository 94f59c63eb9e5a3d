/**
 * Reads (and vreads) through the response cache and the hit lane: a repeated read is answered by the
 * lane with exactly the full path's headers, and never stale: any write to its type, by this server
 * or another process on the same database, is seen by the next read. If-None-Match gives 304 on both
 * paths; 404 and 410 are answered as before and never kept. Real HTTP on a real database.
 */
import { call, issuesOf, type FhirResponse } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
const directHits = (): number => dir.ctx.responseCache?.stats().directHits ?? -1;

/** The headers a client reads, without the ones that differ by request (id, date) or by path (X-Cache). */
const stableHeaders = (res: FhirResponse): Record<string, string> => {
  const kept: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!['x-request-id', 'date', 'x-cache', 'connection', 'keep-alive'].includes(name)) kept[name] = value;
  });
  return kept;
};

async function put(resource: { resourceType: string; id?: string }): Promise<FhirResponse> {
  const res = await call('PUT', dir.url(`/${resource.resourceType}/${resource.id as string}`), resource);
  expect([200, 201]).toContain(res.status);
  return res;
}

beforeAll(async () => {
  dir = await startTestDirectory();
  await put(organization({ id: 'read-a', name: 'Readwell Clinic' }));
  await put(organization({ id: 'read-b', name: 'Readwell Hospital' }));
  await put(endpoint({ id: 'read-ep', managingOrganization: { reference: 'Organization/read-a' } }));
});
afterAll(() => dir.close());

describe('a read through the cache', () => {
  it('is answered by the lane when repeated, with the same body and headers as the full path', async () => {
    const first = await call('GET', dir.url('/Organization/read-a'));
    const before = directHits();
    const second = await call('GET', dir.url('/Organization/read-a'));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(directHits()).toBe(before + 1);
    expect(second.text).toBe(first.text);
    expect(stableHeaders(second)).toEqual(stableHeaders(first));
    expect(stableHeaders(second)).toEqual({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': expect.stringContaining('ETag') as unknown,
      'cache-control': 'no-cache',
      'content-length': String(Buffer.byteLength(first.text)),
      'content-type': 'application/fhir+json; charset=utf-8',
      etag: 'W/"1"',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'last-modified': new Date(first.body.meta.lastUpdated as string).toUTCString(),
      'referrer-policy': 'no-referrer',
      vary: 'Accept, Prefer, Authorization',
      'x-content-type-options': 'nosniff',
    });
    expect(second.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.body).toMatchObject({
      resourceType: 'Organization',
      id: 'read-a',
      name: 'Readwell Clinic',
    });
  });

  it('sees an update of the resource at once', async () => {
    await call('GET', dir.url('/Organization/read-b'));
    expect((await call('GET', dir.url('/Organization/read-b'))).headers.get('x-cache')).toBe('hit');
    await put(organization({ id: 'read-b', name: 'Readwell General Hospital' }));
    const after = await call('GET', dir.url('/Organization/read-b'));
    expect(after.status).toBe(200);
    expect(after.headers.get('x-cache')).toBe('miss');
    expect(after.headers.get('etag')).toBe('W/"2"');
    expect(after.body.name).toBe('Readwell General Hospital');
  });

  it('outlives a write to another type, not one to its own type', async () => {
    await call('GET', dir.url('/Organization/read-a'));
    await put(endpoint({ id: 'read-ep', name: 'Readwell FHIR (renamed)' }));
    expect((await call('GET', dir.url('/Organization/read-a'))).headers.get('x-cache')).toBe('hit');
    await put(organization({ id: 'read-other', name: 'Readwell Annex' }));
    const after = await call('GET', dir.url('/Organization/read-a'));
    expect(after.headers.get('x-cache')).toBe('miss'); // computed again: an Organization was written
    expect(after.headers.get('etag')).toBe('W/"1"');
  });

  it("sees another process's write on the same database at once", async () => {
    await put(organization({ id: 'read-c', name: 'Readwell Pharmacy' }));
    await call('GET', dir.url('/Organization/read-c'));
    expect((await call('GET', dir.url('/Organization/read-c'))).headers.get('x-cache')).toBe('hit');
    const other = await startTestDirectory({ store: await dir.openSecondStore() });
    try {
      const renamed = organization({ id: 'read-c', name: 'Readwell Compounding Pharmacy' });
      expect((await call('PUT', other.url('/Organization/read-c'), renamed)).status).toBe(200);
    } finally {
      await other.close();
    }
    const after = await call('GET', dir.url('/Organization/read-c'));
    expect(after.headers.get('etag')).toBe('W/"2"');
    expect(after.body.name).toBe('Readwell Compounding Pharmacy');
  });

  it('answers If-None-Match with the current ETag 304, from the full path and from the lane alike', async () => {
    await put(organization({ id: 'read-d', name: 'Readwell Dental' }));
    const fromRouter = await call('GET', dir.url('/Organization/read-d'), undefined, {
      'if-none-match': 'W/"1"',
    });
    const before = directHits();
    const fromLane = await call('GET', dir.url('/Organization/read-d'), undefined, {
      'if-none-match': 'W/"1"',
    });
    expect(directHits()).toBe(before + 1);
    for (const res of [fromRouter, fromLane]) {
      expect(res.status).toBe(304);
      expect(res.text).toBe('');
      expect(res.headers.get('etag')).toBe('W/"1"');
      expect(res.headers.get('last-modified')).toBeTruthy();
      expect(res.headers.get('content-type')).toBeNull();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(stableHeaders(fromLane)).toEqual(stableHeaders(fromRouter));
    const stale = await call('GET', dir.url('/Organization/read-d'), undefined, { 'if-none-match': 'W/"7"' });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('hit');
  });

  it('404 and 410 as before, never kept', async () => {
    for (let i = 0; i < 2; i += 1) {
      const missing = await call('GET', dir.url('/Organization/read-none'));
      expect(missing.status).toBe(404);
      expect(missing.headers.get('x-cache')).toBeNull();
      expect(issuesOf(missing)[0]).toMatchObject({ severity: 'error', code: 'not-found' });
    }
    await put(organization({ id: 'read-e', name: 'Readwell Eye Care' }));
    await call('GET', dir.url('/Organization/read-e'));
    expect((await call('GET', dir.url('/Organization/read-e'))).headers.get('x-cache')).toBe('hit');
    expect((await call('DELETE', dir.url('/Organization/read-e'))).status).toBe(200);
    for (let i = 0; i < 2; i += 1) {
      const deleted = await call('GET', dir.url('/Organization/read-e'));
      expect(deleted.status).toBe(410);
      expect(issuesOf(deleted)[0]).toMatchObject({
        severity: 'error',
        code: 'deleted',
        diagnostics: 'Organization/read-e has been deleted',
      });
    }
  });

  it('an invalid id is 400 naming the id, never kept', async () => {
    for (let i = 0; i < 2; i += 1) {
      const res = await call('GET', dir.url('/Organization/bad_id'));
      expect(res.status).toBe(400);
      expect(issuesOf(res)[0]).toEqual({
        severity: 'error',
        code: 'invalid',
        diagnostics: "'bad_id' is not a valid FHIR id (1-64 characters of A-Z, a-z, 0-9, '-' and '.')",
        expression: ['id'],
      });
    }
  });

  it('takes _format=json in the lane; any other parameter, and _pretty, go to the router', async () => {
    await call('GET', dir.url('/Organization/read-a'));
    let before = directHits();
    const formatted = await call('GET', dir.url('/Organization/read-a?_format=json'));
    expect(formatted.status).toBe(200);
    expect(directHits()).toBe(before + 1);
    before = directHits();
    const other = await call('GET', dir.url('/Organization/read-a?_elements=name'));
    const pretty = await call('GET', dir.url('/Organization/read-a?_pretty=true'));
    expect(directHits()).toBe(before);
    expect(other.status).toBe(200);
    expect(other.text).toBe(formatted.text);
    expect(pretty.status).toBe(200);
    expect(pretty.text).toContain('\n  "resourceType": "Organization"');
    const xml = await call('GET', dir.url('/Organization/read-a?_format=json&_format=xml'));
    expect(xml.status).toBe(406);
    expect(issuesOf(xml)[0]).toMatchObject({ code: 'not-supported' });
  });
});

describe('a vread through the cache', () => {
  it('is answered by the lane when repeated, and still gives that version after an update', async () => {
    await put(organization({ id: 'read-v', name: 'Readwell Vision' }));
    const first = await call('GET', dir.url('/Organization/read-v/_history/1'));
    const before = directHits();
    const second = await call('GET', dir.url('/Organization/read-v/_history/1'));
    expect(directHits()).toBe(before + 1);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.text).toBe(first.text);
    expect(stableHeaders(second)).toEqual(stableHeaders(first));
    expect(second.headers.get('etag')).toBe('W/"1"');
    await put(organization({ id: 'read-v', name: 'Readwell Vision Center' }));
    const after = await call('GET', dir.url('/Organization/read-v/_history/1'));
    expect(after.body.name).toBe('Readwell Vision');
    expect((await call('GET', dir.url('/Organization/read-v/_history/2'))).body.name).toBe(
      'Readwell Vision Center',
    );
    const missing = await call('GET', dir.url('/Organization/read-v/_history/3'));
    expect(missing.status).toBe(404);
    expect(issuesOf(missing)[0]).toMatchObject({ code: 'not-found' });
  });
});

describe('with the cache off (SEARCH_CACHE_MB=0)', () => {
  it('reads as before: no X-Cache, the same headers', async () => {
    const off = await startTestDirectory({ searchCacheMb: 0 });
    try {
      await call('PUT', off.url('/Organization/read-off'), organization({ id: 'read-off' }));
      const res = await call('GET', off.url('/Organization/read-off'));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBeNull();
      expect(res.headers.get('etag')).toBe('W/"1"');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const notModified = await call('GET', off.url('/Organization/read-off'), undefined, {
        'if-none-match': 'W/"1"',
      });
      expect(notModified.status).toBe(304);
    } finally {
      await off.close();
    }
  });
});
