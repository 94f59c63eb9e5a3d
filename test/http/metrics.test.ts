/**
 * GET /metrics: Prometheus text that a scraper can read, counting the requests just made by route
 * template (never an id), method, status and lane, with histogram buckets; the response cache
 * moving; write waits; the pool on PostgreSQL; process metrics; METRICS_TOKEN when it is set.
 */
import { ConfigError, loadConfig } from '../../src/config';
import { startDirectory } from '../../src/directory';
import { createLogger } from '../../src/logger';
import { call, expectOutcome } from '../helpers/fhir-client';
import { parsePrometheusText, samplesOf, valueOf, type Sample } from '../helpers/prometheus-text';
import { organization } from '../helpers/resources';
import { onPostgres, openTestStore, startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const REQUESTS = 'fhir_directory_http_request_duration_seconds';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

const origin = (): string => new URL(dir.baseUrl).origin;

async function scrape(): Promise<Sample[]> {
  const res = await call('GET', `${origin()}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheusText(res.text);
}

const requestCount = (samples: Sample[], labels: Record<string, string>): number =>
  valueOf(samples, `${REQUESTS}_count`, labels);

describe('GET /metrics', () => {
  it('is Prometheus text (0.0.4), every line a comment or a sample, with process metrics', async () => {
    const res = await call('GET', `${origin()}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.text).toContain(`# TYPE ${REQUESTS} histogram`);
    const samples = parsePrometheusText(res.text);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ])
      expect(samplesOf(samples, name).length > 0 ? name : `${name} is missing`).toBe(name);
    expect(samplesOf(samples, 'fhir_directory_info')[0]?.labels).toEqual({
      version: expect.any(String),
      database: onPostgres() ? 'postgresql' : 'pglite',
    });
  });

  it('counts a request by route template, method and status, on the full path and in the hit lane', async () => {
    const created = await call('POST', dir.url('/Organization'), organization({ name: 'Metrics Clinic' }));
    expect(created.status).toBe(201);
    const read = { route: '/fhir/:type/:id', method: 'GET', status: '200' };
    const before = await scrape();
    expect(requestCount(before, { route: '/fhir/:type', method: 'POST', status: '201', lane: 'full' })).toBe(
      1,
    );

    const first = await call('GET', dir.url(`/Organization/${created.body.id}`));
    expect(first.headers.get('x-cache')).toBe('miss');
    const second = await call('GET', dir.url(`/Organization/${created.body.id}`));
    expect(second.headers.get('x-cache')).toBe('hit');

    const after = await scrape();
    expect(requestCount(after, { ...read, lane: 'full' })).toBe(
      requestCount(before, { ...read, lane: 'full' }) + 1,
    );
    expect(requestCount(after, { ...read, lane: 'hit' })).toBe(
      requestCount(before, { ...read, lane: 'hit' }) + 1,
    );
    // The scrape before this one was counted too, under its own route.
    expect(
      requestCount(after, { route: '/metrics', method: 'GET', status: '200', lane: 'full' }),
    ).toBeGreaterThan(0);
  });

  it('has cumulative buckets ending at +Inf = count, and a sum, for each series', async () => {
    await call('GET', dir.url('/metadata'));
    const samples = await scrape();
    const labels = { route: '/fhir/metadata', method: 'GET', status: '200', lane: 'full' };
    const buckets = samplesOf(samples, `${REQUESTS}_bucket`, labels);
    expect(buckets.map((b) => b.labels.le)).toEqual([
      '0.0005',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    const counts = buckets.map((b) => b.value);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    const count = valueOf(samples, `${REQUESTS}_count`, labels);
    expect(count).toBeGreaterThan(0);
    expect(counts[counts.length - 1]).toBe(count);
    expect(valueOf(samples, `${REQUESTS}_sum`, labels)).toBeGreaterThan(0);
  });

  it('labels a route by its template: 50 different ids make one series, and no id appears', async () => {
    const ids = Array.from({ length: 50 }, (_v, i) => `metrics-missing-${i}`);
    for (const id of ids) expect((await call('GET', dir.url(`/Organization/${id}`))).status).toBe(404);
    await call('GET', `${origin()}/no/such/path/metrics-unrouted`);
    const res = await call('GET', `${origin()}/metrics`);
    const samples = parsePrometheusText(res.text);
    const notFound = samplesOf(samples, `${REQUESTS}_count`, { route: '/fhir/:type/:id', status: '404' });
    expect(notFound).toHaveLength(1);
    expect(notFound[0]?.value).toBe(50);
    expect(valueOf(samples, `${REQUESTS}_count`, { route: 'unmatched', method: 'GET', status: '404' })).toBe(
      1,
    );
    expect(res.text).not.toContain('metrics-missing-');
    expect(res.text).not.toContain('metrics-unrouted');
    const routes = new Set(samplesOf(samples, `${REQUESTS}_count`).map((s) => s.labels.route));
    for (const route of routes) expect(route).toMatch(/^(\/[a-z._$:]*)+$|^unmatched$/i);
  });

  it('shows the response cache moving: a miss, then hits in the lane', async () => {
    const search = dir.url('/Organization?name=metrics-cache-probe');
    const before = await scrape();
    expect((await call('GET', search)).headers.get('x-cache')).toBe('miss');
    expect((await call('GET', search)).headers.get('x-cache')).toBe('hit');
    expect((await call('GET', search)).headers.get('x-cache')).toBe('hit');
    const after = await scrape();
    const misses = 'fhir_directory_response_cache_misses_total';
    const hits = 'fhir_directory_response_cache_hits_total';
    expect(valueOf(after, misses)).toBe(valueOf(before, misses) + 1);
    expect(valueOf(after, hits, { lane: 'hit' })).toBe(valueOf(before, hits, { lane: 'hit' }) + 2);
    expect(valueOf(after, 'fhir_directory_response_cache_entries')).toBeGreaterThan(0);
    expect(valueOf(after, 'fhir_directory_response_cache_bytes')).toBeGreaterThan(0);
    expect(valueOf(after, 'fhir_directory_response_cache_max_bytes')).toBe(64 * 1024 * 1024);
    expect(samplesOf(after, 'fhir_directory_response_cache_evictions_total')).toHaveLength(1);
  });

  it('times the writers’ waits (queue and lock), counts ANALYZE passes, and shows the pool on PostgreSQL', async () => {
    const waits = 'fhir_directory_write_wait_seconds_count';
    const before = await scrape();
    expect((await call('POST', dir.url('/Organization'), organization())).status).toBe(201);
    const after = await scrape();
    expect(valueOf(after, waits, { phase: 'queue' })).toBe(valueOf(before, waits, { phase: 'queue' }) + 1);
    expect(valueOf(after, waits, { phase: 'lock' })).toBe(valueOf(before, waits, { phase: 'lock' }) + 1);
    expect(
      samplesOf(after, 'fhir_directory_background_analyze_runs_total').map((s) => s.labels.outcome),
    ).toEqual(['ok', 'failed']);
    const pool = samplesOf(after, 'fhir_directory_db_pool_max_connections');
    if (onPostgres()) {
      expect(pool[0]?.value).toBe(10);
      expect(valueOf(after, 'fhir_directory_db_pool_connections')).toBeGreaterThan(0);
      expect(samplesOf(after, 'fhir_directory_db_pool_waiting_requests')).toHaveLength(1);
    } else {
      expect(pool).toHaveLength(0); // PGlite: one connection, no pool
    }
  });
});

