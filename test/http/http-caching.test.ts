/**
 * HTTP caching of reads (README "Operate it"; src/fhir/revalidation.ts): read, vread, search and
 * history answers carry an ETag (a read's is its version, W/"n"), Cache-Control that makes every
 * cache revalidate, and Vary; If-None-Match with the current ETag is 304 with no body, decided alike
 * by the hit lane (GET) and the full path (HEAD, which the lane never takes; and with the response
 * cache off); a write changes the answer's ETag, so a revalidation after it is a 200. Under
 * READ_ACCESS=authenticated the answers are private and a 304 comes only after the token check; an
 * AuditEvent answer is kept by no cache.
 */
import { registerClient, tokenFor } from '../helpers/auth';
import { call, expectOutcome, type FhirResponse } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const NO_TOKEN = { authorization: '' };
const VARY = 'Accept, Prefer, Authorization';

async function put(dir: TestDirectory, id: string, name: string): Promise<void> {
  const res = await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name }));
  expect([200, 201]).toContain(res.status);
}

/** The headers a revalidating client and cache read. */
const caching = (res: FhirResponse): Record<string, string | null> => ({
  etag: res.headers.get('etag'),
  'cache-control': res.headers.get('cache-control'),
  vary: res.headers.get('vary'),
});

function expectNotModified(res: FhirResponse, etag: string, cacheControl = 'no-cache'): void {
  expect(res.status).toBe(304);
  expect(res.text).toBe('');
  expect(res.headers.get('content-type')).toBeNull();
  expect(caching(res)).toEqual({ etag, 'cache-control': cacheControl, vary: VARY });
}

