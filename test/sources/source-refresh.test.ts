/**
 * SOURCE_REFRESH_INTERVAL: the server fetches each published list with a URL again and applies it as
 * its source. A real https server on 127.0.0.1 (test CA) serves Oracle Health's Soarian bundle
 * (test/fixtures/hti1), then a second snapshot DERIVED from it for a controlled difference
 * (test/helpers/soarian-snapshots.ts): the last Organization and its Endpoint removed, the first
 * renamed, one new Organization with a new Endpoint. Two schedules over two stores on one database
 * (on PGlite, two schedules over its one store) refresh a due source once.
 */
import type { Bundle } from '@medplum/fhirtypes';
import type { ServerResponse } from 'node:http';
import { loadConfig } from '../../src/config';
import { createFhirContext } from '../../src/directory';
import type { FhirContext } from '../../src/fhir/context';
import {
  refreshSource,
  startSourceRefresh,
  type RefreshOutcome,
  type RefreshSchedule,
} from '../../src/sources/source-refresh-schedule';
import type { ResourceStore } from '../../src/storage/resource-store';
import { makeTestPki, sendJson, startTestServer, type TestServer } from '../helpers/discovery-servers';
import { call } from '../helpers/fhir-client';
import { versionCount } from '../helpers/import-report';
import { firstSnapshot, secondSnapshot } from '../helpers/soarian-snapshots';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

const LIST_PATH = '/soarian_patient_r4_endpoints.json';

let dir: TestDirectory;
let server: TestServer;
let ca: string;
let served: Bundle;
let first: Bundle;
let second: Bundle;
const hanging: ServerResponse[] = [];

async function register(name: string, path: string): Promise<void> {
  await dir.store.sources.upsert({
    name,
    kind: 'hti1',
    uri: `urn:fhir-directory:source:${name}`,
    url: `${server.origin}${path}`,
  });
}

/** Runs a schedule over `ctx` until `name` has been refreshed once; the outcome. */
function refreshOnce(ctx: FhirContext, name: string): Promise<RefreshOutcome> {
  return new Promise((resolve, reject) => {
    const schedule: RefreshSchedule = startSourceRefresh(ctx, {
      intervalMs: 1,
      tickMs: 20,
      firstTickMs: 0,
      fetch: { ca },
      onRefresh: (outcome) => {
        if (outcome.source === name) void schedule.stop().then(() => resolve(outcome));
      },
      onError: reject,
    });
  });
}

const requestsFor = (path: string): number => server.requests.filter((r) => r === `GET ${path}`).length;

beforeAll(async () => {
  const pki = makeTestPki();
  ca = pki.ca;
  first = await firstSnapshot();
  second = secondSnapshot(first);
  served = first;
  server = await startTestServer((req, res) => {
    if (req.url === LIST_PATH || req.url === '/twice.json') sendJson(res, served, 200, 'application/json');
    else if (req.url === '/hang.json') hanging.push(res);
    else sendJson(res, { error: 'not found' }, 404, 'application/json');
  }, pki.valid);
  dir = await startTestDirectory();
}, 120_000);

afterAll(async () => {
  for (const res of hanging) res.destroy();
  await dir?.close();
  await server?.close();
});