// A directory of its own: the refusals here record AuditEvents, written a moment later, which the
// write-wait counts of the tests above must not see.
describe('route labels outside /fhir', () => {
  let own: TestDirectory;
  beforeAll(async () => {
    own = await startTestDirectory();
  });
  afterAll(() => own.close());

  it('labels the /auth, /admin and /fhir/.well-known routes by template, refusals included', async () => {
    const o = new URL(own.baseUrl).origin;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await call('POST', `${o}/auth/token`, 'grant_type=nonsense', form)).status).toBe(400);
    expect((await call('GET', `${o}/auth/token`)).status).toBe(405);
    expect(
      (await call('POST', `${o}/auth/introspect`, 'token=x', { ...form, authorization: '' })).status,
    ).toBe(401);
    expect((await call('GET', `${o}/admin/clients`)).status).toBe(200);
    expect((await call('GET', `${o}/admin/clients`, undefined, { authorization: '' })).status).toBe(401);
    expect((await call('GET', `${o}/admin/clients/metrics-no-such-client`)).status).toBe(404);
    expect((await call('GET', own.url('/.well-known/smart-configuration'))).status).toBe(200);
    expect((await call('GET', own.url('/.well-known/udap'))).status).toBe(404);
    const res = await call('GET', `${o}/metrics`);
    const samples = parsePrometheusText(res.text);
    for (const [route, method, status] of [
      ['/auth/token', 'POST', '400'],
      ['/auth/token', 'GET', '405'],
      ['/auth/introspect', 'POST', '401'],
      ['/admin/clients', 'GET', '200'],
      ['/admin/clients', 'GET', '401'],
      ['/admin/clients/:id', 'GET', '404'],
      ['/fhir/.well-known/smart-configuration', 'GET', '200'],
      ['/fhir/.well-known/udap', 'GET', '404'],
    ] as const)
      expect(`${route} ${method} ${status}: ${requestCount(samples, { route, method, status })}`).toBe(
        `${route} ${method} ${status}: 1`,
      );
    expect(res.text).not.toContain('metrics-no-such-client');
    expect(samplesOf(samples, `${REQUESTS}_count`, { route: 'unmatched' })).toHaveLength(
      samplesOf(samples, `${REQUESTS}_count`, { route: 'unmatched', status: '404' }).length,
    );
  });
});