describe('READ_ACCESS=public, with the response cache', () => {
  let dir: TestDirectory;
  const directHits = (): number => dir.ctx.responseCache?.stats().directHits ?? -1;

  beforeAll(async () => {
    dir = await startTestDirectory();
    await put(dir, 'etag-a', 'Etagwell Clinic');
  });
  afterAll(() => dir.close());

  it.each([
    ['a search', '/Organization?name=Etagwell'],
    ['a type history', '/Organization/_history'],
    ['a system history', '/_history?_count=5'],
    ['an instance history', '/Organization/etag-a/_history'],
  ])(
    '%s: an ETag, no-cache and Vary; 304 on the lane (GET) and the full path (HEAD)',
    async (_what, path) => {
      const first = await call('GET', dir.url(path));
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag') as string;
      expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]{27}"$/);
      expect(caching(first)).toEqual({ etag, 'cache-control': 'no-cache', vary: VARY });

      const hits = directHits();
      const lane = await call('GET', dir.url(path), undefined, { 'if-none-match': etag });
      expectNotModified(lane, etag);
      expect(lane.headers.get('x-cache')).toBe('hit');
      expect(directHits()).toBe(hits + 1);

      const full = await call('HEAD', dir.url(path), undefined, { 'if-none-match': etag });
      expectNotModified(full, etag);
      expect(directHits()).toBe(hits + 1); // not the lane

      const other = await call('GET', dir.url(path), undefined, { 'if-none-match': 'W/"something-else"' });
      expect(other.status).toBe(200);
      expect(other.headers.get('etag')).toBe(etag);
    },
  );

  it('gives the same ETag for every spelling of the same query, another for another query', async () => {
    const a = await call('GET', dir.url('/Organization?name=Etagwell&_count=5'));
    const b = await call('GET', dir.url('/Organization?_count=5&name=Etagwell'));
    const c = await call('GET', dir.url('/Organization?name=Etagwell&_count=6'));
    expect(b.headers.get('etag')).toBe(a.headers.get('etag'));
    expect(c.headers.get('etag')).not.toBe(a.headers.get('etag'));
  });

  it('never revalidates a changed directory: GET, write, conditional GET → 200 with the new ETag', async () => {
    const path = '/Organization?name=Etagwell';
    const before = await call('GET', dir.url(path));
    const etag = before.headers.get('etag') as string;
    expect((await call('GET', dir.url(path), undefined, { 'if-none-match': etag })).status).toBe(304);
    await put(dir, 'etag-new', 'Etagwell Annex');
    for (const method of ['GET', 'HEAD']) {
      const after = await call(method, dir.url(path), undefined, { 'if-none-match': etag });
      expect(`${method} ${after.status}`).toBe(`${method} 200`);
      expect(after.headers.get('etag')).not.toBe(etag);
      if (method === 'GET')
        expect((after.body.entry as { resource: { id: string } }[]).map((e) => e.resource.id)).toContain(
          'etag-new',
        );
    }
    const now = (await call('GET', dir.url(path))).headers.get('etag') as string;
    expect((await call('GET', dir.url(path), undefined, { 'if-none-match': now })).status).toBe(304);
  });

  it('a read: W/"version" (FHIR http.html#read), 304 for it, for * and in a list; 200 after an update', async () => {
    const first = await call('GET', dir.url('/Organization/etag-a'));
    expect(caching(first)).toEqual({ etag: 'W/"1"', 'cache-control': 'no-cache', vary: VARY });
    expectNotModified(
      await call('GET', dir.url('/Organization/etag-a'), undefined, { 'if-none-match': 'W/"1"' }),
      'W/"1"',
    );
    expectNotModified(
      await call('HEAD', dir.url('/Organization/etag-a'), undefined, { 'if-none-match': 'W/"1"' }),
      'W/"1"',
    );
    expectNotModified(
      await call('GET', dir.url('/Organization/etag-a'), undefined, { 'if-none-match': '*' }),
      'W/"1"',
    );
    expectNotModified(
      await call('GET', dir.url('/Organization/etag-a'), undefined, { 'if-none-match': 'W/"7", "1"' }),
      'W/"1"',
    );
    expectNotModified(
      await call('GET', dir.url('/Organization/etag-a/_history/1'), undefined, { 'if-none-match': 'W/"1"' }),
      'W/"1"',
    );
    await put(dir, 'etag-a', 'Etagwell Clinic (renamed)');
    const after = await call('GET', dir.url('/Organization/etag-a'), undefined, { 'if-none-match': 'W/"1"' });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).toBe('W/"2"');
    expect(after.body.name).toBe('Etagwell Clinic (renamed)');
  });

  it('answers errors with no validators, and If-None-Match does not change them', async () => {
    const missing = await call('GET', dir.url('/Organization/etag-none'), undefined, {
      'if-none-match': '*',
    });
    expectOutcome(missing, 404);
    expect(missing.headers.get('etag')).toBeNull();
    const bad = await call('GET', dir.url('/Organization?nonsense=1'), undefined, { 'if-none-match': '*' });
    expectOutcome(bad, 400);
  });

  it('never lets a cache keep an AuditEvent answer (admin-only)', async () => {
    await call('GET', dir.url('/Organization/etag-a'), undefined, { authorization: 'Bearer not-a-token' });
    let search = await call('GET', dir.url('/AuditEvent?_count=1'));
    // The sink writes its events within about a second.
    for (let attempt = 0; attempt < 100 && !search.body.entry; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      search = await call('GET', dir.url('/AuditEvent?_count=1'));
    }
    expect(search.status).toBe(200);
    expect(search.headers.get('cache-control')).toBe('private, no-store');
    expect(search.headers.get('etag')).toBeNull();
    const id = (search.body.entry as { resource: { id: string } }[])[0]?.resource.id as string;
    const read = await call('GET', dir.url(`/AuditEvent/${id}`));
    expect(read.status).toBe(200);
    expect(read.headers.get('cache-control')).toBe('private, no-store');
    const included = await call('GET', dir.url('/Organization?_revinclude=AuditEvent:entity'));
    expect(included.headers.get('cache-control')).toBe('private, no-store');
  });
});