describe('the refresh of published lists', () => {
  it('fetches a source with a URL, then applies exactly the difference of its next publication', async () => {
    await register('oracle-soarian', LIST_PATH);
    const imported = await refreshOnce(dir.ctx, 'oracle-soarian');
    expect(imported).toMatchObject({ outcome: 'imported', counts: { created: 14, rejected: 0 } });

    served = second;
    const before = await versionCount(dir.store);
    const refreshed = await refreshOnce(dir.ctx, 'oracle-soarian');
    // New pair: 2 created; renamed Organization: 1 updated; 11 unchanged; removed pair: 2 retired.
    expect(refreshed.counts).toMatchObject({
      created: 2,
      updated: 1,
      unchanged: 11,
      rejected: 0,
      retired: 2,
    });
    expect(await versionCount(dir.store)).toBe(before + 5);
    const off = await call('GET', dir.url('/Endpoint?status=off'));
    expect(off.body.entry).toHaveLength(1);
    const renamed = await call('GET', dir.url('/Organization?name:exact=Renamed Health System'));
    expect(renamed.body.entry).toHaveLength(1);

    const source = await dir.store.sources.get('oracle-soarian');
    expect(source?.status).toMatchObject({ lastRefresh: { outcome: 'imported' }, counts: { created: 2 } });
    expect(await dir.store.sources.leaseHolder('oracle-soarian')).toBeUndefined();
    expect(source?.report).toMatchObject({ counts: { retired: 2 } });
  });

  it('keeps a failed refresh as the outcome and changes no entry', async () => {
    await register('gone', '/gone.json');
    const before = await versionCount(dir.store);
    const failed = await refreshOnce(dir.ctx, 'gone');
    expect(failed.outcome).toBe('failed');
    expect(failed.error).toContain('the server answered 404');
    const source = await dir.store.sources.get('gone');
    expect(source?.status).toMatchObject({ lastRefresh: { outcome: 'failed' } });
    expect(await versionCount(dir.store)).toBe(before);
  });

  it('is refreshed once when two servers on one database look for it', async () => {
    await dir.store.sources.remove('gone');
    await dir.store.sources.remove('oracle-soarian');
    served = first;
    const secondStore: ResourceStore = await dir.openSecondStore();
    const other = createFhirContext(secondStore, dir.baseUrl);
    await register('shared', '/twice.json');
    const outcomes: RefreshOutcome[] = [];
    // Each schedule looks until it has looked 5 times after the source was refreshed.
    const run = (ctx: FhirContext): Promise<void> =>
      new Promise((resolve, reject) => {
        let after = 0;
        const schedule = startSourceRefresh(ctx, {
          intervalMs: 3_600_000,
          tickMs: 20,
          firstTickMs: 0,
          fetch: { ca },
          onRefresh: (outcome) => outcomes.push(outcome),
          onError: reject,
          onTick: () => {
            if (outcomes.length > 0 && ++after === 5) void schedule.stop().then(resolve);
          },
        });
      });
    try {
      await Promise.all([run(dir.ctx), run(other)]);
    } finally {
      await secondStore.close();
    }
    expect(outcomes).toHaveLength(1);
    expect(requestsFor('/twice.json')).toBe(1);
    expect(outcomes[0]?.outcome).toBe('imported');
  });

  it("waits while a sync pass of the same name holds the source's lease (one lease per source)", async () => {
    await register('held', '/held.json');
    // What a sync pass of a followed directory named `held` takes (src/sync/run-source.ts).
    expect(await dir.store.sources.takeLease('held', 'a-sync-pass', 60_000)).toBe(true);
    expect(await refreshSource(dir.ctx, 'held', 'a-refresh', Date.now(), { ca })).toBeUndefined();
    expect(requestsFor('/held.json')).toBe(0);
    expect(await dir.store.sources.leaseHolder('held')).toBe('a-sync-pass');
    await dir.store.sources.releaseLease('held', 'a-sync-pass');
    const outcome = await refreshSource(dir.ctx, 'held', 'a-refresh', Date.now(), { ca });
    expect(outcome).toMatchObject({ source: 'held', outcome: 'failed' });
    expect(requestsFor('/held.json')).toBe(1);
    expect(await dir.store.sources.leaseHolder('held')).toBeUndefined();
    await dir.store.sources.remove('held');
  });
});

it('stops with the server: a download under way is aborted, kept as failed, the lease given back', async () => {
  await dir.store.sources.remove('shared');
  await register('slow', '/hang.json');
  const outcomes: RefreshOutcome[] = [];
  const schedule = startSourceRefresh(dir.ctx, {
    intervalMs: 3_600_000,
    tickMs: 20,
    firstTickMs: 0,
    fetch: { ca },
    onRefresh: (outcome) => outcomes.push(outcome),
  });
  while (hanging.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  await schedule.stop();
  expect(outcomes).toEqual([
    { source: 'slow', outcome: 'failed', error: `${server.origin}/hang.json: download stopped` },
  ]);
  expect(await dir.store.sources.leaseHolder('slow')).toBeUndefined();
});

it('reads SOURCE_REFRESH_INTERVAL as a duration, 0 (off) by default', () => {
  expect(loadConfig({}).sourceRefreshIntervalMs).toBe(0);
  expect(loadConfig({ SOURCE_REFRESH_INTERVAL: '30m' }).sourceRefreshIntervalMs).toBe(1_800_000);
  expect(loadConfig({ SOURCE_REFRESH_INTERVAL: '24h' }).sourceRefreshIntervalMs).toBe(86_400_000);
  expect(() => loadConfig({ SOURCE_REFRESH_INTERVAL: 'daily' })).toThrow(/SOURCE_REFRESH_INTERVAL/);
});
