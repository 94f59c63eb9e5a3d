/**
 * The hit lane in front of express: it must take exactly the routes express would (its matcher is
 * checked here against express's own routing, for every route in FHIR_ROUTES and for tricky paths),
 * decide formats like the full path (a repeated `_format`, Accept), key a system search apart from a
 * type search, keep its key memo within its share of SEARCH_CACHE_MB, and every response, from
 * either path, says `X-Content-Type-Options: nosniff`. Real HTTP on a real database; raw requests
 * where the exact bytes of a path matter.
 */
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { isFhirError } from '../../src/fhir/errors';
import { routeFhirRequests } from '../../src/http/fhir-routes';
import { FHIR_MOUNT, matchFhirRoute } from '../../src/http/route-match';
import { FHIR_ROUTES } from '../../src/http/route-table';
import { listen } from '../../src/http/server';
import { KEY_MEMO_MAX_TEXT } from '../../src/fhir/search/response-cache';
import { issuesOf, type FhirResponse, call } from '../helpers/fhir-client';
import { organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Sends the path exactly as written (fetch would normalise it). */
function raw(
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe("the lane's route matcher agrees with express's routing", () => {
  let server: Server;
  let origin: string;

  /** Express routing as production builds it (routeFhirRequests, the same mount), answering which route. */
  beforeAll(async () => {
    const app = express();
    app.set('query parser', 'simple');
    app.use(
      FHIR_MOUNT,
      routeFhirRequests((route, params, _req, res) => {
        const which = route === 'metadata' ? 'metadata' : `${route.method} ${route.path}`;
        res.setHeader('x-route', JSON.stringify({ which, params }));
        res.status(200).end();
      }),
    );
    app.use((_req: Request, res: Response) => {
      res.status(404).end();
    });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const status = isFhirError(err) ? err.status : ((err as { status?: number }).status ?? 500);
      res.status(status).end();
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function expressRoute(method: string, path: string): Promise<string> {
    const res = await raw(origin, method, path);
    const header = res.headers['x-route'];
    return typeof header === 'string' ? header : `none (${res.status})`;
  }

  function laneRoute(method: string, url: string): string {
    const match = matchFhirRoute(method, url.split('?', 1)[0] as string);
    if (match === 'metadata') return JSON.stringify({ which: 'metadata', params: {} });
    if (match === undefined) return 'none';
    return JSON.stringify({ which: `${match.route.method} ${match.route.path}`, params: match.params });
  }

  /** Express's answer, with a status when it took no route (the matcher only says "none"). */
  async function expectAgreement(method: string, path: string): Promise<void> {
    const fromExpress = await expressRoute(method, path);
    const fromLane = laneRoute(method, path);
    expect(`${method} ${path} → ${fromLane}`).toBe(
      `${method} ${path} → ${fromExpress.startsWith('none') ? 'none' : fromExpress}`,
    );
  }

  const example: Record<string, string> = { type: 'Organization', id: 'abc', vid: '2' };
  const concrete = (path: string): string =>
    FHIR_MOUNT + path.replace(/:(\w+)/g, (_m, name: string) => example[name] ?? name);

  it('for every route in the table, with every method, with and without a trailing slash', async () => {
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
    let routed = 0;
    for (const route of FHIR_ROUTES) {
      for (const path of [concrete(route.path), `${concrete(route.path)}/`.replace(/\/\/$/, '/')]) {
        for (const method of methods) await expectAgreement(method, path);
        if (laneRoute(route.method.toUpperCase(), path) !== 'none') routed += 1;
      }
    }
    // The walk must reach every route, or agreeing on "none" would prove nothing.
    expect(routed).toBe(FHIR_ROUTES.length * 2);
  });

  it.each([
    '/fhir',
    '/fhir/',
    '/fhir?_type=Organization',
    '/fhir/?_type=Organization&_count=1',
    '//fhir/Organization',
    '/FHIR/Organization',
    '/Fhir/metadata',
    '/fhir/metadata',
    '/fhir/metadata/',
    '/fhir/metadata/x',
    '/fhirx/Organization',
    '/fhir/Organization',
    '/fhir/Organization/',
    '/fhir/Organization//',
    '/fhir/Organization?name=a',
    '/fhir/organization',
    '/fhir/ORGANIZATION/abc',
    '/fhir/Organization%2Fabc',
    '/fhir/Organization/a%2Fb',
    '/fhir/Organization/a%2fb/_history',
    '/fhir/Org%61nization/abc',
    '/fhir/Organization/%',
    '/fhir/Organization/%E0%A4%A',
    '/fhir/%ZZ',
    '/fhir/_history',
    '/fhir/_history/',
    '/fhir/_history/1',
    '/fhir/_history/_history',
    '/fhir/Organization/_history',
    '/fhir/Organization/_history/',
    '/fhir/Organization/abc/_history',
    '/fhir/Organization/abc/_history/2',
    '/fhir/Organization/abc/_history/2/',
    '/fhir/Organization/abc/_history/2/x',
    '/fhir/Organization/abc/_HISTORY',
    '/fhir/Organization/_search',
    '/fhir/Organization/_search/',
    '/fhir/Organization/$validate',
    '/fhir/Organization/%24validate',
    '/fhir/Organization/abc/$validate',
    '/fhir/Organization/abc/$VALIDATE',
    '/fhir/Patient',
    '/fhir/Patient/1',
    '/fhir/Patient/1/_history',
    '/fhir/metadata/_history',
    '/fhir/./Organization',
    '/fhir/Organization;x',
    '/fhir/Organization.json',
    '/fhir/Organization/abc?_format=json',
  ])('for %s, with GET, HEAD, POST, PUT and DELETE', async (path) => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']) await expectAgreement(method, path);
  });
});

describe('the lane on the running directory', () => {
  let dir: TestDirectory;
  const origin = (): string => new URL(dir.baseUrl).origin;
  const directHits = (): number => dir.ctx.responseCache?.stats().directHits ?? -1;
  const withoutTimestamp = (res: FhirResponse): unknown => ({ ...res.body, timestamp: undefined });

  beforeAll(async () => {
    dir = await startTestDirectory();
    for (const [id, name] of [
      ['lane-a', 'Lanebury Clinic'],
      ['lane-b', 'Lanebury Hospital'],
    ])
      expect((await call('PUT', dir.url(`/Organization/${id}`), organization({ id, name }))).status).toBe(
        201,
      );
  });
  afterAll(() => dir.close());

  it('answers a repeated type search itself, with the headers the full path sends', async () => {
    const path = '/Organization?name=lanebury&_sort=_id';
    const first = await call('GET', dir.url(path));
    const before = directHits();
    const second = await call('GET', dir.url(path));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(directHits()).toBe(before + 1); // the lane, not the router, answered it
    expect(withoutTimestamp(second)).toEqual(withoutTimestamp(first));
    for (const res of [first, second]) {
      expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('for every route the lane may answer, its key is the one the full path stored the answer under', async () => {
    const example: Record<string, string> = { type: 'Organization', id: 'lane-a', vid: '1' };
    const laneRoutes = FHIR_ROUTES.filter((r) => r.lane);
    expect(laneRoutes.map((r) => r.interaction).sort()).toEqual([
      'history-instance',
      'history-system',
      'history-type',
      'read',
      'search-type',
      'vread',
    ]);
    for (const route of laneRoutes) {
      const path = route.path.replace(/:(\w+)/g, (_m, name: string) => example[name] ?? name);
      const url = dir.url(route.lane?.query === 'canonical' ? `${path}?_count=5` : path);
      const first = await call('GET', url);
      const before = directHits();
      const second = await call('GET', url);
      expect(`${route.interaction} ${first.status} ${second.status} ${second.headers.get('x-cache')}`).toBe(
        `${route.interaction} 200 200 hit`,
      );
      expect(`${route.interaction}: ${directHits() - before}`).toBe(`${route.interaction}: 1`);
    }
  });

  it('keys a system search apart from a type search (finding 18)', async () => {
    const self = (res: FhirResponse): string =>
      (res.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'self')?.url ?? '';
    const systemPath = '?_type=Organization&_count=1&_sort=_id';
    const typedPath = '/Organization?_type=Organization&_count=1&_sort=_id';
    const system = await call('GET', dir.url(systemPath));
    const typed = await call('GET', dir.url(typedPath));
    expect([system.status, typed.status]).toEqual([200, 200]);
    expect(typed.headers.get('x-cache')).toBe('miss'); // was a hit carrying the system search's Bundle
    expect(self(system)).toBe(`${dir.baseUrl}?_count=1&_sort=_id&_type=Organization`);
    expect(self(typed)).toBe(`${dir.baseUrl}/Organization?_count=1&_sort=_id&_type=Organization`);
    // Each is then answered from its own entry, the type search by the lane.
    const before = directHits();
    const typedAgain = await call('GET', dir.url(typedPath));
    expect(directHits()).toBe(before + 1);
    const systemAgain = await call('GET', dir.url(systemPath));
    expect([systemAgain.headers.get('x-cache'), typedAgain.headers.get('x-cache')]).toEqual(['hit', 'hit']);
    expect(self(systemAgain)).toBe(self(system));
    expect(self(typedAgain)).toBe(self(typed));
  });

  describe('decides formats like the full path (finding 21)', () => {
    const path = '/Organization?name=lanebury';
    beforeAll(async () => {
      await call('GET', dir.url(path));
      expect((await call('GET', dir.url(path))).headers.get('x-cache')).toBe('hit');
    });

    it.each([
      ['_format=json&_format=xml', 'xml'],
      ['_format=xml&_format=json', 'xml'],
      ['_format=application/fhir%2Bjson&_format=text/html', 'text/html'],
      ['_format=xml', 'xml'],
    ])('a repeated _format with any non-JSON value is 406, cached or not: %s', async (format, refused) => {
      for (const url of [`${path}&${format}`, `/Endpoint?${format}`]) {
        const res = await call('GET', dir.url(url));
        expect(res.status).toBe(406);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(issuesOf(res)).toEqual([
          {
            severity: 'error',
            code: 'not-supported',
            diagnostics: `_format '${refused}' is not supported; this server speaks FHIR JSON`,
          },
        ]);
      }
    });

    it.each(['_format=json&_format=json', '_format=json&_format=', '_format=application/fhir+json'])(
      'JSON in every _format is 200, from the lane once cached: %s',
      async (format) => {
        const first = await call('GET', dir.url(`${path}&${format}`));
        const second = await call('GET', dir.url(`${path}&${format}`));
        expect(first.status).toBe(200);
        expect(second.status).toBe(200);
        expect(second.headers.get('x-cache')).toBe('hit');
      },
    );

    it('Accept: the same answer from the lane and the router, for each', async () => {
      const cases: [string, number][] = [
        ['application/fhir+json; charset=utf-8', 200],
        ['application/fhir+json; fhirVersion=4.0', 200],
        ['application/json;q=0.5, text/html', 200],
        ['*/*', 200],
        ['text/html', 406],
        ['application/fhir+json;q=0', 406],
        ['application/fhir+json; charset=iso-8859-1', 406],
        ['application/fhir+json; fhirVersion=3.0', 406],
      ];
      for (const [accept, status] of cases) {
        const cachedPath = await call('GET', dir.url(path), undefined, { accept });
        const uncachedPath = await call('GET', dir.url(`/Endpoint?_id=none-${status}`), undefined, {
          accept,
        });
        expect(`${accept} → ${cachedPath.status} ${uncachedPath.status}`).toBe(
          `${accept} → ${status} ${status}`,
        );
        if (status === 406) {
          expect(issuesOf(cachedPath)[0]).toMatchObject({ code: 'not-supported' });
          expect(issuesOf(cachedPath)[0]?.diagnostics).toBe(
            `Accept '${accept}' cannot be met; this server speaks application/fhir+json`,
          );
        }
      }
    });

    it('_pretty goes to the router, which indents', async () => {
      const res = await call('GET', dir.url(`${path}&_pretty=true`));
      expect(res.status).toBe(200);
      expect(res.text).toContain('\n  "resourceType": "Bundle"');
    });
  });

  describe('X-Content-Type-Options: nosniff on every response', () => {
    it.each([
      ['a lane hit', 'GET', '/fhir/Organization?name=lanebury', 200],
      ['a read', 'GET', '/fhir/Organization/lane-a', 200],
      ['the CapabilityStatement', 'GET', '/fhir/metadata', 200],
      ['an unknown path', 'GET', '/nowhere', 404],
      ['an unknown type', 'GET', '/fhir/Patient/1', 404],
      ['a method a path does not answer', 'DELETE', '/fhir/metadata', 405],
      ['a parameter that does not decode', 'GET', '/fhir/Organization/%E0%A4%A', 400],
      ['an unknown search parameter', 'GET', '/fhir/Organization?colour=red', 400],
      ['/health', 'GET', '/health', 200],
      ['/openapi.json', 'GET', '/openapi.json', 200],
    ])('%s', async (_what, method, path, status) => {
      const res = await raw(origin(), method, path);
      expect(res.status).toBe(status);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    it('a request node cannot parse: 400 invalid, an OperationOutcome', async () => {
      const { port } = new URL(dir.baseUrl);
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () =>
          socket.write('GET /fhir/metadata HTTP/1.1\r\nHost x\r\n\r\n'),
        );
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.on('error', reject);
      });
      const [head = '', body = ''] = text.split('\r\n\r\n');
      expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(head).toContain('x-content-type-options: nosniff');
      expect(head).toContain('content-type: application/fhir+json; charset=utf-8');
      expect(JSON.parse(body)).toEqual({
        resourceType: 'OperationOutcome',
        issue: [
          { severity: 'error', code: 'invalid', diagnostics: 'The request could not be read: Bad Request' },
        ],
      });
    });
  });

  it('keeps its key memo within its share of SEARCH_CACHE_MB, and no long URL in it (finding 15)', async () => {
    const small = await startTestDirectory({ searchCacheMb: 1 });
    try {
      const cache = small.ctx.responseCache;
      if (!cache) throw new Error('the cache is on by default');
      const stats = (): ReturnType<typeof cache.stats> => cache.stats();
      expect(stats().keyMemoMaxBytes).toBe(65536);
      // Distinct long URLs, every one a 400 naming its unknown parameter.
      const long = (i: number, length: number): string =>
        `/Organization?unknown${i}=${'x'.repeat(length - `/Organization?unknown${i}=`.length)}`;
      for (let i = 0; i < 20; i += 1) {
        const res = await call('GET', small.url(long(i, 15_000)));
        expect(res.status).toBe(400);
        expect(issuesOf(res)[0]).toMatchObject({ code: 'invalid', expression: [`unknown${i}`] });
      }
      expect(stats().keyMemoEntries).toBe(0);
      expect(stats().keyMemoBytes).toBe(0);
      for (let i = 0; i < 60; i += 1) {
        const res = await call('GET', small.url(long(i, KEY_MEMO_MAX_TEXT - 300)));
        expect(res.status).toBe(400);
        expect(issuesOf(res)[0]).toMatchObject({ code: 'invalid', expression: [`unknown${i}`] });
      }
      const after = stats();
      expect(after.keyMemoEntries).toBeGreaterThan(0);
      expect(after.keyMemoEntries).toBeLessThan(60); // the oldest went out
      expect(after.keyMemoBytes).toBeLessThanOrEqual(after.keyMemoMaxBytes);
      expect(after.bytes + after.keyMemoBytes).toBeLessThanOrEqual(after.maxBytes);
    } finally {
      await small.close();
    }
  });
});

describe('while the directory is starting', () => {
  it('every request gets 503 transient, with Retry-After and nosniff', async () => {
    const starting = await listen(0, '127.0.0.1');
    try {
      const res = await raw(`http://127.0.0.1:${starting.address.port}`, 'GET', '/fhir/Organization/x');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
      expect(JSON.parse(res.text)).toMatchObject({ issue: [{ severity: 'error', code: 'transient' }] });
    } finally {
      await new Promise<void>((resolve) => starting.server.close(() => resolve()));
    }
  });
});