describe('READ_ACCESS=public, with the response cache off', () => {
  let dir: TestDirectory;
  beforeAll(async () => {
    dir = await startTestDirectory({ searchCacheMb: 0 });
    await put(dir, 'nocache-a', 'Uncachewell Clinic');
  });
  afterAll(() => dir.close());

  it('tags searches by the head all the same, and a write changes the tag', async () => {
    const path = '/Organization?name=Uncachewell';
    const first = await call('GET', dir.url(path));
    const etag = first.headers.get('etag') as string;
    expect(caching(first)).toEqual({ etag, 'cache-control': 'no-cache', vary: VARY });
    expect((await call('GET', dir.url(path))).headers.get('etag')).toBe(etag);
    expectNotModified(await call('GET', dir.url(path), undefined, { 'if-none-match': etag }), etag);
    await put(dir, 'nocache-b', 'Uncachewell Annex');
    const after = await call('GET', dir.url(path), undefined, { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    expect(after.body.entry).toHaveLength(2);
  });

  // Without If-None-Match the head is read in the search's own page statement, not by a statement
  // before it: its tag must be the one a conditional GET compares with, and move with every write.
  it('tags a search that matches nothing, and the tag moves when a write makes it match', async () => {
    const path = '/Organization?name=Notyetwell';
    const empty = await call('GET', dir.url(path));
    expect(empty.status).toBe(200);
    expect(empty.body.entry).toBeUndefined();
    const etag = empty.headers.get('etag') as string;
    expect(etag).toMatch(/^W\/"/);
    expectNotModified(await call('GET', dir.url(path), undefined, { 'if-none-match': etag }), etag);
    await put(dir, 'nocache-c', 'Notyetwell Clinic');
    const plain = await call('GET', dir.url(path));
    expect(plain.headers.get('etag')).not.toBe(etag);
    expect(plain.body.entry).toHaveLength(1);
    const conditional = await call('GET', dir.url(path), undefined, { 'if-none-match': etag });
    expect([conditional.status, conditional.headers.get('etag')]).toEqual([200, plain.headers.get('etag')]);
  });

  it('tags a page read in slices (over 100) like any other, and a write to a type it does not read moves it', async () => {
    const path = '/Organization?_count=150';
    const first = await call('GET', dir.url(path));
    const etag = first.headers.get('etag') as string;
    expect(first.body.entry.length).toBeGreaterThan(0);
    expectNotModified(await call('GET', dir.url(path), undefined, { 'if-none-match': etag }), etag);
    // Without a cache the tag is the whole store's head: never stale, if sometimes new for nothing.
    expect((await call('POST', dir.url('/Endpoint'), endpoint())).status).toBe(201);
    const after = await call('GET', dir.url(path), undefined, { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
  });
});

describe('READ_ACCESS=authenticated', () => {
  let dir: TestDirectory;
  let reader: string;
  beforeAll(async () => {
    dir = await startTestDirectory({ readAccess: 'authenticated' });
    await put(dir, 'private-a', 'Privatewell Clinic');
    reader = await tokenFor(dir, await registerClient(dir, { scopes: ['system/Organization.rs'] }));
  });
  afterAll(() => dir.close());

  it.each([
    ['a read', '/Organization/private-a'],
    ['a search', '/Organization?name=Privatewell'],
  ])('%s: private; a 304 only with a token that may read it, on either path', async (_what, path) => {
    const auth = { authorization: `Bearer ${reader}` };
    const first = await call('GET', dir.url(path), undefined, auth);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag') as string;
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    expect((await call('GET', dir.url(path), undefined, auth)).headers.get('x-cache')).toBe('hit');
    for (const method of ['GET', 'HEAD']) {
      const conditional = { 'if-none-match': etag };
      expect((await call(method, dir.url(path), undefined, { ...conditional, ...NO_TOKEN })).status).toBe(
        401,
      );
      const forged = { ...conditional, authorization: 'Bearer forged' };
      expect((await call(method, dir.url(path), undefined, forged)).status).toBe(401);
      expectNotModified(
        await call(method, dir.url(path), undefined, { ...conditional, ...auth }),
        etag,
        'private, no-cache',
      );
    }
  });
});
