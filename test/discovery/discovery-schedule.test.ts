/**
 * The server's periodic crawl (DISCOVERY_INTERVAL): a tick checks the endpoints that are due, the
 * next tick skips those checked within the interval, and stopping waits for the checks under way.
 */
import { startDiscoverySchedule } from '../../src/discovery/discovery-schedule';
import type { CrawlProgress } from '../../src/discovery/crawler';
import { loadConfig } from '../../src/config';
import { call } from '../helpers/fhir-client';
import { makeTestPki, sendJson, startTestServer, type TestServer } from '../helpers/discovery-servers';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
let server: TestServer;
let ca: string;

beforeAll(async () => {
  const pki = makeTestPki();
  ca = pki.ca;
  server = await startTestServer(
    (_req, res) =>
      sendJson(res, {
        resourceType: 'CapabilityStatement',
        status: 'active',
        kind: 'instance',
        fhirVersion: '4.0.1',
        date: '2026-01-01',
        format: ['json'],
      }),
    pki.valid,
  );
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