describe('METRICS_TOKEN', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';

  it('is a secret of at least 16 visible characters, never shown in a configuration problem', () => {
    expect(loadConfig({ METRICS_TOKEN: TOKEN }).metricsToken).toBe(TOKEN);
    expect(Object.keys(loadConfig({ METRICS_TOKEN: TOKEN }))).not.toContain('metricsToken');
    for (const bad of ['too-short', 'has a space in it somewhere']) {
      let problem: unknown;
      try {
        loadConfig({ METRICS_TOKEN: bad });
      } catch (err) {
        problem = err;
      }
      expect(problem).toBeInstanceOf(ConfigError);
      expect((problem as ConfigError).message).toContain('METRICS_TOKEN');
      expect((problem as ConfigError).message).toContain('(redacted)');
      expect((problem as ConfigError).message).not.toContain(bad);
    }
  });

  it('when set, /metrics answers only Authorization: Bearer <token> (401 with WWW-Authenticate otherwise)', async () => {
    const opened = await openTestStore();
    const guarded = await startDirectory(
      { port: 0, host: '127.0.0.1', maxBodyBytes: 1024 * 1024, seed: false, metricsToken: TOKEN },
      createLogger('silent'),
      opened.store,
    );
    try {
      const url = `${new URL(guarded.baseUrl).origin}/metrics`;
      const attempts: Record<string, string>[] = [
        {},
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Basic ${TOKEN}` },
      ];
      for (const headers of attempts) {
        const refused = await call('GET', url, undefined, headers);
        expectOutcome(refused, 401);
        expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
        expect(refused.text).not.toContain(TOKEN);
      }
      for (const scheme of ['Bearer', 'bearer']) {
        const res = await call('GET', url, undefined, { authorization: `${scheme} ${TOKEN}` });
        expect(res.status).toBe(200);
        expect(parsePrometheusText(res.text).length).toBeGreaterThan(0);
      }
      // The probes stay public.
      expect((await call('GET', `${new URL(guarded.baseUrl).origin}/health`)).status).toBe(200);
    } finally {
      await guarded.close();
      await opened.cleanup();
    }
  });
});
