/**
 * The server's periodic crawl (DISCOVERY_INTERVAL): a tick checks the endpoints that are due, the
 * next tick skips those checked within the interval, and stopping waits for the checks under way.
 * After each crawl the checks the summary no longer reads are pruned.
 */
import { startDiscoverySchedule } from '../../src/discovery/discovery-schedule';
import type { CrawlProgress } from '../../src/discovery/crawler';
import { loadConfig } from '../../src/config';
import { call } from '../helpers/fhir-client';
import { makeTestPki, sendJson, startTestServer, type TestServer } from '../helpers/discovery-servers';
import { endpoint, minimalStatement, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
let server: TestServer;
let ca: string;

beforeAll(async () => {
  const pki = makeTestPki();
  ca = pki.ca;
  server = await startTestServer((_req, res) => sendJson(res, minimalStatement()), pki.valid);
  dir = await startTestDirectory();
  await call('PUT', dir.url('/Organization/acme'), organization({ id: 'acme' }));
  for (const id of ['a', 'b'])
    await call(
      'PUT',
      dir.url(`/Endpoint/${id}`),
      endpoint({
        id,
        address: `${server.origin}/${id}`,
        managingOrganization: { reference: 'Organization/acme' },
      }),
    );
}, 120_000);

afterAll(async () => {
  await dir?.close();
  await server?.close();
});

it('checks the due endpoints at its tick, then not again within the interval', async () => {
  const crawls: CrawlProgress[] = [];
  const fetch = {
    allowPrivate: true,
    allowHttp: false,
    connectTimeoutMs: 2_000,
    totalTimeoutMs: 5_000,
    maxBytes: 1 << 20,
    userAgent: 'test',
    ca,
  };
  // Old checks: a's are pruned (it gets a newer one), b's of 10 days ago is kept (in the window),
  // and the only check of an endpoint no longer crawled is kept whatever its age (its newest).
  const daysAgo = (n: number): string => new Date(Date.now() - n * 86_400_000).toISOString();
  const old = { address: `${server.origin}/a`, status: 'ok' };
  for (const n of [40, 35, 31])
    await dir.store.discovery.recordCheck({ ...old, endpointId: 'a', checkedAt: daysAgo(n) });
  await dir.store.discovery.recordCheck({ ...old, endpointId: 'b', checkedAt: daysAgo(10) });
  await dir.store.discovery.recordCheck({ ...old, endpointId: 'gone', checkedAt: daysAgo(100) });
  const first = startDiscoverySchedule(dir.ctx, {
    intervalMs: 3_600_000,
    concurrency: 2,
    fetch,
    firstTickMs: 0,
    onCrawl: (p) => crawls.push(p),
  });
  await waitFor(() => crawls.length === 1);
  await first.stop();
  expect(crawls[0]).toMatchObject({ total: 2, checked: 2, skipped: 0, statuses: { ok: 2 } });
  // stop() waited for the tick, pruning included.
  expect(await dir.store.discovery.recentChecks('a', 10)).toHaveLength(1);
  expect(await dir.store.discovery.recentChecks('b', 10)).toHaveLength(2);
  expect((await dir.store.discovery.recentChecks('gone', 10)).map((c) => c.checkedAt?.slice(0, 10))).toEqual([
    daysAgo(100).slice(0, 10),
  ]);
  // Another process (or this one after a restart) within the interval: nothing is due.
  const second = startDiscoverySchedule(dir.ctx, {
    intervalMs: 3_600_000,
    concurrency: 2,
    fetch,
    firstTickMs: 0,
    onCrawl: (p) => crawls.push(p),
  });
  await waitFor(() => crawls.length === 2);
  await second.stop();
  expect(crawls[1]).toMatchObject({ total: 2, checked: 0, skipped: 2 });
  expect(server.requests.filter((r) => r.endsWith('/metadata'))).toHaveLength(2);
});

it('prunes in statements of a bounded number of rows until none is left, keeping the window and each newest', async () => {
  const discovery = dir.store.discovery;
  const at = (n: number): string => new Date(Date.now() - n * 86_400_000).toISOString();
  for (const n of [90, 80, 70, 60, 50, 45, 20])
    await discovery.recordCheck({ endpointId: 'p', address: 'x', status: 'ok', checkedAt: at(n) });
  for (const n of [90, 60])
    await discovery.recordCheck({ endpointId: 'q', address: 'x', status: 'timeout', checkedAt: at(n) });
  // Batches of 2: p's six old checks and q's older one, in four statements.
  expect(await discovery.pruneChecks(30, 2)).toBe(7);
  expect((await discovery.recentChecks('p', 10)).map((c) => c.checkedAt?.slice(0, 10))).toEqual([
    at(20).slice(0, 10),
  ]);
  expect((await discovery.recentChecks('q', 10)).map((c) => c.status)).toEqual(['timeout']);
  expect((await discovery.statistics('p', 30)).checks).toBe(1);
  expect(await discovery.pruneChecks(30, 2)).toBe(0);
});

it('reads DISCOVERY_INTERVAL as a duration, 24 h by default and 0 for off', () => {
  expect(loadConfig({}).discovery).toEqual({
    intervalMs: 86_400_000,
    concurrency: 8,
    allowPrivate: false,
    allowHttp: false,
  });
  expect(loadConfig({ DISCOVERY_INTERVAL: '0' }).discovery.intervalMs).toBe(0);
  expect(loadConfig({ DISCOVERY_INTERVAL: '90s' }).discovery.intervalMs).toBe(90_000);
  expect(loadConfig({ DISCOVERY_INTERVAL: '30m' }).discovery.intervalMs).toBe(1_800_000);
  expect(() => loadConfig({ DISCOVERY_INTERVAL: '24 hours' })).toThrow(/DISCOVERY_INTERVAL/);
  expect(() => loadConfig({ DISCOVERY_CONCURRENCY: '0' })).toThrow(/DISCOVERY_CONCURRENCY/);
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}
