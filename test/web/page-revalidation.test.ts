/**
 * The web directory's pages revalidate like the FHIR searches they are built on (README "Web
 * directory"; src/http/page-validators.ts): a 200 page carries an ETag, If-None-Match with it is 304
 * with no body, and any write to the directory gives every page a new tag, so a cache never shows a
 * changed directory stale. Error pages carry none.
 */
import { call } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
let origin: string;
beforeAll(async () => {
  dir = await startTestDirectory();
  expect(
    (await call('PUT', dir.url('/Organization/page-a'), organization({ id: 'page-a', name: 'Pagewell' })))
      .status,
  ).toBe(201);
  origin = new URL(dir.baseUrl).origin;
}, 120_000);
afterAll(() => dir.close());

async function page(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(origin + path, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

it.each([
  ['the search page', '/?name=Pagewell'],
  ['an Organization page', '/organizations/page-a'],
  ['the about page', '/about'],
])('%s: an ETag, no-cache and Vary; 304 for it; a new tag and 200 after a write', async (_what, path) => {
  const first = await page(path);
  expect(first.status).toBe(200);
  const etag = first.headers.get('etag') as string;
  expect(etag).toMatch(/^W\/"page-[A-Za-z0-9_-]{27}"$/);
  expect(first.headers.get('cache-control')).toBe('no-cache');
  expect(first.headers.get('vary')).toBe('Accept, Prefer, Authorization');

  const again = await page(path, { 'if-none-match': etag });
  expect(again.status).toBe(304);
  expect(again.text).toBe('');
  expect(again.headers.get('etag')).toBe(etag);
  // A browser keeps the 304's headers with the page: the page's own policy, or its stylesheet is blocked.
  expect(again.headers.get('content-security-policy')).toBe(first.headers.get('content-security-policy'));
  expect(again.headers.get('referrer-policy')).toBe('same-origin');
  expect((await page(path, { 'if-none-match': `W/"other", ${etag}` })).status).toBe(304);
  expect((await page(path, { 'if-none-match': 'W/"other"' })).status).toBe(200);
  // Another page, another tag.
  const other = await page(`${path}${path.includes('?') ? '&' : '?'}x=1`);
  expect(other.headers.get('etag')).not.toBe(etag);

  const renamed = await call(
    'PUT',
    dir.url('/Organization/page-a'),
    organization({ id: 'page-a', name: `Pagewell ${path}` }),
  );
  expect(renamed.status).toBe(200);
  const changed = await page(path, { 'if-none-match': etag });
  expect(changed.status).toBe(200);
  expect(changed.headers.get('etag')).not.toBe(etag);
  if (path !== '/about') expect(changed.text).toContain(`Pagewell ${path}`);
});

it('tags no error page, and a tag does not turn an error into a 304', async () => {
  const missing = await page('/organizations/no-such-one');
  expect(missing.status).toBe(404);
  expect(missing.headers.get('etag')).toBeNull();
  expect((await page('/organizations/no-such-one', { 'if-none-match': '*' })).status).toBe(404);
});
