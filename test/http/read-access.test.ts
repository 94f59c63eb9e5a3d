/**
 * Who may read (README "Who may do what"; SECURITY.md A13): under READ_ACCESS=public anyone reads,
 * searches and validates without a token, with CORS open; under READ_ACCESS=authenticated each needs
 * a token with the read scope for the type, through the response cache and the hit lane exactly as
 * without them. The CapabilityStatement is public in both.
 */
import { bearer, registerClient, tokenFor } from '../helpers/auth';
import { call, expectOutcome, issuesOf } from '../helpers/fhir-client';
import { rawRequest } from '../helpers/raw-http';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const NO_TOKEN = { authorization: '' };

async function tokenWith(dir: TestDirectory, ...scopes: string[]): Promise<string> {
  return tokenFor(dir, await registerClient(dir, { admin: true, scopes }));
}

describe('READ_ACCESS=public (the default)', () => {
  let dir: TestDirectory;
  beforeAll(async () => {
    dir = await startTestDirectory();
    await call('PUT', dir.url('/Organization/open-org'), organization({ id: 'open-org' }));
  });
  afterAll(() => dir.close());

  it('A13: metadata, reads, searches, history and $validate need no token, and answer with CORS open', async () => {
    const origin = new URL(dir.baseUrl).origin;
    for (const url of [
      dir.url('/metadata'),
      dir.url('/Organization/open-org'),
      dir.url('/Organization/open-org/_history/1'),
      dir.url('/Organization?name=Valley'),
      dir.url('/Organization/_history'),
      dir.url('/_history'),
      dir.url('/Organization/open-org/$validate'),
      `${origin}/health`,
      `${origin}/openapi.json`,
    ]) {
      const res = await call('GET', url, undefined, { ...NO_TOKEN, origin: 'https://app.example.org' });
      expect(`${url} → ${res.status}`).toBe(`${url} → 200`);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    }
    const read = await call('GET', dir.url('/Organization/open-org'), undefined, NO_TOKEN);
    const exposed = (read.headers.get('access-control-expose-headers') ?? '').toLowerCase();
    for (const name of [
      'etag',
      'location',
      'content-location',
      'last-modified',
      'x-request-id',
      'www-authenticate',
    ])
      expect(exposed).toContain(name);
  });

  it('answers a CORS preflight for the FHIR routes', async () => {
    const res = await rawRequest(dir.url('/Endpoint/x'), 'OPTIONS', {
      origin: 'https://app.example.org',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'authorization, content-type, if-match',
      authorization: '',
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase();
    for (const name of ['authorization', 'content-type', 'if-match', 'if-none-exist', 'prefer'])
      expect(allowed).toContain(name);
  });

  it('refusals carry CORS too, so a page can read why', async () => {
    const res = await call('POST', dir.url('/Organization'), organization(), NO_TOKEN);
    expectOutcome(res, 401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('the hit lane answers a public repeat, and never a request whose token is bad', async () => {
    const url = dir.url('/Organization?name=Valley&_count=5');
    await call('GET', url, undefined, NO_TOKEN);
    const hit = await call('GET', url, undefined, NO_TOKEN);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(hit.headers.get('access-control-allow-origin')).toBe('*');
    // With a good token the same hit; with a bad one the guard's 401, as on the full path.
    expect((await call('GET', url)).headers.get('x-cache')).toBe('hit');
    const bad = await call('GET', url, undefined, bearer('not-a-token'));
    expectOutcome(bad, 401);
    expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="fhir-directory", error="invalid_token"');
    const malformed = await call('GET', url, undefined, { authorization: 'Basic eDp5' });
    expectOutcome(malformed, 400);
  });
});

describe.each([
  ['with the response cache and hit lane', undefined],
  ['with the cache off (SEARCH_CACHE_MB=0)', 0],
])('READ_ACCESS=authenticated, %s', (_name, searchCacheMb) => {
  let dir: TestDirectory;
  let reader: string;
  let endpointsOnly: string;
  beforeAll(async () => {
    dir = await startTestDirectory({
      readAccess: 'authenticated',
      ...(searchCacheMb === undefined ? {} : { searchCacheMb }),
    });
    await call('PUT', dir.url('/Organization/closed-org'), organization({ id: 'closed-org' }));
    reader = await tokenWith(dir, 'system/Organization.rs');
    endpointsOnly = await tokenWith(dir, 'system/Endpoint.rs');
  });
  afterAll(() => dir.close());

  const reads: [string, string, string][] = [
    ['read', '/Organization/closed-org', 'r'],
    ['vread', '/Organization/closed-org/_history/1', 'r'],
    ['instance history', '/Organization/closed-org/_history', 'r'],
    ['$validate', '/Organization/closed-org/$validate', 'r'],
    ['search', '/Organization?name=Valley', 's'],
    ['type history', '/Organization/_history', 's'],
  ];

  it.each(reads)('%s without a token: 401 login', async (_what, path) => {
    const res = await call('GET', dir.url(path), undefined, NO_TOKEN);
    expectOutcome(res, 401);
    expect(issuesOf(res)[0]?.code).toBe('login');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="fhir-directory"');
  });

  it.each(reads)(
    '%s with a token lacking the read scope: 403 naming the scope',
    async (_what, path, letter) => {
      const res = await call('GET', dir.url(path), undefined, bearer(endpointsOnly));
      expectOutcome(res, 403);
      expect(issuesOf(res)[0]?.code).toBe('forbidden');
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer realm="fhir-directory", error="insufficient_scope", scope="system/Organization.${letter}"`,
      );
    },
  );

  it.each(reads)(
    '%s with the scope: 200; repeated, the same; without a token still 401',
    async (_what, path) => {
      const first = await call('GET', dir.url(path), undefined, bearer(reader));
      expect(first.status).toBe(200);
      const second = await call('GET', dir.url(path), undefined, bearer(reader));
      expect(second.status).toBe(200);
      expect(second.text.replace(/"timestamp":"[^"]+"/, '')).toBe(
        first.text.replace(/"timestamp":"[^"]+"/, ''),
      );
      if (searchCacheMb === undefined && path !== '/Organization/closed-org/$validate')
        expect(second.headers.get('x-cache')).toBe('hit');
      else expect(second.headers.get('x-cache')).not.toBe('hit');
      // The cached answer is there now: neither the lane nor the cache may hand it to anybody else.
      expectOutcome(await call('GET', dir.url(path), undefined, NO_TOKEN), 401);
      expectOutcome(await call('GET', dir.url(path), undefined, bearer(endpointsOnly)), 403);
      expectOutcome(await call('GET', dir.url(path), undefined, bearer('forged.token.value')), 401);
    },
  );

  it('system search and system history need a search scope on every type', async () => {
    for (const path of ['/_history', '/?_type=Organization']) {
      const refused = await call('GET', dir.url(path), undefined, bearer(reader));
      expectOutcome(refused, 403);
      expect(refused.headers.get('www-authenticate')).toContain('scope="system/*.s"');
      const allowed = await call(
        'GET',
        dir.url(path),
        undefined,
        bearer(await tokenWith(dir, 'system/*.rs')),
      );
      expect(allowed.status).toBe(200);
    }
  });

  it('the CapabilityStatement stays public', async () => {
    const res = await call('GET', dir.url('/metadata'), undefined, NO_TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('GET entries of a batch need the read scope for their type', async () => {
    const writer = await tokenWith(dir, 'system/Endpoint.cruds');
    const res = await call(
      'POST',
      dir.url(''),
      {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'GET', url: 'Organization/closed-org' } },
          { request: { method: 'GET', url: 'Endpoint?_count=1' } },
        ],
      },
      bearer(writer),
    );
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '403',
      '200',
    ]);
  });
});
